//! A tour of typedis: typed commands and reply-changing flags, a pipeline, a transaction,
//! a derived struct, a script, PubSub, a scan stream and key routing, each at work.
//!
//! ```sh
//! cargo xtask tour          # in the typedis repository: provides a throwaway server
//! REDIS_URL=redis://127.0.0.1:6379 cargo run --example tour   # a server you run
//! ```
//!
//! It talks only to the server at `REDIS_URL` (`cargo xtask tour` starts one and sets
//! it), touches only keys under `typedis-tour:` and deletes them at the end, and gives up
//! after 30 seconds.

use std::process::ExitCode;
use std::time::Duration;

use futures_util::TryStreamExt;
use typedis::prelude::*;
use typedis::scan::ScanOptions;
use typedis::{Bytes, Client, Record, Scalar, Script};

/// The tour never takes longer than this.
pub(crate) const LIMIT: Duration = Duration::from_secs(30);

/// Every key the tour writes starts with this.
pub(crate) const PREFIX: &str = "typedis-tour:";

#[derive(Debug, Scalar)]
#[typedis(rename_all = "lowercase")]
enum Plan {
    Free,
    Pro,
}

#[derive(Debug, Record)]
struct User {
    name: String,
    #[typedis(rename = "years")]
    age: u32,
    plan: Plan,
    nickname: Option<String>,
}

fn key(name: &str) -> String {
    format!("{PREFIX}{name}")
}

/// Runs the tour against the server at `url`, telling `say` what it sees.
pub(crate) async fn tour(url: &str, say: &mut dyn FnMut(String)) -> Result<(), typedis::Error> {
    let client = Client::connect(url).await?;
    let info: String = client.info().section(["server"]).decode().await?;
    let field = |name: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .map(str::trim)
            .unwrap_or("?")
            .to_string()
    };
    let (server, version) = match field("valkey_version").as_str() {
        "?" => ("redis", field("redis_version")),
        v => ("valkey", v.to_string()),
    };
    say(format!("connected to {server} {version}"));
    let result = steps(&client, say).await;
    // Whatever happened, leave nothing behind.
    let keys: Vec<Bytes> = client
        .scan_iter(ScanOptions::new().pattern(format!("{PREFIX}*")))
        .try_collect()
        .await?;
    if !keys.is_empty() {
        client.del(keys).await?;
    }
    result
}

async fn steps(client: &Client, say: &mut dyn FnMut(String)) -> Result<(), typedis::Error> {
    // Every command is a typed method; optional arguments are builder methods.
    client.set(key("greeting"), "hello").ex(60).await?;
    let greeting: Option<String> = client.get(key("greeting")).decode().await?;
    say(format!("GET greeting -> {greeting:?}"));

    // Flags that change the reply change the type: SET … GET returns the old value,
    // ZADD … INCR the new score, ZRANGE … WITHSCORES (member, score) pairs.
    let old: Option<Bytes> = client.set(key("greeting"), "bonjour").get_old().await?;
    say(format!("SET greeting bonjour GET -> {old:?}"));
    let added: i64 = client
        .zadd(key("board"), [("ann", 3.0), ("bob", 5.0)])
        .await?;
    let ann: Option<f64> = client
        .zadd(key("board"), [("ann", 4.5)])
        .increment()
        .await?;
    let board: Vec<(Bytes, f64)> = client.zrange(key("board"), 0, -1).withscores().await?;
    say(format!(
        "ZADD -> {added}; ZADD … INCR -> {ann:?}; ZRANGE … WITHSCORES -> {board:?}"
    ));

    // A pipeline: one round trip, a typed tuple back.
    let (visits, len, items) = client
        .pipeline()
        .incr(key("visits"))
        .rpush(key("list"), ["a", "b", "c"])
        .lrange(key("list"), 0, -1)
        .execute()
        .await?;
    say(format!(
        "pipeline -> visits {visits}, list length {len}, items {items:?}"
    ));

    // A transaction (MULTI/EXEC): the same chaining, applied atomically.
    let (balance, history) = client
        .transaction()
        .incrby(key("balance"), 100)
        .lpush(key("history"), ["deposit 100"])
        .execute()
        .await?;
    say(format!(
        "transaction -> balance {balance}, history length {history}"
    ));

    // Your own types: a derived struct as a hash, a derived enum as one value.
    let user = User {
        name: "Ann".into(),
        age: 31,
        plan: Plan::Pro,
        nickname: None,
    };
    client.hset(key("user:1"), &user).await?;
    let back: User = client.hgetall(key("user:1")).decode().await?;
    say(format!("HSET then HGETALL as a struct -> {back:?}"));

    // A script runs by its SHA; it is loaded when the server does not know it yet.
    let add = Script::new("return redis.call('INCRBY', KEYS[1], ARGV[1])");
    let mut totals: Vec<i64> = Vec::new();
    for by in [10, 5] {
        totals.push(
            add.key(key("counter"))
                .arg(by)
                .invoke(client)
                .decode()
                .await?,
        );
    }
    say(format!("script INCRBY 10, then 5 -> {totals:?}"));

    // PubSub: a subscription is a Stream of messages, on a connection of its own.
    let mut subscription = client.subscribe([key("news")]).await?;
    subscription.ignore_subscribe_messages(true);
    let receivers: i64 = client.publish(key("news"), "typedis says hi").await?;
    match subscription.get_message(Duration::from_secs(5)).await {
        Some(message) => say(format!(
            "PUBLISH reached {receivers} subscriber(s); message on {:?}: {:?}",
            message.channel(),
            message.payload()
        )),
        None => say("PUBLISH: no message within 5 s".into()),
    }
    drop(subscription);

    // Commands that change the connection they run on (SELECT, CLIENT REPLY, MULTI, …)
    // do not compile on the shared client, and its raw path refuses them; a connection
    // of your own takes them, and is reset before it goes back to the pool.
    let refused = client.cmd("SELECT").arg(1).await.is_err();
    let conn = client.dedicated().await?;
    conn.select(1).await?;
    conn.set(key("elsewhere"), "db 1").await?;
    let there: i64 = conn.exists([key("elsewhere")]).await?;
    let here: i64 = client.exists([key("elsewhere")]).await?;
    conn.del([key("elsewhere")]).await?;
    drop(conn);
    say(format!(
        "SELECT refused on the shared client: {refused}; on a dedicated connection, db 1 has it: {there}, db 0: {here}"
    ));

    // A scan stream follows the SCAN cursor for you.
    let mut keys: Vec<String> = client
        .scan_iter(ScanOptions::new().pattern(format!("{PREFIX}*")).count(100))
        .map_ok(|k| String::from_utf8_lossy(&k).into_owned())
        .try_collect()
        .await?;
    keys.sort();
    keys.dedup();
    say(format!(
        "SCAN MATCH {PREFIX}* -> {} keys: {keys:?}",
        keys.len()
    ));

    // Where a command's keys are (from the generated key specs, as COMMAND GETKEYS
    // says), and the cluster slot a key hashes to: what cluster routing uses.
    let argv: [&[u8]; 5] = [b"MSET", b"{user:1}:name", b"Ann", b"{user:1}:plan", b"pro"];
    let positions = typedis::command_keys(&argv)?;
    say(format!(
        "MSET's keys are at {positions:?}; both hash to slot {} (hash tag {{user:1}})",
        typedis::key_slot(b"{user:1}:name")
    ));
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let Some(url) = std::env::var("REDIS_URL").ok().filter(|u| !u.is_empty()) else {
        eprintln!(
            "tour: no server given. Run `cargo xtask tour`, which provides a throwaway one, or \
             point REDIS_URL at a server you run: REDIS_URL=redis://127.0.0.1:6379 cargo run \
             --example tour"
        );
        return ExitCode::from(2);
    };
    match tokio::time::timeout(LIMIT, tour(&url, &mut |line| println!("{line}"))).await {
        Ok(Ok(())) => {
            println!("done");
            ExitCode::SUCCESS
        }
        Ok(Err(e)) => {
            eprintln!("tour: {e}");
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("tour: did not finish within {LIMIT:?}");
            ExitCode::FAILURE
        }
    }
}
