//! A tour of typedis: `cargo run --example tour`.
//!
//! Uses the server at `REDIS_URL` when set; otherwise starts a throwaway `redis-server`
//! (or `$TYPEDIS_REDIS_SERVER`) on a free loopback port and stops it at the end.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::StreamExt;
use typedis::prelude::*;
use typedis::{Bytes, Client, Record, Scalar, Script};

#[derive(Debug, Scalar)]
#[typedis(rename_all = "lowercase")]
enum Plan {
    Free,
    Pro,
}

#[derive(Debug, Record)]
struct User {
    name: String,
    age: u32,
    plan: Plan,
    nickname: Option<String>,
}

/// A throwaway server, killed on drop.
struct Throwaway(Child);

impl Drop for Throwaway {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server() -> Result<(String, Throwaway), String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let bin = std::env::var("TYPEDIS_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
    let child = Command::new(&bin)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| {
            format!("cannot start `{bin}` ({e}): set REDIS_URL, or install a server with `cargo xtask servers` / `apt-get install redis-server`")
        })?;
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok((format!("redis://127.0.0.1:{port}"), Throwaway(child)));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(format!("`{bin}` did not start"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (url, _server) = match std::env::var("REDIS_URL") {
        Ok(url) => (url, None),
        Err(_) => {
            let (url, server) = start_server()?;
            (url, Some(server))
        }
    };
    println!("connecting to {url}");
    let client = Client::connect(&url).await?;

    // Every command is a typed method; options are builder methods.
    client.set("tour:greeting", "hello").ex(60).await?;
    let greeting: Option<String> = client.get("tour:greeting").decode().await?;
    println!("GET tour:greeting -> {greeting:?}");

    // Replies are typed from the command specs; flags change the type.
    client
        .zadd("tour:board", [("ann", 3.0), ("bob", 5.0)])
        .await?;
    let top: Vec<(Bytes, f64)> = client.zrange("tour:board", 0, -1).withscores().await?;
    println!("ZRANGE … WITHSCORES -> {top:?}");

    // A pipeline returns a typed tuple, in one round trip.
    let (n, len, members) = client
        .pipeline()
        .incr("tour:visits")
        .rpush("tour:list", ["a", "b", "c"])
        .lrange("tour:list", 0, -1)
        .execute()
        .await?;
    println!("pipeline -> visits {n}, list length {len}, {members:?}");

    // Your own types as hashes.
    let user = User {
        name: "Ann".into(),
        age: 31,
        plan: Plan::Pro,
        nickname: None,
    };
    client.hset("tour:user:1", &user).await?;
    let back: User = client.hgetall("tour:user:1").decode().await?;
    println!("HGETALL as a struct -> {back:?}");

    // Scripts run by SHA, loaded when needed.
    let add = Script::new("return redis.call('INCRBY', KEYS[1], ARGV[1])");
    let total: i64 = add
        .key("tour:counter")
        .arg(10)
        .invoke(&client)
        .decode()
        .await?;
    println!("script -> {total}");

    // PubSub as a Stream.
    let mut sub = client.subscribe(["tour:news"]).await?;
    sub.ignore_subscribe_messages(true);
    client.publish("tour:news", "typedis says hi").await?;
    if let Some(msg) = sub.next().await {
        println!("message on {:?}: {:?}", msg.channel(), msg.payload());
    }

    // Commands that change the connection they run on (SELECT, CLIENT REPLY, MULTI, …)
    // do not compile on the shared client; a connection of your own takes them, and is
    // reset before it goes back to the pool.
    let err = client.cmd("SELECT").arg(1).await.unwrap_err();
    println!("SELECT on the shared client -> {err}");
    let conn = client.dedicated().await?;
    conn.select(1).await?;
    conn.set("tour:elsewhere", "db 1").await?;
    let there: i64 = conn.exists(["tour:elsewhere"]).await?;
    let here: i64 = client.exists(["tour:elsewhere"]).await?;
    println!("in db 1: {there}, on the shared client (db 0): {here}");
    conn.del(["tour:elsewhere"]).await?;
    drop(conn);

    // Where the keys of a command are, and their cluster slot.
    let argv: Vec<&[u8]> = vec![b"MSET", b"{user}:a", b"1", b"{user}:b", b"2"];
    let keys = typedis::command_keys(&argv)?;
    println!(
        "keys of MSET at {keys:?}, slot of {{user}}:a = {}",
        typedis::key_slot(b"{user}:a")
    );

    client
        .del([
            "tour:greeting",
            "tour:board",
            "tour:visits",
            "tour:list",
            "tour:user:1",
            "tour:counter",
        ])
        .await?;
    println!("done");
    Ok(())
}
