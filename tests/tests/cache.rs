//! Client-side caching (`ClientConfig::cache`) against real servers, RESP3: a hit after a
//! miss never reaches the server (counted with `INFO commandstats`), different commands on
//! one key do not collide, a write by another client, a `FLUSHALL` and a lost connection
//! evict, tracking comes back after a reconnect, reads racing writes never see a stale
//! value, the store is bounded, RESP2 is refused, and every node of a cluster caches and
//! invalidates its own keys.
//!
//! "Stale" is defined precisely: once another client's write has been acknowledged and a
//! round trip (`PING`) on the cached client's connection has completed after it, the
//! server has pushed that write's invalidation ahead of the `PING`'s reply, so every later
//! read must return that write's value or a later one.

mod support;

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_racing_writes_are_never_stale() {
    const KEYS: usize = 4;
    const READERS: usize = 16;
    for kind in KINDS {
        let server = Server::start(kind);
        let writer = Client::connect(&server.url()).await.unwrap();
        let observer = Client::connect(&server.url()).await.unwrap();
        let client = cached(&server.url(), CacheConfig::new()).await;
        for k in 0..KEYS {
            writer.set(format!("race:{k}"), 0).await.unwrap();
        }
        observer.config_resetstat().await.unwrap();
        // The last value of each key whose write was acknowledged.
        let acked: Arc<Vec<AtomicI64>> = Arc::new((0..KEYS).map(|_| AtomicI64::new(0)).collect());
        let checked = Arc::new(AtomicU64::new(0));
        let reads = Arc::new(AtomicU64::new(0));
        let until = Instant::now() + Duration::from_secs(3);
        let mut readers = Vec::new();
        for r in 0..READERS {
            let (client, acked, checked, reads) = (
                client.clone(),
                acked.clone(),
                checked.clone(),
                reads.clone(),
            );
            readers.push(tokio::spawn(async move {
                let mut i = r;
                while Instant::now() < until {
                    i += 1;
                    let k = i % KEYS;
                    let key = format!("race:{k}");
                    if i % 4 == 0 {
                        // A checked read: acknowledged value, then a round trip.
                        let floor = acked[k].load(Ordering::SeqCst);
                        client.ping().await.unwrap();
                        let v: i64 = client.get(&key).decode::<i64>().await.unwrap();
                        assert!(v >= floor, "stale read of {key}: {v} < {floor}");
                        checked.fetch_add(1, Ordering::Relaxed);
                    } else {
                        let _: Option<Bytes> = client.get(&key).await.unwrap();
                    }
                    reads.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        let mut n = 0i64;
        while Instant::now() < until {
            n += 1;
            let k = (n as usize) % KEYS;
            writer.set(format!("race:{k}"), n).await.unwrap();
            acked[k].store(n, Ordering::SeqCst);
            if n % 8 == 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        for r in readers {
            r.await.unwrap();
        }
        client.ping().await.unwrap();
        for k in 0..KEYS {
            let key = format!("race:{k}");
            let server_value: Option<Bytes> = observer.get(&key).await.unwrap();
            assert_eq!(client.get(&key).await.unwrap(), server_value, "{kind:?}");
        }
        let reads = reads.load(Ordering::Relaxed);
        let gets = calls(&observer, "get").await;
        assert!(checked.load(Ordering::Relaxed) > 100, "{kind:?}");
        assert!(n > 100, "{kind:?}: only {n} writes");
        // The cache served some of them.
        assert!(gets < reads, "{kind:?}: {gets} GETs for {reads} reads");
        eprintln!("{kind:?}: {n} writes, {reads} reads, {gets} reached the server");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_cluster_node_caches_and_invalidates() {
    use typedis::cluster::{ClusterClient, ClusterConfig};
    for kind in KINDS {
        let nodes = support::Cluster::start(kind);
        let cached = ClusterClient::with_config(
            ClusterConfig::new(nodes.urls())
                .unwrap()
                .cache(CacheConfig::new()),
        )
        .await
        .unwrap();
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
