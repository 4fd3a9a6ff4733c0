//! Pipelines, transactions and WATCH against both servers.

mod support;

use std::sync::Arc;

use support::{Server, KINDS};
use typedis::prelude::*;
use typedis::{Bytes, Client, Error};

async fn reads_processed(client: &Client) -> i64 {
    let info: String = client.info().section(["stats"]).decode().await.unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("total_reads_processed:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("INFO stats has total_reads_processed")
}

#[tokio::test]
async fn ten_command_pipeline_is_typed_and_one_round_trip() {
    for kind in KINDS {
        let server = Server::start(kind);
        let client = Client::connect(&server.url()).await.unwrap();
        let observer = Client::connect(&server.url()).await.unwrap();
        client.flushall().await.unwrap();
        let before = reads_processed(&observer).await;
        let (set, get, incr, rpush, lrange, hset, hgetall, zadd, zscore, missing) = client
            .pipeline()
            .set("a", "1")
            .get("a")
            .incr("n")
            .rpush("l", ["x", "y"])
            .lrange("l", 0, -1)
            .hset("h", [("f", "v")])
            .hgetall("h")
            .zadd("z", [("m", 2.5)])
            .zscore("z", "m")
            .get("nope")
            .execute()
            .await
            .unwrap();
        let after = reads_processed(&observer).await;
        // The observer's second INFO is one read; the whole pipeline is one more.
        assert_eq!(
            after - before,
            2,
            "{kind:?}: the pipeline took more than one read"
        );
        assert!(set);
        assert_eq!(get, Some(Bytes::from("1")));
        assert_eq!(incr, 1);
        assert_eq!(rpush, 2);
        assert_eq!(lrange, vec![Bytes::from("x"), Bytes::from("y")]);
        assert_eq!(hset, 1);
        assert_eq!(hgetall.get(&Bytes::from("f")), Some(&Bytes::from("v")));
        assert_eq!(zadd, 1);
        assert_eq!(zscore, Some(2.5));
        assert_eq!(missing, None);
    }
}

#[tokio::test]
async fn a_failing_command_is_named_and_the_others_are_kept() {
    for kind in KINDS {
        let server = Server::start(kind);
        let client = Client::connect(&server.url()).await.unwrap();
        client.set("s", "text").await.unwrap();
        let err = client
            .pipeline()
            .incr("counter")
            .lpush("s", ["x"]) // WRONGTYPE
            .get("s")
            .execute()
            .await
            .unwrap_err();
        match &err {
            Error::Pipeline {
                index,
                command,
                source,
            } => {
                assert_eq!((*index, command.as_str()), (1, "LPUSH"));
                assert!(source.to_string().contains("WRONGTYPE"), "{source}");
            }
            other => panic!("{other:?}"),
        }
        // The others ran, and every reply can be inspected.
        let mut p = client.pipeline();
        p.add(client.incr("counter"))
            .add(client.lpush("s", ["x"]))
            .add(client.get("s"));
        let replies = p.execute_raw().await.unwrap();
        assert_eq!(replies[0], typedis::Value::Int(2));
        assert!(matches!(replies[1], typedis::Value::Error(_)));
        assert_eq!(replies[2], typedis::Value::Bulk(Bytes::from("text")));
    }
}

#[tokio::test]
async fn dynamic_pipelines_and_transactions() {
    for kind in KINDS {
        let server = Server::start(kind);
        let client = Client::connect(&server.url()).await.unwrap();
        let mut p = client.pipeline();
        for i in 0..1000 {
            p.add(client.set(format!("k{i}"), i));
        }
        let oks: Vec<bool> = p.query().await.unwrap();
        assert_eq!(oks.len(), 1000);
        assert!(oks.iter().all(|ok| *ok));
        let (a, b) = client
            .transaction()
            .incr("t")
            .incr("t")
            .execute()
            .await
            .unwrap();
        assert_eq!((a, b), (1, 2));
        // A command refused while queuing aborts the transaction; the error says which.
        let mut t = client.transaction();
        t.add(client.incr("t"));
        let mut bad = typedis::Args::new();
        bad.push_bytes(b"NOSUCHCOMMAND");
        t.add_args(bad);
        let err = t.execute_raw().await.unwrap_err();
        assert!(matches!(err, Error::Pipeline { index: 1, .. }), "{err:?}");
        let n: i64 = client
            .get("t")
            .decode::<Option<i64>>()
            .await
            .unwrap()
            .unwrap();
        assert_eq!(n, 2, "nothing of the aborted transaction ran");
    }
}

#[tokio::test]
async fn watch_conflict_aborts_exec() {
    for kind in KINDS {
        let server = Server::start(kind);
        let client = Client::connect(&server.url()).await.unwrap();
        client.set("w", "0").await.unwrap();
        let session = client.watch(["w"]).await.unwrap();
        let seen: Option<i64> = session.get("w").decode().await.unwrap();
        assert_eq!(seen, Some(0));
        // Another client writes the watched key between WATCH and EXEC.
        client.set("w", "changed").await.unwrap();
        let err = session
            .transaction()
            .set("w", "mine")
            .execute()
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Watch), "{err:?}");
        let v: Option<String> = client.get("w").decode().await.unwrap();
        assert_eq!(v.as_deref(), Some("changed"));
        // Without a conflict it commits.
        let session = client.watch(["w"]).await.unwrap();
        let (ok,) = session
            .transaction()
            .set("w", "mine")
            .execute()
            .await
            .unwrap();
        assert!(ok);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_retry_helper_makes_get_set_increments_exact() {
    for kind in KINDS {
        let server = Server::start(kind);
        let client = Arc::new(Client::connect(&server.url()).await.unwrap());
        client.set("counter", 0).await.unwrap();
        let mut tasks = Vec::new();
        for _ in 0..2 {
            let client = client.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..1000 {
                    client
                        .watch_transaction(["counter"], 10_000, |session| async move {
                            let n: i64 = session
                                .get("counter")
                                .decode::<Option<i64>>()
                                .await?
                                .unwrap_or(0);
                            session
                                .transaction()
                                .set("counter", n + 1)
                                .execute()
                                .await?;
                            Ok(())
                        })
                        .await
                        .unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let n: i64 = client
            .get("counter")
            .decode::<Option<i64>>()
            .await
            .unwrap()
            .unwrap();
        assert_eq!(n, 2000, "{kind:?}");
    }
}

#[tokio::test]
async fn commands_added_untyped_do_not_shift_the_typed_tuple() {
    for kind in KINDS {
        let server = Server::start(kind);
        let client = Client::connect(&server.url()).await.unwrap();
        client.set("s", "text").await.unwrap();
        // `add` first, then a chained command: the tuple is the chained command's reply,
        // not the added one's integer read as text.
        let mut p = client.pipeline();
        p.add(client.incr("n"));
        let (v,) = p.get("s").execute().await.unwrap();
        assert_eq!(v, Some(Bytes::from("text")), "{kind:?}");
        let mut p = client.pipeline();
        p.add(client.get("s"));
        p.add_args(typedis::Args::command(&[b"PING"]));
        let (n, v) = p.incr("n").get("s").execute().await.unwrap();
        assert_eq!((n, v), (2, Some(Bytes::from("text"))), "{kind:?}");
        // Also between typed commands, and in a transaction.
        let mut t = client.transaction().incr("n").into_pipeline();
        t.add(client.get("s"));
        let (a, b) = t.incr("n").execute().await.unwrap();
        assert_eq!((a, b), (3, 4), "{kind:?}");
        // An added command that fails still fails the call, named by its position.
        let mut p = client.pipeline();
        p.add(client.incr("s"));
        let err = p.get("s").execute().await.unwrap_err();
        assert!(
            matches!(&err, Error::Pipeline { index: 0, command, .. } if command == "INCR"),
            "{kind:?}: {err:?}"
        );
        // `query` still sees every reply.
        let mut p = client.pipeline();
        p.add(client.get("s"));
        let all: Vec<typedis::Value> = p.get("s").query().await.unwrap();
        assert_eq!(all.len(), 2);
    }
}
