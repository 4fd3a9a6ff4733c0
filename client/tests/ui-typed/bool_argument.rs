use typedis::prelude::*;

async fn f(client: &typedis::Client) -> typedis::Result<()> {
    // Redis has no booleans: a `bool` is not an argument.
    client.set("flag", true).await?;
    Ok(())
}

fn main() {}
