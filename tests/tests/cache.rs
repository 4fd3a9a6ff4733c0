//! Client-side caching (`ClientConfig::cache`) against real servers, RESP3: a hit after a
//! miss never reaches the server (counted with `INFO commandstats`), different commands on
//! one key do not collide, a write by another client, a `FLUSHALL` and a lost connection
//! evict, tracking comes back after a reconnect, the store is bounded, RESP2 is refused,
//! every node of a cluster caches and invalidates its own keys, and a hit allocates no
//! more than its reply's clone. The stress (16 tasks reading and writing through the
//! cached client and a writer of its own, also with `CLIENT KILL` of the cached
//! connection) and the cluster test (a failover and a slot migration) read no stale value.
//!
//! "Stale" is defined precisely: once a write has been acknowledged and a round trip
//! (`PING`) on the cached client's connection has completed after it, the server has
//! pushed that write's invalidation ahead of the `PING`'s reply, so every later read must
//! return that write's value or a later one (see `stress`; for a cluster, `settle`).

mod support;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{Server, KINDS};
use typedis::cache::CacheConfig;
use typedis::prelude::*;
use typedis::reply::{ClientInfo, TrackingInfo};
use typedis::{Bytes, Client, ClientConfig, Error};

async fn cached(url: &str, cache: CacheConfig) -> Client {
    Client::with_config(ClientConfig::new(url).unwrap().cache(cache))
        .await
        .unwrap()
}

/// How many times the server ran `command` (lower case) since the last reset.
async fn calls(observer: &Client, command: &str) -> u64 {
    let info: String = observer
        .cmd("INFO")
        .arg("commandstats")
        .decode()
        .await
        .unwrap();
    let prefix = format!("cmdstat_{command}:calls=");
    info.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|rest| rest.split(',').next())
        .map(|n| n.parse().unwrap())
        .unwrap_or(0)
}

fn b(s: &str) -> Option<Bytes> {
    Some(Bytes::copy_from_slice(s.as_bytes()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hit_never_reaches_the_server_and_commands_on_one_key_do_not_collide() {
    for kind in KINDS {
        let server = Server::start(kind);
        let observer = Client::connect(&server.url()).await.unwrap();
        let client = cached(&server.url(), CacheConfig::new()).await;
        observer.set("k", "hello").await.unwrap();
        observer.config_resetstat().await.unwrap();
        for _ in 0..5 {
            assert_eq!(client.get("k").await.unwrap(), b("hello"), "{kind:?}");
            assert_eq!(client.strlen("k").await.unwrap(), 5, "{kind:?}");
            assert_eq!(
                client.getrange("k", 0, 1).await.unwrap(),
                Bytes::from_static(b"he")
            );
            assert_eq!(
                client.getrange("k", 1, 2).await.unwrap(),
                Bytes::from_static(b"el")
            );
            // The raw path shares the cache with the typed one.
            let raw: Option<Bytes> = client.cmd("GET").arg("k").decode().await.unwrap();
            assert_eq!(raw, b("hello"), "{kind:?}");
        }
        assert_eq!(calls(&observer, "get").await, 1, "{kind:?}");
        assert_eq!(calls(&observer, "strlen").await, 1, "{kind:?}");
        assert_eq!(calls(&observer, "getrange").await, 2, "{kind:?}");
        // A pipeline bypasses the cache.
        let (a, b2) = client.pipeline().get("k").get("k").execute().await.unwrap();
        assert_eq!((a, b2), (b("hello"), b("hello")));
        assert_eq!(calls(&observer, "get").await, 3, "{kind:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_of_another_client_and_flushall_evict() {
    for kind in KINDS {
        let server = Server::start(kind);
        let observer = Client::connect(&server.url()).await.unwrap();
        let client = cached(&server.url(), CacheConfig::new()).await;
        observer.set("k", "1").await.unwrap();
        observer.hset("h", [("f", "1")]).await.unwrap();
        assert_eq!(client.get("k").await.unwrap(), b("1"));
        let h = client.hgetall("h").await.unwrap();
        assert_eq!(h.len(), 1);
        observer.set("k", "2").await.unwrap();
        client.ping().await.unwrap();
        assert_eq!(client.get("k").await.unwrap(), b("2"), "{kind:?}");
        observer.hset("h", [("g", "2")]).await.unwrap();
        client.ping().await.unwrap();
        let h = client.hgetall("h").await.unwrap();
        assert_eq!(h.len(), 2, "{kind:?}");
        // The cached client's own writes invalidate too.
        client.set("k", "3").await.unwrap();
        assert_eq!(client.get("k").await.unwrap(), b("3"), "{kind:?}");
        observer.flushall().await.unwrap();
        client.ping().await.unwrap();
        assert_eq!(client.get("k").await.unwrap(), None, "{kind:?}");
        let h = client.hgetall("h").await.unwrap();
        assert!(h.is_empty(), "{kind:?}");
    }
}

async fn named(observer: &Client, name: &str) -> Vec<ClientInfo> {
    let list: Vec<ClientInfo> = observer.client_list().await.unwrap();
    list.into_iter().filter(|c| c.name == name).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_clears_the_cache_and_tracking_comes_back() {
    for kind in KINDS {
        let server = Server::start(kind);
        let observer = Client::connect(&server.url()).await.unwrap();
        let url = format!("{}?client_name=cached", server.url());
        let client = cached(&url, CacheConfig::new()).await;
        observer.set("k", "1").await.unwrap();
        observer.config_resetstat().await.unwrap();
        assert_eq!(client.get("k").await.unwrap(), b("1"));
        assert_eq!(client.get("k").await.unwrap(), b("1"));
        assert_eq!(calls(&observer, "get").await, 1, "{kind:?}");
        let old = named(&observer, "cached").await;
        assert_eq!(old.len(), 1, "{kind:?}");
        let old_id = old[0].id;
        let _: Value = observer
            .cmd("CLIENT")
            .arg("KILL")
            .arg("ID")
            .arg(old_id)
            .await
            .unwrap();
        // Until the client has noticed and reconnected (bounded).
        let mut back = false;
        for _ in 0..200 {
            let _ = client.ping().await;
            let now = named(&observer, "cached").await;
            if now.len() == 1 && now[0].id != old_id {
                back = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(back, "{kind:?}: the client did not reconnect");
        // Cleared: this read goes to the server.
        assert_eq!(client.get("k").await.unwrap(), b("1"));
        assert_eq!(calls(&observer, "get").await, 2, "{kind:?}");
        // Tracked again: a write on the new connection's key is pushed.
        observer.set("k", "2").await.unwrap();
        client.ping().await.unwrap();
        assert_eq!(client.get("k").await.unwrap(), b("2"), "{kind:?}");
        let info: TrackingInfo = client
            .cmd("CLIENT")
            .arg("TRACKINGINFO")
            .decode()
            .await
            .unwrap();
        assert!(info.flags.iter().any(|f| f == "on"), "{kind:?}: {info:?}");
    }
}

/// A small xorshift generator: reproducible random choices without a dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// What the stress saw.
#[derive(Default, Debug)]
struct Tally {
    reads: u64,
    checked: u64,
    writes: u64,
    /// Checked reads that returned less than their floor.
    stale: Vec<String>,
    /// Commands that failed (only while connections are being killed).
    errors: u64,
}

/// The stress of the module docs: one writer on its own connection and [`READERS`] tasks
/// on the cached client, each doing random `GET`s and `INCR`s over [`KEYS`] keys for
/// `secs` seconds (and at most [`MAX_OPS`] operations each). Every write is an `INCR`, so
/// a key's values only grow, in the order the server applied them; `acked[k]` is the
/// largest value an acknowledged `INCR` of key `k` returned (to the writer or to a
/// reader).
///
/// A checked read is: load the floor `acked[k]`, then a `PING` round trip on the cached
/// client's connection, then `GET k`. The write that returned the floor was applied
/// before the floor was loaded, so the server had queued its invalidation on the cached
/// connection (the server pushes it when the key changes, and for the connection's own
/// write right after that write's reply) before it read the `PING`; the reader applies
/// pushes as it decodes them, before it completes a later reply: the invalidation is
/// delivered once the `PING` returns. The `GET` must then return at least the floor.
/// With `kill`, a task kills the cached connection with `CLIENT KILL` every 400 ms
/// (commands in flight may fail then; a checked read whose `PING` or `GET` failed is not
/// counted).
async fn stress(kind: support::Kind, secs: u64, kill: bool) -> (Tally, typedis::cache::CacheStats) {
    let server = Server::start(kind);
    let writer = Client::connect(&server.url()).await.unwrap();
    let url = format!("{}?client_name=stressed", server.url());
    let client = cached(&url, CacheConfig::new()).await;
    for k in 0..KEYS {
        writer.set(format!("stress:{k}"), 0).await.unwrap();
    }
    let acked: Arc<Vec<AtomicI64>> = Arc::new((0..KEYS).map(|_| AtomicI64::new(0)).collect());
    let until = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for r in 0..READERS {
        let (client, acked) = (client.clone(), acked.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (r as u64 + 1));
            let mut t = Tally::default();
            for _ in 0..MAX_OPS {
                if Instant::now() >= until {
                    break;
                }
                let k = rng.below(KEYS);
                let key = format!("stress:{k}");
                match rng.below(10) {
                    // One in ten: a write of the cached client itself.
                    0 => match client.incr(&key).await {
                        Ok(n) => {
                            acked[k].fetch_max(n, Ordering::SeqCst);
                            t.writes += 1;
                        }
                        Err(_) => t.errors += 1,
                    },
                    // Three in ten: a checked read.
                    1..=3 => {
                        let floor = acked[k].load(Ordering::SeqCst);
                        if client.ping().await.is_err() {
                            t.errors += 1;
                            continue;
                        }
                        match client.get(&key).decode::<i64>().await {
                            Ok(v) => {
                                t.checked += 1;
                                t.reads += 1;
                                if v < floor {
                                    t.stale.push(format!("{key}: {v} < {floor}"));
                                }
                            }
                            Err(_) => t.errors += 1,
                        }
                    }
                    _ => match client.get(&key).await {
                        Ok(_) => t.reads += 1,
                        Err(_) => t.errors += 1,
                    },
                }
            }
            t
        }));
    }
    let killer = kill.then(|| {
        let observer = writer.clone();
        tokio::spawn(async move {
            let mut kills = 0u64;
            while Instant::now() + Duration::from_millis(400) < until {
                tokio::time::sleep(Duration::from_millis(400)).await;
                for c in named(&observer, "stressed").await {
                    let _: Value = observer
                        .cmd("CLIENT")
                        .arg("KILL")
                        .arg("ID")
                        .arg(c.id)
                        .await
                        .unwrap();
                    kills += 1;
                }
            }
            kills
        })
    });
    let mut total = Tally::default();
    let mut rng = Rng(42);
    for _ in 0..MAX_OPS * 4 {
        if Instant::now() >= until {
            break;
        }
        let k = rng.below(KEYS);
        let n: i64 = writer.incr(format!("stress:{k}")).await.unwrap();
        acked[k].fetch_max(n, Ordering::SeqCst);
        total.writes += 1;
        if total.writes % 16 == 0 {
            // Let the readers' cached entries live a little between writes.
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    for t in tasks {
        let t = t.await.unwrap();
        total.reads += t.reads;
        total.checked += t.checked;
        total.writes += t.writes;
        total.errors += t.errors;
        total.stale.extend(t.stale);
    }
    if let Some(killer) = killer {
        let kills = killer.await.unwrap();
        assert!(kills >= 2, "{kind:?}: only {kills} kills");
        // Every kill emptied the cache (the connection was lost).
        let flushes = client.cache_stats().unwrap().flushes;
        assert!(
            flushes >= kills,
            "{kind:?}: {flushes} flushes for {kills} kills"
        );
    }
    // Settled: the cache agrees with the server on every key.
    client.ping().await.unwrap();
    for k in 0..KEYS {
        let key = format!("stress:{k}");
        let on_server: Option<Bytes> = writer.get(&key).await.unwrap();
        assert_eq!(
            client.get(&key).await.unwrap(),
            on_server,
            "{kind:?}: {key}"
        );
    }
    if kill {
        // Tracking is on again on the last connection: a write after the last reconnect
        // is pushed, and the next read sees it.
        let before: Option<Bytes> = client.get("stress:0").await.unwrap();
        let hits = client.cache_stats().unwrap().hits;
        assert_eq!(client.get("stress:0").await.unwrap(), before);
        assert_eq!(
            client.cache_stats().unwrap().hits,
            hits + 1,
            "{kind:?}: cached again"
        );
        let n: i64 = writer.incr("stress:0").await.unwrap();
        client.ping().await.unwrap();
        assert_eq!(
            client.get("stress:0").decode::<i64>().await.unwrap(),
            n,
            "{kind:?}"
        );
    }
    (total, client.cache_stats().unwrap())
}

/// Keys of the stress: few, so that reads and writes collide.
const KEYS: usize = 8;
/// Tasks reading (and writing) through the cached client.
const READERS: usize = 16;
/// Operations per reader at most (the stress also ends after its time).
const MAX_OPS: usize = 200_000;

fn assert_stress(kind: support::Kind, t: &Tally, stats: &typedis::cache::CacheStats) {
    eprintln!("{kind:?}: {t:?} {stats:?}");
    assert!(t.stale.is_empty(), "{kind:?}: stale reads: {:?}", t.stale);
    assert!(
        t.checked > 1000,
        "{kind:?}: only {} checked reads",
        t.checked
    );
    assert!(t.writes > 1000, "{kind:?}: only {} writes", t.writes);
    // The cache served reads, and the server invalidated entries.
    assert!(stats.hits > 1000, "{kind:?}: {stats:?}");
    assert!(stats.invalidations > 100, "{kind:?}: {stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_readers_and_a_writer_never_read_a_stale_value() {
    for kind in KINDS {
        let (t, stats) = stress(kind, 4, false).await;
        assert_eq!(t.errors, 0, "{kind:?}");
        assert_stress(kind, &t, &stats);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_stale_value_across_client_kill_of_the_cached_connection() {
    for kind in KINDS {
        let (t, stats) = stress(kind, 4, true).await;
        assert_stress(kind, &t, &stats);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_is_bounded() {
    for kind in KINDS {
        let server = Server::start(kind);
        let observer = Client::connect(&server.url()).await.unwrap();
        for i in 0..50 {
            observer.set(format!("b:{i}"), i).await.unwrap();
        }
        observer.set("big", "x".repeat(10_000)).await.unwrap();
        let client = cached(
            &server.url(),
            CacheConfig::new().max_entries(5).max_bytes(4096),
        )
        .await;
        observer.config_resetstat().await.unwrap();
        for _ in 0..2 {
            for i in 0..50 {
                let _: Option<Bytes> = client.get(format!("b:{i}")).await.unwrap();
            }
        }
        // At most 5 of the second round's reads were hits.
        assert!(calls(&observer, "get").await >= 95, "{kind:?}");
        observer.config_resetstat().await.unwrap();
        for _ in 0..3 {
            let v: Option<Bytes> = client.get("big").await.unwrap();
            assert_eq!(v.map(|v| v.len()), Some(10_000));
        }
        // Over max_bytes: never kept.
        assert_eq!(calls(&observer, "get").await, 3, "{kind:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resp2_is_refused_with_a_clear_error() {
    for kind in KINDS {
        let server = Server::start(kind);
        let url = format!("{}?protocol=2", server.url());
        let err = Client::with_config(ClientConfig::new(&url).unwrap().cache(CacheConfig::new()))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Usage {
                    kind: typedis::UsageKind::InvalidConfig,
                    ..
                }
            ),
            "{kind:?}: {err:?}"
        );
        assert!(err.to_string().contains("RESP3"), "{kind:?}: {err}");
    }
}

/// A cluster client with a cache on every node.
async fn cached_cluster(nodes: &support::Cluster) -> typedis::cluster::ClusterClient {
    typedis::cluster::ClusterClient::with_config(
        typedis::cluster::ClusterConfig::new(nodes.urls())
            .unwrap()
            .cache(CacheConfig::new()),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_cluster_node_caches_and_invalidates() {
    use typedis::cluster::ClusterClient;
    for kind in KINDS {
        let nodes = support::Cluster::start(kind);
        let cached = cached_cluster(&nodes).await;
        let plain = ClusterClient::connect(nodes.urls()).await.unwrap();
        let keys: Vec<String> = (0..12).map(|i| format!("ck:{i}")).collect();
        for k in &keys {
            plain.set(k, "1").await.unwrap();
        }
        let mut observers = Vec::new();
        for n in &nodes.nodes {
            let o = Client::connect(&n.url()).await.unwrap();
            o.config_resetstat().await.unwrap();
            observers.push(o);
        }
        for _ in 0..3 {
            for k in &keys {
                assert_eq!(cached.get(k).await.unwrap(), b("1"), "{kind:?}");
            }
        }
        let mut gets = 0;
        for o in &observers {
            gets += calls(o, "get").await;
        }
        assert_eq!(gets, keys.len() as u64, "{kind:?}: one GET per key");
        for k in &keys {
            plain.set(k, "2").await.unwrap();
        }
        // Each node pushes its keys' invalidations (bounded wait: a cluster round trip
        // may go to another node than the key's).
        for k in &keys {
            let deadline = Instant::now() + Duration::from_secs(2);
            loop {
                if cached.get(k).await.unwrap() == b("2") {
                    break;
                }
                assert!(Instant::now() < deadline, "{kind:?}: {k} stayed stale");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
}

/// Makes the writes so far visible to the cached cluster client, as "acknowledged and its
/// invalidation delivered" means in a cluster: every primary's replicas have acknowledged
/// the writer's writes (`WAIT` on the writer's connection to that primary), so every node
/// that tracks a written key (a primary, or a former primary that replicates it now) has
/// applied the write and queued its invalidation; then a round trip on the cached
/// client's connection to every node delivers those pushes.
async fn settle(
    writer: &typedis::cluster::ClusterClient,
    cached: &typedis::cluster::ClusterClient,
    nodes: &[String],
) {
    for p in writer.primaries() {
        let acked: i64 = writer.node(&p).await.unwrap().wait(1, 5000).await.unwrap();
        assert!(acked >= 1, "{p}: no replica acknowledged");
    }
    for addr in nodes {
        cached.node(addr).await.unwrap().ping().await.unwrap();
    }
}

/// Every key read through the cached client has its expected value.
async fn check(
    kind: support::Kind,
    what: &str,
    cached: &typedis::cluster::ClusterClient,
    expected: &std::collections::BTreeMap<String, i64>,
) {
    for (k, v) in expected {
        let got: i64 = cached.get(k).decode::<i64>().await.unwrap();
        assert_eq!(got, *v, "{kind:?}: {what}: stale {k}");
    }
}

/// A cached cluster client through a manual failover (`CLUSTER FAILOVER` on a replica)
/// and a slot migration (`support::SlotMove`): after each, once the writer's writes are
/// settled ([`settle`]), no read returns an older value. After the failover the former
/// primary is a replica that applies the new primary's writes, and invalidates the keys
/// it tracked as it does; the new primary tracks what is read from it. The migration's
/// `MIGRATE` deletes the key on its old owner, which invalidates it there; the next read
/// goes to the old owner, is redirected (`MOVED`), and the client then reads the slot
/// from its new owner. A key of the slot that did not exist (cached as absent on the old
/// owner, which never sees its writes again) is read after that redirection: before it,
/// such a read can be served from the old owner's cache (see the README).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_stale_read_across_cluster_failover_and_slot_migration() {
    use std::collections::BTreeMap;
    use typedis::cluster::ClusterClient;
    for kind in KINDS {
        let nodes = support::Cluster::start(kind);
        let addrs: Vec<String> = nodes
            .nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let cached = cached_cluster(&nodes).await;
        let writer = ClusterClient::connect(nodes.urls()).await.unwrap();
        let mut expected = BTreeMap::new();
        for i in 0..24 {
            let k = format!("fo:{i}");
            writer.set(&k, 0).await.unwrap();
            expected.insert(k, 0i64);
        }
        writer.set("{mv}:present", 0).await.unwrap();
        settle(&writer, &cached, &addrs).await;
        check(kind, "first read", &cached, &expected).await;
        check(kind, "second read", &cached, &expected).await;
        let stats = cached.cache_stats().unwrap();
        assert!(stats.hits >= 24, "{kind:?}: {stats:?}");
        let incr_all = |expected: &BTreeMap<String, i64>| {
            let writer = writer.clone();
            let keys: Vec<String> = expected.keys().cloned().collect();
            async move {
                let mut out = Vec::new();
                for k in keys {
                    let n: i64 = writer.incr(&k).await.unwrap();
                    out.push((k, n));
                }
                out
            }
        };
        for (k, n) in incr_all(&expected).await {
            expected.insert(k, n);
        }
        settle(&writer, &cached, &addrs).await;
        check(kind, "before the failover", &cached, &expected).await;
        check(kind, "before the failover, cached", &cached, &expected).await;

        // Failover of the first shard.
        let shard = writer.shards()[0].clone();
        let promoted = shard.replicas[0].clone();
        let replica = Client::connect(&format!("redis://{promoted}"))
            .await
            .unwrap();
        let demoted = Client::connect(&format!("redis://{}", shard.primary))
            .await
            .unwrap();
        replica.cmd("CLUSTER").arg("FAILOVER").await.unwrap();
        let t0 = Instant::now();
        loop {
            let role: Vec<Value> = replica.cmd("ROLE").decode().await.unwrap();
            let info: String = demoted
                .cmd("INFO")
                .arg("replication")
                .decode()
                .await
                .unwrap();
            if role.first() == Some(&Value::Bulk(Bytes::from("master")))
                && info.contains("master_link_status:up")
            {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "{kind:?}: the failover did not complete"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        writer.refresh().await.unwrap();
        // Nothing was written: what is cached is still right.
        check(kind, "after the failover, no write", &cached, &expected).await;
        for round in 0..2 {
            for (k, n) in incr_all(&expected).await {
                expected.insert(k, n);
            }
            settle(&writer, &cached, &addrs).await;
            check(
                kind,
                &format!("after the failover, round {round}"),
                &cached,
                &expected,
            )
            .await;
            let hits = cached.cache_stats().unwrap().hits;
            check(
                kind,
                &format!("after the failover, round {round}, cached"),
                &cached,
                &expected,
            )
            .await;
            // The second reads were served by the caches (the demoted primary's among them).
            let served = cached.cache_stats().unwrap().hits - hits;
            assert!(
                served >= 20,
                "{kind:?}: only {served} of 24 reads were hits"
            );
        }

        // Migration of the slot of `{mv}`: one key that exists, one that does not.
        assert_eq!(cached.get("{mv}:present").decode::<i64>().await.unwrap(), 0);
        assert_eq!(cached.get("{mv}:absent").await.unwrap(), None);
        let hits = cached.cache_stats().unwrap().hits;
        assert_eq!(cached.get("{mv}:absent").await.unwrap(), None);
        assert_eq!(cached.cache_stats().unwrap().hits, hits + 1, "{kind:?}");
        writer.refresh().await.unwrap();
        let mv = support::SlotMove::begin(&writer, "{mv}:present").await;
        mv.finish().await;
        writer.refresh().await.unwrap();
        let n: i64 = writer.incr("{mv}:present").await.unwrap();
        writer.set("{mv}:absent", "written").await.unwrap();
        settle(&writer, &cached, &addrs).await;
        assert_eq!(
            cached.get("{mv}:present").decode::<i64>().await.unwrap(),
            n,
            "{kind:?}: stale after the migration"
        );
        assert_eq!(
            cached.get("{mv}:absent").await.unwrap(),
            b("written"),
            "{kind:?}: stale after the migration"
        );
        // The new owner tracks what is read from it.
        let m: i64 = writer.incr("{mv}:present").await.unwrap();
        settle(&writer, &cached, &addrs).await;
        assert_eq!(
            cached.get("{mv}:present").decode::<i64>().await.unwrap(),
            m,
            "{kind:?}: stale on the new owner"
        );
        let stats = cached.cache_stats().unwrap();
        assert!(
            stats.flushes >= 1,
            "{kind:?}: the moved slot emptied a cache: {stats:?}"
        );
        eprintln!("{kind:?}: {stats:?}");
    }
}

/// Polls `f` once, as a runtime would, and returns its output if it is ready.
fn poll_once<F: std::future::Future>(f: F) -> Option<F::Output> {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => Some(v),
        std::task::Poll::Pending => None,
    }
}

/// A hit is ready on its first poll, without touching the connection, and allocates
/// nothing beyond the clone of the reply it returns: nothing at all for `GET` (a bulk
/// string's clone counts a reference; the command's arguments are kept inline), and for
/// `HGETALL` exactly what cloning the cached reply allocates (its vectors). Counted per
/// thread with a counting allocator, around one poll of the command's future.
#[test]
fn a_hit_allocates_no_more_than_the_clone_of_its_reply() {
    use std::future::IntoFuture;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for kind in KINDS {
        let server = Server::start(kind);
        let client = rt.block_on(async {
            let observer = Client::connect(&server.url()).await.unwrap();
            observer.set("k", "value").await.unwrap();
            observer
                .hset("h", [("a", "1"), ("b", "2"), ("c", "3")])
                .await
                .unwrap();
            let client = cached(&server.url(), CacheConfig::new()).await;
            assert_eq!(client.get("k").await.unwrap(), b("value"));
            let _: Value = client.cmd("HGETALL").arg("h").await.unwrap();
            client
        });
        let _in_runtime = rt.enter();
        let before = client.cache_stats().unwrap();
        let mut got = None;
        let get = allocation_counter::measure(|| {
            got = poll_once(client.get("k").into_future());
        });
        assert_eq!(
            got.unwrap().unwrap(),
            b("value"),
            "{kind:?}: a hit is ready at once"
        );
        assert_eq!(get.count_total, 0, "{kind:?}: a GET hit allocated: {get:?}");

        let mut reply = None;
        let hgetall = allocation_counter::measure(|| {
            reply = poll_once(client.cmd("HGETALL").arg("h").into_future());
        });
        let reply: Value = reply.unwrap().unwrap();
        let clone = allocation_counter::measure(|| drop(reply.clone()));
        assert!(clone.count_total > 0, "{kind:?}: {reply:?}");
        assert_eq!(
            hgetall.count_total, clone.count_total,
            "{kind:?}: an HGETALL hit allocated more than its reply's clone"
        );
        let after = client.cache_stats().unwrap();
        assert_eq!(after.hits, before.hits + 2, "{kind:?}");
        assert_eq!(after.misses, before.misses, "{kind:?}");
        drop(_in_runtime);
        drop(client);
    }
}
