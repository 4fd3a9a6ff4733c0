use typedis::prelude::*;

async fn f(client: &typedis::Client, maybe: Option<&str>) -> typedis::Result<()> {
    // An Option must be resolved before it is sent.
    client.set("k", maybe).await?;
    Ok(())
}

fn main() {}
