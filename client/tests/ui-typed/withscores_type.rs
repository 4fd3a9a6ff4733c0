use typedis::prelude::*;
use typedis::Bytes;

async fn f(client: &typedis::Client) -> typedis::Result<()> {
    // WITHSCORES changes the reply to (member, score) pairs.
    let members: Vec<Bytes> = client.zrange("board", 0, -1).withscores().await?;
    let _ = members;
    Ok(())
}

fn main() {}
