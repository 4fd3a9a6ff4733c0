//! Code generic over `typedis::Handle`, run unchanged on a single server, a dedicated
//! connection and the 6-node cluster; scripts, locks, WATCH sessions and raw commands on
//! the cluster.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::TryStreamExt;
use support::{Cluster, Kind, Server, KINDS};
use typedis::cluster::ClusterClient;
use typedis::lock::Lock;
use typedis::pipeline::Pipeline;
use typedis::prelude::*;
use typedis::scan::{ScanOptions, ScanStream};
use typedis::{key_slot, Bytes, Client, Error, Handle, Script};

/// A 6-node cluster of `kind` (killed when the first part is dropped) and a client of it.
async fn cluster_of(kind: Kind) -> (Cluster, ClusterClient) {
    let nodes = Cluster::start(kind);
    let cluster = ClusterClient::connect(nodes.urls()).await.unwrap();
    (nodes, cluster)
}

/// Everything a handle offers, on keys tagged `{tag}` (one slot each).
async fn exercise<H: Handle>(h: H, tag: &str) {
    let k = format!("{{{tag}}}:n");
    let lock_key = format!("{{{tag}}}:lock");
    h.del([&k, &lock_key]).await.unwrap();
    assert!(h.set(&k, 1).await.unwrap());
    // Pipelines and transactions, typed.
    let (n, v) = Pipeline::new(h).incr(&k).get(&k).execute().await.unwrap();
    assert_eq!((n, v), (2, Some(Bytes::from("2"))), "{tag}");
    let (a, b) = Pipeline::transaction(h)
        .incr(&k)
        .incrby(&k, 10)
        .execute()
        .await
        .unwrap();
    assert_eq!((a, b), (3, 13), "{tag}");
    // Raw commands, routed like generated ones.
    let raw: Value = h.cmd("GET").arg(&k).await.unwrap();
    assert_eq!(raw, Value::Bulk(Bytes::from("13")), "{tag}");
    let n: i64 = h.cmd("INCR").arg(&k).decode().await.unwrap();
    assert_eq!(n, 14, "{tag}");
    let err = h.cmd("NOSUCHCOMMAND").await.unwrap_err();
    assert!(err.server_error().is_some(), "{err:?}");
    // Scripts: EVALSHA, and EVAL after NOSCRIPT, at the key's node.
    let add = Script::new("return redis.call('INCRBY', KEYS[1], ARGV[1])");
    h.script_flush().await.unwrap();
    let n: i64 = add.key(&k).arg(10).invoke(h).decode().await.unwrap();
    assert_eq!(n, 24, "{tag}");
    let n: i64 = add.key(&k).arg(1).invoke(h).decode().await.unwrap();
    assert_eq!(n, 25, "{tag}");
    add.load(h).await.unwrap();
    let loaded: Vec<bool> = h.script_exists([add.sha()]).await.unwrap();
    assert_eq!(loaded, vec![true], "{tag}");
    // The lock, on the key's node.
    let lock = Lock::on(h, &lock_key).timeout(Duration::from_secs(10));
    let guard = lock.acquire().await.unwrap();
    let other = Lock::on(h, &lock_key).blocking(false).acquire().await;
    assert!(matches!(other, Err(Error::Lock(_))), "{tag}: {other:?}");
    assert!(guard.owned().await.unwrap());
    guard.extend(Duration::from_secs(5), false).await.unwrap();
    let ttl: i64 = h.pttl(&lock_key).await.unwrap();
    assert!(ttl > 10_000, "{tag}: {ttl}");
    guard.release().await.unwrap();
    let gone: i64 = h.exists([&lock_key]).await.unwrap();
    assert_eq!(gone, 0, "{tag}");
    // A scan of every key the handle reaches.
    let pattern = format!("{{{tag}}}:*");
    let keys: Vec<Bytes> = ScanStream::keys(h, ScanOptions::new().pattern(&pattern).count(1000))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(keys, vec![Bytes::from(k.clone())], "{tag}");
}

#[tokio::test]
async fn generic_code_runs_on_a_client_and_a_dedicated_connection() {
    for kind in KINDS {
        let server = Server::start(kind);
        let client = Client::connect(&server.url()).await.unwrap();
        exercise(&client, "single").await;
        let conn = client.dedicated().await.unwrap();
        exercise(&conn, "dedicated").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generic_code_runs_on_the_cluster() {
    for kind in KINDS {
        let (_nodes, cluster) = cluster_of(kind).await;
        // Tags whose slots are served by every one of the three primaries.
        let mut tags = Vec::new();
        let mut owners = std::collections::HashSet::new();
        for i in 0.. {
            let tag = format!("t{i}");
            let owner = cluster.primary_of(key_slot(tag.as_bytes())).unwrap();
            if owners.insert(owner) {
                tags.push(tag);
            }
            if owners.len() == 3 || i > 1000 {
                break;
            }
        }
        assert_eq!(owners.len(), 3, "{kind:?}");
        for tag in &tags {
            exercise(&cluster, tag).await;
        }
        // SCAN visits every primary: one key per tag, each on another node.
        let mut keys: Vec<Bytes> = cluster
            .scan_iter(ScanOptions::new().pattern("{t*}:n"))
            .try_collect()
            .await
            .unwrap();
        keys.sort();
        let mut want: Vec<Bytes> = tags
            .iter()
            .map(|t| Bytes::from(format!("{{{t}}}:n")))
            .collect();
        want.sort();
        assert_eq!(keys, want, "{kind:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_sessions_run_on_the_slot_owner_of_the_cluster() {
    for kind in KINDS {
        let (_nodes, cluster) = cluster_of(kind).await;
        let (a, b) = ("{u1}:a", "{u1}:b");
        cluster.set(a, 0).await.unwrap();
        // The session reads and writes through the owner's connection: a node that does
        // not serve the slot would answer MOVED.
        let session = cluster.watch([a, b]).await.unwrap();
        let seen: Option<i64> = session.get(a).decode().await.unwrap();
        assert_eq!(seen, Some(0));
        cluster.set(a, 5).await.unwrap();
        let err = session
            .transaction()
            .set(a, 1)
            .set(b, 1)
            .execute()
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Watch), "{kind:?}: {err:?}");
        let session = cluster.watch([a]).await.unwrap();
        let (x, y) = session
            .transaction()
            .incr(a)
            .set(b, "done")
            .execute()
            .await
            .unwrap();
        assert_eq!((x, y), (6, true), "{kind:?}");
        // Keys of several slots cannot be watched together; nothing is sent.
        let err = cluster.watch(["{u1}:a", "{u2}:a"]).await.unwrap_err();
        assert!(
            matches!(&err, Error::CrossSlot { slots, .. } if slots.len() == 2),
            "{kind:?}: {err:?}"
        );
        // The retry helper keeps concurrent read-modify-writes exact.
        let cluster = Arc::new(cluster);
        cluster.set("{c}:n", 0).await.unwrap();
        let mut tasks = Vec::new();
        for _ in 0..2 {
            let cluster = cluster.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..200 {
                    cluster
                        .watch_transaction(["{c}:n"], 10_000, |s| async move {
                            let n: i64 = s.get("{c}:n").decode::<Option<i64>>().await?.unwrap_or(0);
                            s.transaction().set("{c}:n", n + 1).execute().await?;
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
        let n: Option<i64> = cluster.get("{c}:n").decode().await.unwrap();
        assert_eq!(n, Some(400), "{kind:?}");
    }
}

/// WATCH on a slot that migrates (the standard resharding steps, `support::SlotMove`): a
/// session whose keys move away under it fails with `Error::WatchSlotMoved`, its
/// transaction run nowhere; `watch_transaction` starts over and follows `ASK` to the
/// importing node, where the session watches the key (a conflicting write aborts it)
/// and commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_sessions_follow_a_migrating_slot() {
    for kind in KINDS {
        let (_nodes, cluster) = cluster_of(kind).await;
        let (a, b) = ("{mig}:a", "{mig}:b");
        cluster.mset([(a, 1), (b, 1)]).await.unwrap();
        // Opened on the owner before the migration; `b` stays there at first.
        let held = cluster.watch([b]).await.unwrap();
        let moving = tokio::sync::Mutex::new(None);
        let runs = AtomicUsize::new(0);
        let got = cluster
            .watch_transaction([a], 5, |session| {
                let (cluster, moving, runs) = (&cluster, &moving, &runs);
                async move {
                    let n: i64 = session.get(a).decode::<Option<i64>>().await?.unwrap_or(0);
                    if runs.fetch_add(1, Ordering::SeqCst) == 0 {
                        // The slot starts moving and `a` goes to the target under the session.
                        *moving.lock().await = Some(support::SlotMove::begin(cluster, a).await);
                    }
                    session.transaction().set(a, n + 10).execute().await?;
                    Ok(n + 10)
                }
            })
            .await
            .unwrap();
        assert_eq!(got, 11, "{kind:?}");
        assert_eq!(
            runs.load(Ordering::SeqCst),
            2,
            "{kind:?}: one fresh session"
        );
        let moving = moving.into_inner().expect("the slot moves");
        let v: Option<i64> = cluster.get(a).decode().await.unwrap();
        assert_eq!(v, Some(11), "{kind:?}");
        // The importing node watches `a` for a session opened there (after ASK).
        let during = cluster.watch([a]).await.unwrap();
        let seen: Option<i64> = during.get(a).decode().await.unwrap();
        assert_eq!(seen, Some(11), "{kind:?}");
        cluster.set(a, 20).await.unwrap();
        let err = during.transaction().set(a, 0).execute().await.unwrap_err();
        assert!(matches!(err, Error::Watch), "{kind:?}: {err:?}");
        let during = cluster.watch([a]).await.unwrap();
        let (n,) = during.transaction().incr(a).execute().await.unwrap();
        assert_eq!(n, 21, "{kind:?}");
        // `b` still lives on the owner: the held session works, until `b` moves too.
        let seen: Option<i64> = held.get(b).decode().await.unwrap();
        assert_eq!(seen, Some(1), "{kind:?}");
        let (host, port) = moving.target.rsplit_once(':').unwrap();
        moving
            .src
            .cmd("MIGRATE")
            .args([host, port, "", "0", "5000", "KEYS", b])
            .await
            .unwrap();
        let err = held.get(b).await.unwrap_err();
        assert!(
            matches!(&err, Error::WatchSlotMoved { slot, .. } if *slot == moving.slot),
            "{kind:?}: {err:?}"
        );
        // Redis refuses the queued command with ASK; Valkey aborts EXEC for the watched
        // key that MIGRATE deleted. Either way the transaction fails, and runs nowhere.
        let err = held.transaction().set(b, 100).execute().await.unwrap_err();
        assert!(
            matches!(&err, Error::WatchSlotMoved { slot, .. } if *slot == moving.slot)
                || matches!(err, Error::Watch),
            "{kind:?}: {err:?}"
        );
        let v: Option<i64> = cluster.get(b).decode().await.unwrap();
        assert_eq!(v, Some(1), "{kind:?}: the refused transaction ran nowhere");
        // Once the slot is the target's, sessions open there directly (after MOVED).
        moving.finish().await;
        let after = cluster.watch([a, b]).await.unwrap();
        let (x, y) = after.transaction().incr(a).incr(b).execute().await.unwrap();
        assert_eq!((x, y), (22, 2), "{kind:?}");
    }
}

#[tokio::test]
async fn watch_transaction_reports_exhausted_attempts_with_their_count() {
    for kind in KINDS {
        let server = Server::start(kind);
        let client = Client::connect(&server.url()).await.unwrap();
        let other = Client::connect(&server.url()).await.unwrap();
        let runs = AtomicUsize::new(0);
        let err = client
            .watch_transaction(["hot"], 3, |session| {
                runs.fetch_add(1, Ordering::SeqCst);
                let other = &other;
                async move {
                    // Every attempt meets a conflicting write.
                    other.incr("hot").await?;
                    session.transaction().set("hot", 0).execute().await?;
                    Ok(())
                }
            })
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::WatchRetriesExhausted { attempts: 3 }),
            "{kind:?}: {err:?}"
        );
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        let n: Option<i64> = client.get("hot").decode().await.unwrap();
        assert_eq!(n, Some(3), "no attempt's transaction ran");
        // Other errors are not retried.
        let err = client
            .watch_transaction(["hot"], 3, |_| async {
                Err::<(), _>(Error::Lock("mine".into()))
            })
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Lock(_)), "{err:?}");
    }
}
