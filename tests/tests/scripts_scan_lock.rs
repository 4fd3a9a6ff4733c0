//! Scripts (NOSCRIPT fallback, pipelines), SCAN streams and the Lua lock, on both servers.

mod support;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures_util::TryStreamExt;
use support::{Server, KINDS};
use typedis::lock::Lock;
use typedis::prelude::*;
use typedis::scan::ScanOptions;
use typedis::{Bytes, Client, Error, Script};

#[tokio::test]
async fn scripts_survive_script_flush_also_in_pipelines() {
    for kind in KINDS {
        let server = Server::start(kind);
        let client = Client::connect(&server.url()).await.unwrap();
        let add = Script::new("return redis.call('INCRBY', KEYS[1], ARGV[1])");
        let n: i64 = add.key("c").arg(5).invoke(&client).decode().await.unwrap();
        assert_eq!(n, 5);
        client.script_flush().await.unwrap();
        let exists: Vec<bool> = client.script_exists([add.sha()]).await.unwrap();
        assert_eq!(exists, vec![false]);
        // NOSCRIPT → EVAL, transparently.
        let n: i64 = add.key("c").arg(1).invoke(&client).decode().await.unwrap();
        assert_eq!(n, 6);
        client.script_flush().await.unwrap();
        let (script_reply, after) = client
            .pipeline()
            .script(add.key("c").arg(10))
            .get("c")
            .execute()
            .await
            .unwrap();
        assert_eq!(script_reply, typedis::Value::Int(16));
        assert_eq!(after, Some(Bytes::from("16")));
        // A script error is a server error with its message.
        let bad = Script::new("return redis.call('NOSUCHCMD')");
        let err = bad.call().invoke(&client).await.unwrap_err();
        assert!(matches!(err, Error::Server(_)), "{err:?}");
    }
}

#[tokio::test]
async fn functions_are_typed_commands() {
    let server = Server::start(support::Kind::Valkey);
    let client = Client::connect(&server.url()).await.unwrap();
    let lib = "#!lua name=mylib\nredis.register_function('double', function(keys, args) return tonumber(args[1]) * 2 end)";
    let name: Bytes = client.function_load(lib).await.unwrap();
    assert_eq!(&name[..], b"mylib");
    let n: i64 = client.fcall("double").arg(["21"]).decode().await.unwrap();
    assert_eq!(n, 42);
}

#[tokio::test]
async fn scan_streams_see_every_key() {
    for kind in KINDS {
        let server = Server::start(kind);
        let client = Client::connect(&server.url()).await.unwrap();
        let mut p = client.pipeline();
        for i in 0..20_000 {
            p.add(client.set(format!("key:{i}"), i));
        }
        p.execute_raw().await.unwrap();
        client.set("other", 1).await.unwrap();
        let keys: HashSet<Bytes> = client
            .scan_iter(ScanOptions::new().pattern("key:*").count(500))
            .try_collect()
            .await
            .unwrap();
        assert_eq!(keys.len(), 20_000, "{kind:?}");
        assert!(!keys.contains(&Bytes::from("other")));
        client.hset("h", [("a", "1"), ("b", "2")]).await.unwrap();
        client.zadd("z", [("m", 1.5)]).await.unwrap();
        client.sadd("s", ["x", "y"]).await.unwrap();
        let mut fields: Vec<(Bytes, Bytes)> = client
            .hscan_iter("h", ScanOptions::new())
            .try_collect()
            .await
            .unwrap();
        fields.sort();
        assert_eq!(
            fields,
            vec![
                (Bytes::from("a"), Bytes::from("1")),
                (Bytes::from("b"), Bytes::from("2"))
            ]
        );
        let members: Vec<(Bytes, f64)> = client
            .zscan_iter("z", ScanOptions::new())
            .try_collect()
            .await
            .unwrap();
        assert_eq!(members, vec![(Bytes::from("m"), 1.5)]);
        let set: HashSet<Bytes> = client
            .sscan_iter("s", ScanOptions::new())
            .try_collect()
            .await
            .unwrap();
        assert_eq!(set.len(), 2);
        let hashes: Vec<Bytes> = client
            .scan_iter(ScanOptions::new().key_type("hash"))
            .try_collect()
            .await
            .unwrap();
        assert_eq!(hashes, vec![Bytes::from("h")]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_serialises_a_non_atomic_counter() {
    for kind in KINDS {
        let server = Server::start(kind);
        let client = Arc::new(Client::connect(&server.url()).await.unwrap());
        client.set("counter", 0).await.unwrap();
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let client = client.clone();
            tasks.push(tokio::spawn(async move {
                let lock = Lock::new(&client, "lock:counter")
                    .timeout(Duration::from_secs(5))
                    .sleep(Duration::from_millis(1));
                for _ in 0..1000 {
                    let guard = lock.acquire().await.unwrap();
                    let n: i64 = client
                        .get("counter")
                        .decode::<Option<i64>>()
                        .await
                        .unwrap()
                        .unwrap();
                    client.set("counter", n + 1).await.unwrap();
                    guard.release().await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let n: Option<i64> = client.get("counter").decode().await.unwrap();
        assert_eq!(n, Some(8000), "{kind:?}");
    }
}

#[tokio::test]
async fn lock_errors_and_extension() {
    let server = Server::start(support::Kind::Redis);
    let client = Client::connect(&server.url()).await.unwrap();
    let lock = Lock::new(&client, "lk").timeout(Duration::from_millis(100));
    let guard = lock.acquire().await.unwrap();
    // Non-blocking and time-limited attempts fail while it is held.
    let other = Lock::new(&client, "lk").blocking(false);
    assert!(matches!(other.acquire().await, Err(Error::Lock(_))));
    let waited = Lock::new(&client, "lk").blocking_timeout(Duration::from_millis(20));
    assert!(matches!(waited.acquire().await, Err(Error::Lock(_))));
    guard.extend(Duration::from_secs(10), true).await.unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(guard.owned().await.unwrap(), "extended lock expired");
    guard.release().await.unwrap();
    // An expired lock cannot be released.
    let guard = lock.acquire().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let err = guard.release().await.unwrap_err();
    assert!(matches!(err, Error::Lock(_)), "{err:?}");
    assert!(err.to_string().contains("no longer owned"), "{err}");
}
