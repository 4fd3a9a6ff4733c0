//! The blocking API: the same generated commands, ended with `.run()` instead of
//! `.await`, shared by several threads.
//!
//! ```sh
//! REDIS_URL=redis://127.0.0.1:6379 cargo run -p typedis --features blocking --example blocking
//! ```
//! It touches only keys under `typedis-blocking:` and deletes them at the end.

use std::time::Duration;

use typedis::blocking::{Client, Lock};
use typedis::prelude::*;
use typedis::scan::ScanOptions;
use typedis::{Bytes, Script};

fn main() -> typedis::Result<()> {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let client = Client::connect(&url)?; // Clone + Send + Sync; no runtime needed

    // Commands: builders as in the async API, sent by `.run()`.
    client.set("typedis-blocking:k", "v").ex(60).run()?;
    let v: Option<String> = client.get("typedis-blocking:k").decode().run()?;
    println!("get → {v:?}");

    // Eight threads share the client; their commands go out on its one connection.
    std::thread::scope(|s| {
        let threads: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    for _ in 0..100 {
                        client.incr("typedis-blocking:hits").run()?;
                    }
                    Ok::<_, typedis::Error>(())
                })
            })
            .collect();
        threads
            .into_iter()
            .try_for_each(|t| t.join().expect("a thread panicked"))
    })?;
    let hits: i64 = client.get("typedis-blocking:hits").decode().run()?;
    println!("hits → {hits}");

    // A pipeline and a transaction: typed tuples.
    let (ok, value) = client
        .pipeline()
        .set("typedis-blocking:a", "1")
        .get("typedis-blocking:a")
        .execute()?;
    println!("pipeline → {ok} {value:?}");
    let (n,) = client.transaction().incr("typedis-blocking:a").execute()?;
    println!("transaction → {n}");

    // WATCH, retried on conflicting writes.
    let doubled = client.watch_transaction(["typedis-blocking:a"], 5, |session| {
        let a: i64 = session
            .get("typedis-blocking:a")
            .decode::<Option<i64>>()
            .run()?
            .unwrap_or(0);
        session
            .transaction()
            .set("typedis-blocking:a", a * 2)
            .execute()?;
        Ok(a * 2)
    })?;
    println!("watch → {doubled}");

    // A script, a scan, a lock.
    let add = Script::new("return redis.call('INCRBY', KEYS[1], ARGV[1])");
    let n: i64 = add
        .key("typedis-blocking:a")
        .arg(5)
        .invoke(&client)
        .decode()
        .run()?;
    println!("script → {n}");
    let keys: Vec<Bytes> = client
        .scan_iter(ScanOptions::new().pattern("typedis-blocking:*"))
        .collect::<typedis::Result<_>>()?;
    println!("scan → {} keys", keys.len());
    let guard = Lock::new(&client, "typedis-blocking:lock")
        .timeout(Duration::from_secs(5))
        .acquire()?;
    guard.release()?;

    // PubSub: get_message with a timeout (also an Iterator, and handler threads).
    let mut sub = client.subscribe(["typedis-blocking:news"])?;
    sub.ignore_subscribe_messages(true);
    client.publish("typedis-blocking:news", "hello").run()?;
    if let Some(msg) = sub.get_message(Duration::from_secs(1))? {
        println!("message → {:?}", msg.payload());
    }

    client.del(keys).run()?;
    Ok(())
}
