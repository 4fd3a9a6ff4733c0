//! Sentinel-backed clients on real processes: 1 master, 1 replica, 3 sentinels.

mod support;

use std::time::{Duration, Instant};

use support::SentinelGroup;
use typedis::prelude::*;
use typedis::sentinel::Sentinel;
use typedis::{Client, Error, Value};

async fn role_port(client: &Client) -> Option<(String, u16)> {
    let info: String = client.cmd("INFO").arg("server").decode().await.ok()?;
    let port = info
        .lines()
        .find_map(|l| l.strip_prefix("tcp_port:"))?
        .trim()
        .parse()
        .ok()?;
    let role: Value = client.cmd("ROLE").await.ok()?;
    let Value::Array(items) = role else {
        return None;
    };
    let role: String = typedis::FromValue::from_value(items.into_iter().next()?).ok()?;
    Some((role, port))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_continue_across_a_failover() {
    let group = SentinelGroup::start();
    let sentinel = Sentinel::connect(group.sentinel_urls()).await.unwrap();
    let master = sentinel.master_for("mymaster").await.unwrap();
    let (role, port) = role_port(&master).await.unwrap();
    assert_eq!((role.as_str(), port), ("master", group.master.port));

    let mut acked = Vec::new();
    let mut i = 0u64;
    // Some writes before the failover, acknowledged by the replica too.
    while i < 200 {
        master.set(format!("k{i}"), i).await.unwrap();
        i += 1;
    }
    let _: i64 = master.wait(1, 1000).await.unwrap();
    acked.extend(0..200);
    let failover_at = Instant::now();
    let s0 = Client::connect(&group.sentinel_urls()[0]).await.unwrap();
    s0.cmd("SENTINEL")
        .arg("FAILOVER")
        .arg("mymaster")
        .await
        .unwrap();
    let mut errors = 0;
    let reached = loop {
        assert!(
            failover_at.elapsed() < Duration::from_secs(20),
            "no new master after 20 s"
        );
        match master.set(format!("k{i}"), i).await {
            Ok(_) => {
                if let Ok(1..) = master.wait(1, 200).await {
                    acked.push(i);
                }
                i += 1;
                if let Some((role, port)) = role_port(&master).await {
                    if role == "master" && port == group.replica.port {
                        break failover_at.elapsed();
                    }
                }
            }
            Err(_) => {
                errors += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    eprintln!(
        "reached the new master {reached:?} after SENTINEL FAILOVER ({errors} errors meanwhile)"
    );
    assert!(reached < Duration::from_secs(10), "took {reached:?}");
    // Every acknowledged write is on the new master.
    let direct = Client::connect(&group.replica.url()).await.unwrap();
    for k in &acked {
        let v: Option<u64> = direct.get(format!("k{k}")).decode().await.unwrap();
        assert_eq!(v, Some(*k), "acknowledged write k{k} lost");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_recovers_after_the_master_is_killed() {
    let mut group = SentinelGroup::start();
    let sentinel = Sentinel::connect(group.sentinel_urls()).await.unwrap();
    let master = sentinel.master_for("mymaster").await.unwrap();
    master.set("before", 1).await.unwrap();
    let _: i64 = master.wait(1, 1000).await.unwrap();
    let killed_at = Instant::now();
    group.master.kill();
    let recovered = loop {
        assert!(
            killed_at.elapsed() < Duration::from_secs(30),
            "no recovery after 30 s"
        );
        if master.set("after", 1).await.is_ok() {
            break killed_at.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    eprintln!("recovered {recovered:?} after killing the master");
    let v: Option<i64> = master.get("before").decode().await.unwrap();
    assert_eq!(v, Some(1));
    let (role, port) = role_port(&master).await.unwrap();
    assert_eq!((role.as_str(), port), ("master", group.replica.port));
}

#[tokio::test]
async fn unknown_master_names_the_sentinels_asked() {
    let group = SentinelGroup::start();
    let sentinel = Sentinel::connect(group.sentinel_urls()).await.unwrap();
    let err = sentinel.master_for("nosuchmaster").await.unwrap_err();
    assert!(matches!(err, Error::MasterNotFound { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("not found") && text.contains("nosuchmaster"),
        "{text}"
    );
    for p in &group.sentinel_ports {
        assert!(text.contains(&p.to_string()), "{text}");
    }
    // A replica client reads from the replica.
    let replica = sentinel.replica_for("mymaster").await.unwrap();
    let (role, port) = role_port(&replica).await.unwrap();
    assert_eq!((role.as_str(), port), ("slave", group.replica.port));
    // Client settings (here the decoder limits) reach the data node connections.
    let mut limits = typedis::resp::Limits::default();
    limits.max_bulk_len = 64;
    let config = typedis::ClientConfig::from_info(typedis::ConnectionInfo::tcp("", 0))
        .limits(limits)
        .command_timeout(Some(Duration::from_secs(5)));
    let limited = sentinel
        .master_for_config("mymaster", config)
        .await
        .unwrap();
    limited.set("long", "x".repeat(100)).await.unwrap();
    let err = limited.get("long").await.unwrap_err();
    assert!(
        matches!(err, Error::Protocol(_)) && err.to_string().contains("max_bulk_len"),
        "{err}"
    );
}
