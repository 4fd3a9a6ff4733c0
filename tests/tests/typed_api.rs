//! The generated, typed API against real servers: the examples of the design's API
//! contract, reply-changing flags, and both protocols.

mod support;

use std::collections::HashMap;

use support::{Server, KINDS};
use typedis::prelude::*;
use typedis::Bytes;

#[tokio::test]
async fn api_contract_examples() {
    for kind in KINDS {
        let server = Server::start(kind);
        for client in server.clients_in_both_protocols().await {
            client.flushall().await.unwrap();
            client.set("k", "v").await.unwrap();
            // NX on an existing key: not set.
            let done: bool = client.set("k", "v").ex(60).nx().await.unwrap();
            assert!(!done);
            let done: bool = client.set("fresh", "v").ex(60).nx().await.unwrap();
            assert!(done);
            let v: Option<Bytes> = client.get("k").await.unwrap();
            assert_eq!(v.as_deref(), Some(&b"v"[..]));
            let s: Option<String> = client.get("k").decode().await.unwrap();
            assert_eq!(s.as_deref(), Some("v"));
            let n: i64 = client
                .zadd("board", [("ann", 3.0), ("bob", 5.0)])
                .await
                .unwrap();
            assert_eq!(n, 2);
            let top: Vec<(Bytes, f64)> = client.zrange("board", 0, -1).withscores().await.unwrap();
            assert_eq!(
                top,
                vec![(Bytes::from("ann"), 3.0), (Bytes::from("bob"), 5.0)]
            );
            let raw: typedis::Value = client.cmd("OBJECT").arg("ENCODING").arg("k").await.unwrap();
            assert!(matches!(
                raw,
                typedis::Value::Bulk(_) | typedis::Value::SimpleString(_)
            ));
        }
    }
}

#[tokio::test]
async fn reply_changing_flags_change_the_type() {
    for kind in KINDS {
        let server = Server::start(kind);
        for client in server.clients_in_both_protocols().await {
            client.flushall().await.unwrap();
            client.set("k", "old").await.unwrap();
            let previous: Option<Bytes> = client.set("k", "new").get_old().await.unwrap();
            assert_eq!(previous.as_deref(), Some(&b"old"[..]));
            client.zadd("z", [("m", 1.0)]).await.unwrap();
            let score: Option<f64> = client.zadd("z", [("m", 2.5)]).increment().await.unwrap();
            assert_eq!(score, Some(3.5));
            client.sadd("s", ["a", "b", "c"]).await.unwrap();
            let one: Option<Bytes> = client.spop("s").await.unwrap();
            assert!(one.is_some());
            let many: Vec<Bytes> = client.spop("s").count(5).await.unwrap();
            assert_eq!(many.len(), 2);
            client.rpush("l", ["x", "y", "z"]).await.unwrap();
            let popped: Option<Vec<Bytes>> = client.lpop("l").count(2).await.unwrap();
            assert_eq!(popped.unwrap().len(), 2);
            client
                .hset("h", [("f1", "v1"), ("f2", "v2")])
                .await
                .unwrap();
            let all: HashMap<Bytes, Bytes> = client.hgetall("h").await.unwrap();
            assert_eq!(all.len(), 2);
            let n: i64 = client.del(["k", "z", "h", "missing"]).await.unwrap();
            assert_eq!(n, 3);
            let t: Bytes = client.key_type("l").await.unwrap();
            assert_eq!(&t[..], b"list");
            let (cursor, keys) = client.scan(0).count(100).await.unwrap();
            assert_eq!(cursor, 0);
            assert!(!keys.is_empty());
        }
    }
}
