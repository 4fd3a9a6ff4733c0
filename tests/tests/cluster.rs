//! The cluster client on a real 6-node cluster (3 primaries + 3 replicas), both servers.

mod support;

use std::collections::HashMap;

use support::{Cluster, KINDS};
use typedis::cluster::ClusterClient;
use typedis::prelude::*;
use typedis::{key_slot, Bytes, Client, Error};

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
