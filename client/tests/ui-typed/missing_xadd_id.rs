use typedis::prelude::*;

async fn f(client: &typedis::Client) -> typedis::Result<()> {
    // XADD's id is a required choice (`*` or an explicit id): a parameter, not a setter,
    // so leaving it out does not compile.
    client.xadd("s", [("f", "v")]).await?;
    Ok(())
}

fn main() {}
