//! The cluster client on a real 6-node cluster (3 primaries + 3 replicas), both servers.

mod support;

use std::collections::HashMap;

use futures_util::TryStreamExt;
use support::{Cluster, KINDS};
use typedis::cluster::{ClusterClient, Nodes};
use typedis::prelude::*;
use typedis::scan::ScanOptions;
use typedis::{key_slot, Bytes, Client, Error, FromValue, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_land_on_their_slot_owner_and_multi_key_rules_hold() {
    for kind in KINDS {
        let nodes = Cluster::start(kind);
        let cluster = ClusterClient::connect(nodes.urls()).await.unwrap();
        assert_eq!(cluster.shards().len(), 3, "{kind:?}");
        // 10,000 keys written and read back.
        let mut tasks = Vec::new();
        for t in 0..8 {
            let c = cluster.clone();
            tasks.push(tokio::spawn(async move {
                for i in (t..10_000).step_by(8) {
                    c.set(format!("key:{i}"), i).await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        for i in (0..10_000).step_by(7) {
            let v: Option<i64> = cluster.get(format!("key:{i}")).decode().await.unwrap();
            assert_eq!(v, Some(i));
        }
        // Each sampled key is on the node the slot map says, as the server computes the slot.
        let mut direct: HashMap<String, Client> = HashMap::new();
        for i in (0..10_000).step_by(97) {
            let key = format!("key:{i}");
            let slot = key_slot(key.as_bytes());
            let owner = cluster.primary_of(slot).unwrap();
            if !direct.contains_key(&owner) {
                direct.insert(
                    owner.clone(),
                    Client::connect(&format!("redis://{owner}")).await.unwrap(),
                );
            }
            let node = &direct[&owner];
            let server_slot: i64 = node.cluster_keyslot(&key).await.unwrap();
            assert_eq!(server_slot, slot as i64);
            let exists: i64 = node.exists([&key]).await.unwrap();
            assert_eq!(exists, 1, "{key} is not on {owner}");
        }
        // Keyless commands follow the routing tips: DBSIZE is summed over the primaries.
        let n: i64 = cluster.dbsize().await.unwrap();
        assert_eq!(n, 10_000);
        // Multi-key commands across slots fail before anything is sent; hash tags work.
        let err = cluster.mset([("a", "1"), ("b", "2")]).await.unwrap_err();
        assert!(matches!(err, Error::CrossSlot { .. }), "{err:?}");
        cluster
            .mset([("{u1}:a", "1"), ("{u1}:b", "2")])
            .await
            .unwrap();
        let both: Vec<Option<Bytes>> = cluster.mget(["{u1}:a", "{u1}:b"]).await.unwrap();
        assert_eq!(both, vec![Some(Bytes::from("1")), Some(Bytes::from("2"))]);
        // Non-atomic helpers split by slot and keep the caller's order.
        let keys: Vec<String> = (0..1000).rev().map(|i| format!("key:{}", i * 7)).collect();
        let values = cluster.mget_nonatomic(&keys).await.unwrap();
        for (k, v) in keys.iter().zip(&values) {
            let i: i64 = k[4..].parse().unwrap();
            assert_eq!(v.as_deref(), Some(i.to_string().as_bytes()), "{k}");
        }
        cluster
            .mset_nonatomic([("x1", "1"), ("x2", "2"), ("x3", "3")])
            .await
            .unwrap();
        let v = cluster
            .mget_nonatomic(["x3", "x1", "missing", "x2"])
            .await
            .unwrap();
        assert_eq!(
            v,
            vec![
                Some(Bytes::from("3")),
                Some(Bytes::from("1")),
                None,
                Some(Bytes::from("2"))
            ]
        );
    }
}

#[tokio::test]
async fn unreachable_startup_nodes_are_all_named() {
    let p1 = support::free_port();
    let p2 = support::free_port();
    let err = ClusterClient::connect([
        format!("redis://127.0.0.1:{p1}"),
        format!("redis://127.0.0.1:{p2}"),
    ])
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains(&p1.to_string()) && err.contains(&p2.to_string()),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moved_slots_are_followed() {
    let nodes = Cluster::start(support::Kind::Redis);
    let cluster = ClusterClient::connect(nodes.urls()).await.unwrap();
    let key = "moving-key";
    cluster.set(key, "before").await.unwrap();
    let slot = key_slot(key.as_bytes());
    let owner = cluster.primary_of(slot).unwrap();
    let target = cluster
        .shards()
        .into_iter()
        .map(|s| s.primary)
        .find(|p| *p != owner)
        .unwrap();
    let src = Client::connect(&format!("redis://{owner}")).await.unwrap();
    let dst = Client::connect(&format!("redis://{target}")).await.unwrap();
    let src_id: String = src.cluster_myid().decode().await.unwrap();
    let dst_id: String = dst.cluster_myid().decode().await.unwrap();
    // The standard resharding steps for one slot.
    dst.cmd("CLUSTER")
        .args(["SETSLOT", &slot.to_string(), "IMPORTING", &src_id])
        .await
        .unwrap();
    src.cmd("CLUSTER")
        .args(["SETSLOT", &slot.to_string(), "MIGRATING", &dst_id])
        .await
        .unwrap();
    // While migrating, a key not yet moved is still served; new keys go through ASK.
    let (host, port) = target.rsplit_once(':').unwrap();
    src.cmd("MIGRATE")
        .args([host, port, "", "0", "5000", "KEYS", key])
        .await
        .unwrap();
    // The key now lives on the target: the client follows the ASK redirection.
    let during: Option<String> = cluster.get(key).decode().await.unwrap();
    assert_eq!(during.as_deref(), Some("before"));
    for n in [&src, &dst] {
        n.cmd("CLUSTER")
            .args(["SETSLOT", &slot.to_string(), "NODE", &dst_id])
            .await
            .unwrap();
    }
    // MOVED updates the map and the write lands on the new owner.
    cluster.set(key, "after").await.unwrap();
    assert_eq!(cluster.primary_of(slot).as_deref(), Some(target.as_str()));
    let v: Option<String> = dst.get(key).decode().await.unwrap();
    assert_eq!(v.as_deref(), Some("after"));
}

async fn direct(addr: &str) -> Client {
    Client::connect(&format!("redis://{addr}")).await.unwrap()
}

/// `cmdstat_get` calls on one node.
async fn get_calls(node: &Client) -> i64 {
    let info: String = node.cmd("INFO").arg("commandstats").decode().await.unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("cmdstat_get:calls="))
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelines_transactions_targets_helpers_and_scan() {
    for kind in KINDS {
        let nodes = Cluster::start(kind);
        let cluster = ClusterClient::connect(nodes.urls()).await.unwrap();
        // A pipeline of 1,000 commands across all slots: results in call order.
        let mut p = cluster.pipeline();
        for i in 0..500 {
            p.add(cluster.set(format!("p:{i}"), i));
            p.add(cluster.incr(format!("n:{i}")));
        }
        let replies: Vec<Value> = p.query().await.unwrap();
        assert_eq!(replies.len(), 1000);
        for (i, r) in replies.chunks(2).enumerate() {
            assert_eq!(r[1], Value::Int(1), "INCR n:{i}");
        }
        let mut p = cluster.pipeline();
        for i in (0..500).rev() {
            p.add(cluster.get(format!("p:{i}")));
        }
        let values: Vec<i64> = p.query().await.unwrap();
        assert_eq!(values, (0..500).rev().collect::<Vec<i64>>());
        // Typed, mixed, across nodes.
        let (set, n, v) = cluster
            .pipeline()
            .set("t:a", "x")
            .incr("t:b")
            .get("t:a")
            .execute()
            .await
            .unwrap();
        assert!(set);
        assert_eq!(n, 1);
        assert_eq!(v.as_deref(), Some(&b"x"[..]));

        // Transactions: one slot works, several slots are refused before sending.
        let (a, b) = cluster
            .transaction()
            .incr("{acct}:a")
            .incr("{acct}:b")
            .execute()
            .await
            .unwrap();
        assert_eq!((a, b), (1, 1));
        let err = cluster
            .transaction()
            .incr("a1")
            .incr("b1")
            .execute()
            .await
            .unwrap_err();
        assert!(matches!(err, Error::CrossSlot { .. }), "{err:?}");
        let untouched: Option<i64> = cluster.get("a1").decode().await.unwrap();
        assert_eq!(untouched, None);

        // DEL / EXISTS / TOUCH / UNLINK across slots.
        let keys: Vec<String> = (0..200).map(|i| format!("p:{i}")).collect();
        assert_eq!(cluster.exists_nonatomic(&keys).await.unwrap(), 200);
        assert_eq!(cluster.touch_nonatomic(&keys).await.unwrap(), 200);
        assert_eq!(cluster.del_nonatomic(&keys[..100]).await.unwrap(), 100);
        assert_eq!(cluster.unlink_nonatomic(&keys).await.unwrap(), 100);
        assert_eq!(cluster.exists_nonatomic(&keys).await.unwrap(), 0);

        // SCAN over every primary sees every key.
        let mut expected: Vec<Bytes> = (200..500).map(|i| Bytes::from(format!("p:{i}"))).collect();
        expected.sort();
        let mut seen: Vec<Bytes> = cluster
            .scan_iter(ScanOptions::new().pattern("p:*").count(50))
            .try_collect()
            .await
            .unwrap();
        seen.sort();
        seen.dedup();
        assert_eq!(seen, expected);
        // HSCAN is routed by key.
        cluster
            .hset("{h}:1", [("f1", "v1"), ("f2", "v2")])
            .await
            .unwrap();
        let fields: Vec<(Bytes, Bytes)> = cluster
            .hscan_iter("{h}:1", ScanOptions::new())
            .try_collect()
            .await
            .unwrap();
        assert_eq!(fields.len(), 2);

        // Target nodes.
        let primaries = cluster.primaries();
        let per_node = cluster
            .send_to_nodes(Nodes::Primaries, {
                let mut a = typedis::Args::new();
                a.push_bytes(b"DBSIZE");
                a
            })
            .await
            .unwrap();
        assert_eq!(per_node.len(), 3);
        let total: i64 = per_node
            .iter()
            .map(|(_, v)| i64::from_value(v.clone()).unwrap())
            .sum();
        assert_eq!(total, cluster.dbsize().await.unwrap());
        let one: i64 = cluster
            .on(Nodes::Node(&primaries[0]))
            .dbsize()
            .await
            .unwrap();
        assert_eq!(
            one,
            i64::from_value(
                per_node
                    .iter()
                    .find(|(a, _)| *a == primaries[0])
                    .unwrap()
                    .1
                    .clone()
            )
            .unwrap()
        );
        let pongs: String = cluster.on(Nodes::All).ping().decode().await.unwrap();
        assert_eq!(pongs, "PONG");
        // Default node.
        assert!(cluster.set_default_node("127.0.0.1:1").is_err());
        cluster.set_default_node(&primaries[1]).unwrap();
        assert_eq!(
            cluster.default_node().as_deref(),
            Some(primaries[1].as_str())
        );
        // KEYS concatenates every primary's answer.
        let keys: Vec<Bytes> = cluster.keys("p:*").await.unwrap();
        assert_eq!(keys.len(), 300);
        cluster.on(Nodes::Primaries).flushall().await.unwrap();
        assert_eq!(cluster.dbsize().await.unwrap(), 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_go_to_replicas_when_asked() {
    let nodes = Cluster::start(support::Kind::Valkey);
    let cluster = ClusterClient::connect(nodes.urls()).await.unwrap();
    for i in 0..100 {
        cluster.set(format!("r:{i}"), i).await.unwrap();
    }
    // Writes must be on the replicas before reading there.
    let replicas: Vec<Client> = {
        let mut v = Vec::new();
        for r in cluster.replicas() {
            v.push(direct(&r).await);
        }
        v
    };
    assert_eq!(replicas.len(), 3);
    let start = std::time::Instant::now();
    loop {
        let mut n = 0;
        for r in &replicas {
            n += r.dbsize().await.unwrap();
        }
        if n == 100 {
            break;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "replication lag"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mut before = 0;
    for r in &replicas {
        before += get_calls(r).await;
    }
    cluster.readonly();
    for i in 0..300 {
        let v: Option<i64> = cluster
            .get(format!("r:{}", i % 100))
            .decode()
            .await
            .unwrap();
        assert_eq!(v, Some((i % 100) as i64));
    }
    let mut during = 0;
    for r in &replicas {
        during += get_calls(r).await;
    }
    // Round-robin over primary + 1 replica: about half the reads.
    assert!(
        during - before >= 100,
        "replicas served {}",
        during - before
    );
    // Writes still go to primaries.
    cluster.set("r:0", "w").await.unwrap();
    cluster.readwrite();
    for i in 0..100 {
        let _: Option<Bytes> = cluster.get(format!("r:{i}")).await.unwrap();
    }
    let mut after = 0;
    for r in &replicas {
        after += get_calls(r).await;
    }
    assert_eq!(after, during, "readwrite() sends reads to primaries only");
}
