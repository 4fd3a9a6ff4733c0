//! Blocking commands run on dedicated connections: a BLPOP waiting on one task does not
//! delay the other tasks' commands on the same client, and the client's default command
//! timeout does not cut a longer blocking timeout short. `WAIT` and `WAITAOF`, blocking
//! too, run on the shared connection that carried the caller's writes, and neither the
//! command timeout nor the silent-peer watchdog cuts them short. Also every RESP3 type a
//! server can send (`DEBUG PROTOCOL`) decodes, typed, in both protocols.

mod support;

use std::time::{Duration, Instant};

use support::{Server, KINDS};
use typedis::prelude::*;
use typedis::{Bytes, Client, ClientConfig, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blpop_does_not_delay_other_callers() {
    for kind in KINDS {
        let server = Server::start(kind);
        // A 1 s default timeout: BLPOP's own 2 s timeout must win.
        let config = ClientConfig::new(&server.url())
            .unwrap()
            .command_timeout(Some(Duration::from_secs(1)));
        let client = Client::with_config(config).await.unwrap();
        client.set("k", "v").await.unwrap();
        let blocker = client.clone();
        let t0 = Instant::now();
        let blpop = tokio::spawn(async move { blocker.blpop(["empty-list"], 2.0).await });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let c = client.clone();
            tasks.push(tokio::spawn(async move {
                let mut worst = Duration::ZERO;
                for _ in 0..20 {
                    let t = Instant::now();
                    let v: Option<Bytes> = c.get("k").await.unwrap();
                    assert_eq!(v.as_deref(), Some(&b"v"[..]));
                    worst = worst.max(t.elapsed());
                }
                worst
            }));
        }
        for t in tasks {
            let worst = t.await.unwrap();
            assert!(
                worst < Duration::from_millis(50),
                "{kind:?}: a GET took {worst:?} while BLPOP waited"
            );
        }
        assert!(!blpop.is_finished(), "BLPOP should still be waiting");
        let popped = blpop.await.unwrap().unwrap();
        assert_eq!(popped, None);
        let waited = t0.elapsed();
        assert!(
            waited >= Duration::from_millis(1900),
            "BLPOP returned after {waited:?}"
        );
    }
}

#[tokio::test]
async fn every_resp3_type_decodes_typed_in_both_protocols() {
    for kind in KINDS {
        let server = Server::start_with(kind, &["--enable-debug-command", "yes"]);
        for protocol in [2, 3] {
            let client = Client::connect(&format!("{}?protocol={protocol}", server.url()))
                .await
                .unwrap();
            let proto = |t: &'static str| client.cmd("DEBUG").arg("PROTOCOL").arg(t);
            let s: String = proto("string").decode().await.unwrap();
            assert_eq!(s, "Hello World");
            let n: i64 = proto("integer").decode().await.unwrap();
            assert_eq!(n, 12345);
            let d: f64 = proto("double").decode().await.unwrap();
            // DEBUG PROTOCOL double sends 3.141 (not π).
            assert_eq!(d.to_string(), "3.141");
            let big: String = proto("bignum").decode().await.unwrap();
            assert_eq!(big, "1234567999999999999999999999999999999");
            let null: Option<String> = proto("null").decode().await.unwrap();
            assert_eq!(null, None);
            let arr: Vec<i64> = proto("array").decode().await.unwrap();
            assert_eq!(arr, vec![0, 1, 2]);
            let set: std::collections::BTreeSet<i64> = proto("set").decode().await.unwrap();
            assert_eq!(set.into_iter().collect::<Vec<_>>(), vec![0, 1, 2]);
            let map: std::collections::BTreeMap<i64, bool> = proto("map").decode().await.unwrap();
            assert_eq!(map.len(), 3);
            assert!(map[&1]);
            let t: bool = proto("true").decode().await.unwrap();
            let f: bool = proto("false").decode().await.unwrap();
            assert!(t && !f);
            let verbatim: String = proto("verbatim").decode().await.unwrap();
            assert_eq!(verbatim, "This is a verbatim\nstring");
            // The attribute is stripped: the value it describes comes through.
            let attrib: String = proto("attrib").decode().await.unwrap();
            assert_eq!(attrib, "Some real reply following the attribute");
            // In RESP3 the server really sends those types (not RESP2 approximations).
            if protocol == 3 {
                assert!(matches!(proto("double").await.unwrap(), Value::Double(_)));
                assert!(matches!(
                    proto("bignum").await.unwrap(),
                    Value::BigNumber(_)
                ));
                assert!(matches!(proto("map").await.unwrap(), Value::Map(_)));
                assert!(matches!(proto("set").await.unwrap(), Value::Set(_)));
                assert!(matches!(proto("true").await.unwrap(), Value::Boolean(true)));
                assert!(matches!(
                    proto("verbatim").await.unwrap(),
                    Value::Verbatim { .. }
                ));
                assert!(matches!(proto("null").await.unwrap(), Value::Nil));
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_counts_the_replicas_that_acknowledged_the_callers_own_writes() {
    for kind in KINDS {
        // AOF on both, for WAITAOF (where the server has it).
        let master = Server::start_with(kind, &["--appendonly", "yes"]);
        let replica = master.start_replica(&["--appendonly", "yes"]);
        // A command timeout and a health-check interval both shorter than the WAITs
        // below: neither may cut them short.
        let config = ClientConfig::new(&master.url())
            .unwrap()
            .command_timeout(Some(Duration::from_millis(100)))
            .health_check_interval(Some(Duration::from_millis(200)));
        let client = Client::with_config(config).await.unwrap();
        let observer = Client::connect(&master.url()).await.unwrap();
        let id = client.client_id().await.unwrap();
        client.set("k", "v").await.unwrap();
        let acked: i64 = client.wait(1, 5000).await.unwrap();
        assert_eq!(acked, 1, "{kind:?}");
        // It ran on the connection that carried the SET.
        let last_cmd = |list: Vec<typedis::reply::ClientInfo>| {
            list.into_iter()
                .find(|c| c.id == id as u64)
                .map(|c| c.cmd)
                .unwrap_or_default()
        };
        assert_eq!(
            last_cmd(observer.client_list().await.unwrap()),
            "wait",
            "{kind:?}"
        );
        // With the replica stopped, the caller's next write is not acknowledged: WAIT
        // waits out its own timeout and counts none. (On a connection that had written
        // nothing it would have counted the replica at once.)
        support::signal(replica.pid(), "STOP");
        client.set("k", "w").await.unwrap();
        let t0 = Instant::now();
        let acked: i64 = client.wait(1, 700).await.unwrap();
        let waited = t0.elapsed();
        // Over several connections the write went out on one of them, and WAIT runs on
        // each: the smallest count is the write's.
        let several = Client::with_config(ClientConfig::new(&master.url()).unwrap().connections(4))
            .await
            .unwrap();
        several.set("k", "y").await.unwrap();
        let acked_on_several: i64 = several.wait(1, 300).await.unwrap();
        support::signal(replica.pid(), "CONT");
        assert_eq!(acked_on_several, 0, "{kind:?}");
        assert_eq!(acked, 0, "{kind:?}");
        assert!(
            waited >= Duration::from_millis(650),
            "{kind:?}: WAIT returned after {waited:?}"
        );
        // The watchdog allowed the silence: the connection is the same one.
        assert_eq!(client.client_id().await.unwrap(), id, "{kind:?}");
        // WAITAOF, on servers that have it (Redis ≥ 7.2, which Valkey's versions count
        // from; Redis 7.0 has none).
        let info: String = client.cmd("INFO").arg("server").decode().await.unwrap();
        let version = info
            .lines()
            .find_map(|l| l.strip_prefix("redis_version:"))
            .map(|v| {
                v.trim()
                    .split('.')
                    .map(|p| p.parse::<u32>().unwrap_or(0))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        if version >= vec![7, 2] {
            client.set("k", "x").await.unwrap();
            let (local, replicas) = client.waitaof(1, 1, 5000).await.unwrap();
            assert_eq!((local, replicas), (1, 1), "{kind:?}");
            assert_eq!(
                last_cmd(observer.client_list().await.unwrap()),
                "waitaof",
                "{kind:?}"
            );
        } else {
            assert_eq!(kind, support::Kind::Redis, "{version:?}");
        }
    }
}
