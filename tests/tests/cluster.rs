//! The cluster client on a real 6-node cluster (3 primaries + 3 replicas), both servers.

mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use futures_util::TryStreamExt;
use support::{Cluster, KINDS};
use typedis::cluster::{ClusterClient, ClusterConfig, Nodes};
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
    // A startup node that accepts connections and never answers does not hold up
    // discovery for long: the next one is asked.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("redis://{}", silent.local_addr().unwrap());
    let held = std::thread::spawn(move || silent.incoming().take(4).collect::<Vec<_>>());
    let t0 = Instant::now();
    let mut urls = vec![silent_url];
    urls.extend(nodes.urls());
    let cluster = ClusterClient::connect(urls).await.unwrap();
    assert!(t0.elapsed() < Duration::from_secs(4), "{:?}", t0.elapsed());
    assert_eq!(cluster.shards().len(), 3);
    drop(held);
    let key = "moving-key";
    cluster.set(key, "before").await.unwrap();
    // The standard resharding steps for one slot: while it migrates, a key not yet moved
    // is still served; new keys go through ASK.
    let moving = support::SlotMove::begin(&cluster, key).await;
    let (slot, owner, target, dst) = (moving.slot, &moving.owner, &moving.target, &moving.dst);
    // The key now lives on the target: the client follows the ASK redirection.
    let during: Option<String> = cluster.get(key).decode().await.unwrap();
    assert_eq!(during.as_deref(), Some("before"));
    // Pipelines follow ASK per command too.
    let (during, n): (Option<String>, i64) = cluster
        .pipeline()
        .get(key)
        .incr("pipeline-counter")
        .query()
        .await
        .unwrap();
    assert_eq!((during.as_deref(), n), (Some("before"), 1));
    moving.finish().await;
    // MOVED inside a pipeline: the commands are sent again to the new owner, in order.
    assert_eq!(cluster.primary_of(slot).as_deref(), Some(owner.as_str()));
    let (set, got, n) = cluster
        .pipeline()
        .set(key, "after")
        .get(key)
        .incr("pipeline-counter")
        .execute()
        .await
        .unwrap();
    assert!(set);
    assert_eq!(got.as_deref(), Some(&b"after"[..]));
    assert_eq!(n, 2);
    assert_eq!(cluster.primary_of(slot).as_deref(), Some(target.as_str()));
    // A single command after MOVED lands on the new owner too.
    cluster.set(key, "after").await.unwrap();
    let v: Option<String> = dst.get(key).decode().await.unwrap();
    assert_eq!(v.as_deref(), Some("after"));
    // Decoder limits reach every node connection from the cluster config.
    let mut limits = typedis::resp::Limits::default();
    limits.max_bulk_len = 64;
    let limited =
        ClusterClient::with_config(ClusterConfig::new(nodes.urls()).unwrap().limits(limits))
            .await
            .unwrap();
    let v: Option<String> = limited.get(key).decode().await.unwrap();
    assert_eq!(v.as_deref(), Some("after"));
    cluster.set("long-value", "x".repeat(100)).await.unwrap();
    let err = limited.get("long-value").await.unwrap_err();
    assert!(err.to_string().contains("max_bulk_len"), "{err}");
}

/// A client whose map lists every replica (replicas join the map as gossip spreads).
async fn connect_with_replicas(nodes: &Cluster) -> ClusterClient {
    let cluster = ClusterClient::connect(nodes.urls()).await.unwrap();
    let start = Instant::now();
    while cluster.replicas().len() < 3 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "replicas missing from the map"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        cluster.refresh().await.unwrap();
    }
    cluster
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

        // A blocking command waits on a dedicated connection of its node: commands for
        // the same node (same slot even) are not held up behind it.
        let waiter = {
            let c = cluster.clone();
            tokio::spawn(async move { c.blpop(["{q}:list"], 1.5).await })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        for i in 0..20 {
            let t = Instant::now();
            let _: Option<Bytes> = cluster.get(format!("{{q}}:k{i}")).await.unwrap();
            assert!(
                t.elapsed() < Duration::from_millis(500),
                "{kind:?}: GET waited {:?} behind BLPOP",
                t.elapsed()
            );
        }
        assert!(!waiter.is_finished(), "BLPOP should still be waiting");
        let popped = waiter.await.unwrap().unwrap();
        assert!(popped.is_none(), "{popped:?}");
        assert_eq!(cluster.dbsize().await.unwrap(), 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_go_to_replicas_when_asked() {
    let nodes = Cluster::start(support::Kind::Valkey);
    let cluster = connect_with_replicas(&nodes).await;
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

    // A failover while a client is idle shows in its map through the periodic refresh,
    // before any command is redirected.
    let watcher = ClusterClient::with_config(
        ClusterConfig::new(nodes.urls())
            .unwrap()
            .refresh_interval(Some(Duration::from_millis(200))),
    )
    .await
    .unwrap();
    let shard = watcher.shards()[0].clone();
    let slot = (0..16384u16)
        .find(|s| watcher.primary_of(*s).as_deref() == Some(shard.primary.as_str()))
        .unwrap();
    let replica = shard.replicas[0].clone();
    direct(&replica)
        .await
        .cmd("CLUSTER")
        .arg("FAILOVER")
        .await
        .unwrap();
    let t0 = Instant::now();
    while watcher.primary_of(slot).as_deref() != Some(replica.as_str()) {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "the map was not refreshed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ------------------------------------------------------------------ faults under load

/// What a load task saw.
#[derive(Default)]
struct Seen {
    /// Last value acknowledged per key.
    acked: HashMap<String, i64>,
    /// Errors surfaced to the caller (first few kept).
    errors: u64,
    samples: Vec<String>,
    /// Reads that did not return the value just written.
    stale_reads: u64,
}

struct Load {
    stop: Arc<AtomicBool>,
    ops: Arc<AtomicU64>,
    tasks: Vec<tokio::task::JoinHandle<Seen>>,
}

/// 8 tasks, each writing (SET) then reading back (GET) its own keys in a loop.
fn start_load(cluster: &ClusterClient, keys: Vec<Vec<String>>) -> Load {
    let stop = Arc::new(AtomicBool::new(false));
    let ops = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for ks in keys {
        let (c, stop, ops) = (cluster.clone(), stop.clone(), ops.clone());
        tasks.push(tokio::spawn(async move {
            let mut seen = Seen::default();
            let mut i: i64 = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let key = &ks[i as usize % ks.len()];
                match c.set(key, i).await {
                    Ok(_) => {
                        seen.acked.insert(key.clone(), i);
                        match c.get(key).decode::<Option<i64>>().await {
                            Ok(Some(v)) if v == i => {}
                            Ok(other) => {
                                seen.stale_reads += 1;
                                if seen.samples.len() < 5 {
                                    seen.samples
                                        .push(format!("GET {key}: {other:?}, wrote {i}"));
                                }
                            }
                            Err(e) => {
                                seen.errors += 1;
                                if seen.samples.len() < 5 {
                                    seen.samples.push(format!("GET {key}: {e}"));
                                }
                            }
                        }
                    }
                    Err(e) => {
                        seen.errors += 1;
                        if seen.samples.len() < 5 {
                            seen.samples.push(format!("SET {key}: {e}"));
                        }
                    }
                }
                ops.fetch_add(1, Ordering::Relaxed);
            }
            seen
        }));
    }
    Load { stop, ops, tasks }
}

impl Load {
    async fn finish(self) -> Seen {
        self.stop.store(true, Ordering::Relaxed);
        let mut all = Seen::default();
        for t in self.tasks {
            let s = t.await.unwrap();
            all.acked.extend(s.acked);
            all.errors += s.errors;
            all.stale_reads += s.stale_reads;
            all.samples.extend(s.samples);
        }
        all
    }

    /// Operations completed during the next `window`.
    async fn rate(&self, window: Duration) -> u64 {
        let before = self.ops.load(Ordering::Relaxed);
        tokio::time::sleep(window).await;
        self.ops.load(Ordering::Relaxed) - before
    }
}

/// Acknowledged writes that do not read back.
async fn lost_writes(cluster: &ClusterClient, acked: &HashMap<String, i64>) -> usize {
    let keys: Vec<&String> = acked.keys().collect();
    let values = cluster.mget_nonatomic(&keys).await.unwrap();
    keys.iter()
        .zip(values)
        .filter(|(k, v)| {
            v.as_deref()
                .and_then(|b| std::str::from_utf8(b).ok()?.parse::<i64>().ok())
                != Some(acked[**k])
        })
        .count()
}

fn spread_keys(prefix: &str) -> Vec<Vec<String>> {
    (0..8)
        .map(|t| (0..200).map(|i| format!("{prefix}:{t}:{i}")).collect())
        .collect()
}

async fn node_id(node: &Client) -> String {
    node.cluster_myid().decode().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resharding_under_load_surfaces_no_error_and_loses_no_write() {
    for kind in KINDS {
        let nodes = Cluster::start(kind);
        let cluster = ClusterClient::connect(nodes.urls()).await.unwrap();
        let primaries = cluster.primaries();
        let (src_addr, dst_addr) = (primaries[0].clone(), primaries[1].clone());
        let src = direct(&src_addr).await;
        let dst = direct(&dst_addr).await;
        let (src_id, dst_id) = (node_id(&src).await, node_id(&dst).await);
        // 40 slots of the source, and 8 × 40 keys living in them.
        let slots: Vec<u16> = (0..16384u16)
            .filter(|s| cluster.primary_of(*s).as_deref() == Some(src_addr.as_str()))
            .take(40)
            .collect();
        let mut keys: Vec<Vec<String>> = vec![Vec::new(); 8];
        let mut i = 0;
        while keys.iter().any(|k| k.len() < 40) {
            let k = format!("rs:{i}");
            if slots.contains(&key_slot(k.as_bytes())) {
                let t = keys.iter().position(|k| k.len() < 40).unwrap();
                keys[t].push(k);
            }
            i += 1;
        }
        let load = start_load(&cluster, keys);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (host, port) = dst_addr.rsplit_once(':').unwrap();
        for &slot in &slots {
            let s = slot.to_string();
            dst.cmd("CLUSTER")
                .args(["SETSLOT", &s, "IMPORTING", &src_id])
                .await
                .unwrap();
            src.cmd("CLUSTER")
                .args(["SETSLOT", &s, "MIGRATING", &dst_id])
                .await
                .unwrap();
            loop {
                let batch: Vec<String> = src
                    .cmd("CLUSTER")
                    .args(["GETKEYSINSLOT", &s, "10"])
                    .decode()
                    .await
                    .unwrap();
                if batch.is_empty() {
                    break;
                }
                let mut m = src
                    .cmd("MIGRATE")
                    .args([host, port, "", "0", "5000", "REPLACE", "KEYS"]);
                for k in &batch {
                    m = m.arg(k);
                }
                m.await.unwrap();
            }
            for n in [&dst, &src] {
                n.cmd("CLUSTER")
                    .args(["SETSLOT", &s, "NODE", &dst_id])
                    .await
                    .unwrap();
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let seen = load.finish().await;
        assert_eq!(
            seen.errors, 0,
            "{kind:?}: errors surfaced: {:?}",
            seen.samples
        );
        assert_eq!(seen.stale_reads, 0, "{kind:?}: {:?}", seen.samples);
        let lost = lost_writes(&cluster, &seen.acked).await;
        assert_eq!(lost, 0, "{kind:?}: acknowledged writes lost");
        cluster.refresh().await.unwrap();
        for s in &slots {
            assert_eq!(cluster.primary_of(*s).as_deref(), Some(dst_addr.as_str()));
        }
        println!(
            "{kind:?}: resharded {} slots under load: {} keys, 0 errors, 0 lost writes",
            slots.len(),
            seen.acked.len()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_failover_under_load_keeps_every_acknowledged_write() {
    for kind in KINDS {
        manual_failover_under_load_keeps_every_acknowledged_write_on(kind).await;
    }
}

async fn manual_failover_under_load_keeps_every_acknowledged_write_on(kind: support::Kind) {
    let nodes = Cluster::start(kind);
    let cluster = connect_with_replicas(&nodes).await;
    let shard = cluster.shards()[0].clone();
    let replica = direct(&shard.replicas[0]).await;
    let load = start_load(&cluster, spread_keys("fo"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let baseline = load.rate(Duration::from_secs(1)).await;
    let t0 = Instant::now();
    replica.cmd("CLUSTER").arg("FAILOVER").await.unwrap();
    loop {
        let role: Vec<Value> = replica.cmd("ROLE").decode().await.unwrap();
        if role.first() == Some(&Value::Bulk(Bytes::from("master"))) {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "the failover did not happen"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let promoted = t0.elapsed();
    // Five seconds after the failover the client is back to full speed.
    tokio::time::sleep(Duration::from_secs(5).saturating_sub(t0.elapsed())).await;
    let after = load.rate(Duration::from_secs(1)).await;
    let seen = load.finish().await;
    println!(
        "{kind:?}: manual failover: promoted after {promoted:?}; {baseline} ops/s before, {after} ops/s 5 s after; \
         {} errors surfaced",
        seen.errors
    );
    assert_eq!(seen.errors, 0, "errors surfaced: {:?}", seen.samples);
    assert_eq!(seen.stale_reads, 0, "{:?}", seen.samples);
    assert_eq!(lost_writes(&cluster, &seen.acked).await, 0);
    assert!(
        after * 2 >= baseline,
        "not back to speed: {after} ops/s vs {baseline} before"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_primary_recovers_after_promotion() {
    for kind in KINDS {
        killed_primary_recovers_after_promotion_on(kind).await;
    }
}

async fn killed_primary_recovers_after_promotion_on(kind: support::Kind) {
    let mut nodes = Cluster::start(kind);
    let cluster = connect_with_replicas(&nodes).await;
    let victim = cluster.shards()[0].primary.clone();
    let victim_slot = (0..16384u16)
        .find(|s| cluster.primary_of(*s).as_deref() == Some(victim.as_str()))
        .unwrap();
    let probe = (0..)
        .map(|i| format!("probe:{i}"))
        .find(|k| key_slot(k.as_bytes()) == victim_slot)
        .unwrap();
    let load = start_load(&cluster, spread_keys("kill"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let t0 = Instant::now();
    nodes.kill_node(&victim);
    // The client works again on the victim's slots once a replica took over.
    let recovered = loop {
        if cluster.set(&probe, 1).await.is_ok() {
            break t0.elapsed();
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "no recovery after 30 s"
        );
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let seen = load.finish().await;
    let lost = lost_writes(&cluster, &seen.acked).await;
    println!(
        "{kind:?}: kill -9 of a primary: writes to its slots work again after {recovered:?}; \
         {} errors surfaced meanwhile; {lost} of {} acknowledged writes lost (asynchronous replication)",
        seen.errors,
        seen.acked.len()
    );
    assert_ne!(
        cluster.primary_of(victim_slot).as_deref(),
        Some(victim.as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shard_subscription_follows_its_slot_across_failover() {
    for kind in KINDS {
        shard_subscription_follows_its_slot_across_failover_on(kind).await;
    }
}

async fn shard_subscription_follows_its_slot_across_failover_on(kind: support::Kind) {
    let nodes = Cluster::start(kind);
    let cluster = connect_with_replicas(&nodes).await;
    // Classic PubSub goes through one node; the cluster bus delivers everywhere.
    let mut classic = cluster.subscribe(["broadcast"]).await.unwrap();
    classic.ignore_subscribe_messages(true);
    let receivers: i64 = cluster.publish("broadcast", "to all").await.unwrap();
    assert_eq!(receivers, 1);
    let m = tokio::time::timeout(Duration::from_secs(5), classic.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&m.payload()[..], b"to all");
    let channels = ["{a}:news", "{b}:news", "{c}:news"];
    let mut sub = cluster.ssubscribe(channels).await.unwrap();
    sub.ignore_subscribe_messages(true);
    for c in channels {
        let n: i64 = cluster.spublish(c, format!("hello {c}")).await.unwrap();
        assert_eq!(n, 1, "{c}");
    }
    let mut got = Vec::new();
    while got.len() < 3 {
        let m = tokio::time::timeout(Duration::from_secs(5), sub.next())
            .await
            .unwrap()
            .unwrap();
        got.push(m.payload().clone());
    }
    got.sort();
    assert_eq!(got[0], Bytes::from("hello {a}:news"));
    // Fail over the shard of `{a}:news`.
    let slot = key_slot(b"{a}:news");
    let shard = cluster
        .shards()
        .into_iter()
        .find(|s| Some(&s.primary) == cluster.primary_of(slot).as_ref())
        .unwrap();
    let replica = direct(&shard.replicas[0]).await;
    replica.cmd("CLUSTER").arg("FAILOVER").await.unwrap();
    let t0 = Instant::now();
    // Publish until a message after the failover arrives. Under a loaded CI machine the
    // failover itself can take seconds; the bound is generous, the report precise.
    let mut i = 0;
    let mut seen = 0;
    let arrived = loop {
        i += 1;
        let last_publish = match cluster.spublish("{a}:news", format!("after {i}")).await {
            Ok(n) => format!("{n} receiver(s)"),
            Err(e) => e.to_string(),
        };
        if let Some(m) = sub.get_message(Duration::from_millis(200)).await {
            if m.payload().starts_with(b"after") {
                seen += 1;
                if cluster.primary_of(slot) != Some(shard.primary.clone()) {
                    break t0.elapsed();
                }
            }
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "{kind:?}: no message after failover in 30 s: {i} published (last: {last_publish}), \
             {seen} received before the client saw the new primary; primary of the slot now \
             {:?} (was {:?}); subscribed to {:?}",
            cluster.primary_of(slot),
            shard.primary,
            sub.channels(),
        );
    };
    println!(
        "{kind:?}: shard subscription: messages flow again {arrived:?} after CLUSTER FAILOVER"
    );
    // The other shards' channels still work.
    cluster.spublish("{b}:news", "still here").await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let m = sub.get_message(Duration::from_millis(500)).await;
        if m.as_ref()
            .is_some_and(|m| &m.payload()[..] == b"still here")
        {
            break;
        }
        assert!(Instant::now() < deadline, "{{b}}:news stopped");
    }
    // Leaving every shard channel closes the connections and ends the stream.
    sub.sunsubscribe(std::iter::empty::<&str>()).unwrap();
    assert!(sub.channels().is_empty());
    let end = tokio::time::timeout(Duration::from_secs(2), sub.next())
        .await
        .unwrap();
    assert!(end.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_state_commands_run_on_a_nodes_own_connection() {
    for kind in KINDS {
        let nodes = Cluster::start(kind);
        let cluster = connect_with_replicas(&nodes).await;
        // Node connections are shared: refused before anything is sent, on every path.
        let shared = |e: Error| {
            assert!(e.is_shared_connection(), "{kind:?}: {e:?}");
            assert!(e.to_string().contains("cluster.node(addr)"), "{e}");
        };
        shared(
            typedis::exec::Executor::execute(&cluster, support::args(&["READWRITE"]), None)
                .await
                .unwrap_err(),
        );
        shared(
            cluster
                .send_to_nodes(Nodes::All, support::args(&["CLIENT", "NO-EVICT", "on"]))
                .await
                .unwrap_err(),
        );
        shared(
            typedis::exec::Executor::execute(
                cluster.on(Nodes::Primaries),
                support::args(&["MULTI"]),
                None,
            )
            .await
            .unwrap_err(),
        );
        let mut p = cluster.pipeline();
        p.add(cluster.get("{s}a"));
        p.add_args(support::args(&["ASKING"]));
        let err = p.execute_raw().await.unwrap_err();
        assert!(matches!(&err, Error::Pipeline { index: 1, .. }), "{err:?}");
        shared(err);

        // A replica's own connection: READONLY (from the handshake of node
        // connections) serves its slots; READWRITE there redirects, for this connection
        // only, until it is reset before being pooled again.
        cluster.set("{s}k", "v").await.unwrap();
        let primary = cluster.primary_of(key_slot(b"{s}k")).unwrap();
        let replica = cluster
            .shards()
            .into_iter()
            .find(|s| s.primary == primary)
            .and_then(|s| s.replicas.into_iter().next())
            .expect("a replica");
        let node = cluster.node(&replica).await.unwrap();
        let start = Instant::now();
        let conn = loop {
            let conn = node.dedicated().await.unwrap();
            let v: Option<String> = conn.get("{s}k").decode().await.unwrap();
            if v.as_deref() == Some("v") {
                break conn;
            }
            assert!(start.elapsed() < Duration::from_secs(10), "replication lag");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let id: i64 = conn.client_id().await.unwrap();
        conn.readwrite().await.unwrap();
        let err = conn.get("{s}k").await.unwrap_err();
        assert!(err.is_moved(), "{kind:?}: {err:?}");
        let v: Option<String> = cluster.get("{s}k").decode().await.unwrap();
        assert_eq!(
            v.as_deref(),
            Some("v"),
            "{kind:?}: other callers unaffected"
        );
        conn.readonly().await.unwrap();
        conn.readwrite().await.unwrap();
        conn.asking().await.unwrap();
        let err = conn.select(1).await.unwrap_err();
        assert!(err.server_error().is_some(), "{kind:?}: {err:?}");
        let idle = node.pool().idle_count();
        drop(conn);
        // Once reset it is the freshest idle connection, the next one handed out.
        let start = Instant::now();
        while node.pool().idle_count() == idle {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "never pooled again"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let conn = node.dedicated().await.unwrap();
        assert_eq!(
            conn.client_id().await.unwrap(),
            id,
            "{kind:?}: reset and reused"
        );
        let v: Option<String> = conn.get("{s}k").decode().await.unwrap();
        assert_eq!(
            v.as_deref(),
            Some("v"),
            "{kind:?}: READONLY again after the reset"
        );
    }
}
