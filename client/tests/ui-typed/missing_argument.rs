use typedis::prelude::*;

async fn f(client: &typedis::Client) -> typedis::Result<()> {
    // SET needs a key and a value.
    client.set("k").await?;
    Ok(())
}

fn main() {}
