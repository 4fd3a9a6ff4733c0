//! `CLUSTER …` replies on a real cluster: the typed records, and the read-only
//! subcommands' replies against their schemas (the synthesized run has no cluster).

use std::time::{Duration, Instant};

use typedis::cluster::ClusterClient;
use typedis::prelude::*;
use typedis::reply::{ClusterShard, SlotRange};
use typedis::Client;

use crate::support::{Cluster, Kind, KINDS};
use crate::{checks, fits, specs_and_decoders};

/// The subcommands that only read, safe on a live cluster.
const READ_ONLY: &[&str] = &[
    "CLUSTER COUNT-FAILURE-REPORTS",
    "CLUSTER COUNTKEYSINSLOT",
    "CLUSTER GETKEYSINSLOT",
    "CLUSTER GETSLOTMIGRATIONS",
    "CLUSTER HELP",
    "CLUSTER INFO",
    "CLUSTER KEYSLOT",
    "CLUSTER LINKS",
    "CLUSTER MYID",
    "CLUSTER MYSHARDID",
    "CLUSTER NODES",
    "CLUSTER REPLICAS",
    "CLUSTER SHARDS",
    "CLUSTER SLAVES",
    "CLUSTER SLOT-STATS",
    "CLUSTER SLOTS",
];

#[tokio::test]
async fn cluster_replies() {
    let (specs, decoders) = specs_and_decoders();
    let mut failures = Vec::new();
    for kind in KINDS {
        let cluster = Cluster::start(kind);
        let first = &cluster.nodes[0];
        // Data in every shard, so that each replica has an offset and reports itself
        // online (a replica that has received nothing is `loading`, and CLUSTER SLOTS
        // leaves it out).
        let writer = ClusterClient::connect(cluster.urls()).await.unwrap();
        for i in 0..30 {
            writer.set(format!("key:{i}"), i).await.unwrap();
        }
        let probe = Client::connect(&first.url()).await.unwrap();
        let start = Instant::now();
        loop {
            let shards: Vec<ClusterShard> = probe.cluster_shards().await.unwrap();
            if shards
                .iter()
                .flat_map(|s| &s.nodes)
                .all(|n| n.health == "online")
            {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "{kind:?}: {shards:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for protocol in [2, 3] {
            let at = format!("{kind:?} RESP{protocol}");
            let c = Client::connect(&format!("{}?protocol={protocol}", first.url()))
                .await
                .unwrap();
            let myid = c.cluster_myid().await.unwrap();
            let shards: Vec<ClusterShard> = c.cluster_shards().await.unwrap();
            assert_eq!(shards.len(), 3, "{at}");
            let mut covered: u32 = 0;
            for shard in &shards {
                assert_eq!(shard.nodes.len(), 2, "{at}: {shard:?}");
                assert_eq!(
                    shard.nodes.iter().filter(|n| n.role == "master").count(),
                    1,
                    "{at}"
                );
                for n in &shard.nodes {
                    assert_eq!(n.ip, "127.0.0.1", "{at}");
                    assert!(n.port.is_some() && n.id.len() == 40, "{at}: {n:?}");
                    assert_eq!(n.health, "online", "{at}: {n:?}");
                }
                covered += shard
                    .slots
                    .iter()
                    .map(|(a, b)| u32::from(b - a) + 1)
                    .sum::<u32>();
            }
            assert_eq!(covered, 16384, "{at}");
            assert!(
                shards.iter().flat_map(|s| &s.nodes).any(|n| n.id == myid),
                "{at}: this node is in a shard"
            );
            let slots: Vec<SlotRange> = c.cluster_slots().await.unwrap();
            assert_eq!(
                slots
                    .iter()
                    .map(|r| u32::from(r.end - r.start) + 1)
                    .sum::<u32>(),
                16384,
                "{at}"
            );
            for r in &slots {
                assert_eq!(r.replicas.len(), 1, "{at}: {r:?}");
                assert_eq!(r.primary.endpoint.as_deref(), Some("127.0.0.1"), "{at}");
                assert!(
                    r.primary.id.as_ref().is_some_and(|id| id.len() == 40),
                    "{at}"
                );
            }
            let links = c.cluster_links().await.unwrap();
            assert!(links.len() >= 5, "{at}: {links:?}");
            assert!(
                links
                    .iter()
                    .all(|l| l.direction == "to" || l.direction == "from"),
                "{at}"
            );
            let info = c.cluster_info().await.unwrap();
            assert_eq!(info.get("cluster_state"), Some("ok"), "{at}");
            assert_eq!(info.parse::<u32>("cluster_known_nodes"), Some(6), "{at}");
            let slot = c.cluster_keyslot("somekey").await.unwrap();
            assert_eq!(slot, i64::from(typedis::key_slot(b"somekey")), "{at}");
            if kind == Kind::Valkey {
                let stats: Vec<(i64, typedis::reply::SlotStats)> = c
                    .cmd("CLUSTER")
                    .args(["SLOT-STATS", "SLOTSRANGE", "0", "2"])
                    .decode()
                    .await
                    .unwrap();
                assert_eq!(
                    stats.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
                    vec![0, 1, 2],
                    "{at}"
                );
                assert!(stats.iter().all(|(_, s)| s.key_count == 0), "{at}");
            }
            // The read-only subcommands' replies fit their schemas and default types.
            for s in specs
                .iter()
                .filter(|s| READ_ONLY.contains(&s.full_name().as_str()))
            {
                for check in checks(s, &decoders) {
                    let argv = &check.argv;
                    let Ok(v) = c.cmd(&argv[0]).args(&argv[1..]).await else {
                        continue;
                    };
                    if !fits(&v, check.schema) {
                        failures.push(format!(
                            "{at} {argv:?}: {v:?} does not fit {}",
                            check.schema
                        ));
                    } else if let Err(e) = (check.decode)(v.clone()) {
                        failures.push(format!("{at} {argv:?}: {e}"));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
