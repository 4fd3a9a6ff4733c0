//! Sentinel-backed clients on real processes: 1 master, 1 replica, 3 sentinels (Redis
//! 7.0 and Valkey 9.1 in sentinel mode), with a password or over TLS with a private CA;
//! and a fake sentinel for what real ones do not do on demand (events, then silence).

mod support;

use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use support::{GroupOptions, Kind, Pki, SentinelGroup, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use typedis::prelude::*;
use typedis::sentinel::{FailoverHold, Sentinel};
use typedis::{Client, ConnectionInfo, Error, ServerErrorKind, TlsConfig, Value};

/// The role and `tcp_port` of the node `client` is connected to.
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

/// Polls `role_port` until it is `(role, port)`, at most `limit`; returns how long it took.
async fn wait_for_role(client: &Client, role: &str, port: u16, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        if let Some((r, p)) = role_port(client).await {
            if r == role && p == port {
                return start.elapsed();
            }
        }
        assert!(
            start.elapsed() < limit,
            "the client did not reach the {role} on port {port} within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// How many clients of each sentinel are subscribed to something.
async fn subscribers(group: &SentinelGroup) -> Vec<usize> {
    let mut out = Vec::new();
    for url in group.sentinel_urls() {
        let s = Client::connect(&url).await.unwrap();
        let list: String = s.cmd("CLIENT").arg("LIST").decode().await.unwrap();
        out.push(
            list.lines()
                .filter(|l| l.split(' ').any(|f| f.starts_with("sub=") && f != "sub=0"))
                .count(),
        );
    }
    out
}

fn no_template() -> ConnectionInfo {
    ConnectionInfo::tcp("", 0)
}

// ------------------------------------------------------------------ load

/// One write of the load: its number, when it was sent, how long it took, how it ended.
struct Write {
    n: u64,
    sent: Instant,
    took: Duration,
    result: Result<(), String>,
}

/// Writes `w<n> = n` through `client`, a new write every 2 ms (each its own task, so
/// writes held during a failover pile up as callers would), until stopped.
struct Load {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Vec<Write>>,
}

impl Load {
    fn start(client: &Client) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let (c, s) = (client.clone(), stop.clone());
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(2));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut writes = Vec::new();
            let started = Instant::now();
            let mut n = 0u64;
            // Bounded in count and time whatever happens to the stop flag.
            while !s.load(Ordering::SeqCst)
                && n < 30_000
                && started.elapsed() < Duration::from_secs(60)
            {
                tick.tick().await;
                let c = c.clone();
                writes.push(tokio::spawn(async move {
                    let sent = Instant::now();
                    let r =
                        tokio::time::timeout(Duration::from_secs(20), c.set(format!("w{n}"), n))
                            .await;
                    let result = match r {
                        Ok(Ok(_)) => Ok(()),
                        Ok(Err(e)) => Err(e.to_string()),
                        Err(_) => Err("no reply within 20 s".to_owned()),
                    };
                    Write {
                        n,
                        sent,
                        took: sent.elapsed(),
                        result,
                    }
                }));
                n += 1;
            }
            let mut out = Vec::with_capacity(writes.len());
            for w in writes {
                out.push(w.await.expect("write task"));
            }
            out
        });
        Load { stop, task }
    }

    async fn finish(self) -> Vec<Write> {
        self.stop.store(true, Ordering::SeqCst);
        self.task.await.expect("load task")
    }
}

/// How many of the acknowledged writes among `writes` the node at `url` does not have.
async fn missing_on(url: &str, writes: &[&Write]) -> Vec<u64> {
    let direct = Client::connect(url).await.unwrap();
    let mut missing = Vec::new();
    for chunk in writes.chunks(500) {
        let keys: Vec<String> = chunk.iter().map(|w| format!("w{}", w.n)).collect();
        let got: Vec<Option<u64>> = direct.cmd("MGET").args(&keys).decode().await.unwrap();
        for (w, v) in chunk.iter().zip(got) {
            if v != Some(w.n) {
                missing.push(w.n);
            }
        }
    }
    missing
}

/// What a manual failover under load did.
struct FailoverRun {
    acked: usize,
    lost: usize,
    errors: Vec<String>,
    max_latency: Duration,
    moved_after: Duration,
    /// Connections of the client named by the template's `client_name` on the new and the
    /// old master, at the end.
    named_on_new: usize,
    named_on_old: usize,
}

/// A master client made with `sentinel` and `template` writes every 2 ms while the last
/// sentinel (not the first one the client asks) runs `SENTINEL FAILOVER`; then every
/// acknowledged write is looked for on the new master.
async fn manual_failover_under_load(
    group: &SentinelGroup,
    sentinel: &Sentinel,
    template: ConnectionInfo,
) -> FailoverRun {
    let template_name = template.client_name.clone();
    let master = sentinel
        .master_for_with("mymaster", template)
        .await
        .unwrap();
    let (role, port) = role_port(&master).await.unwrap();
    assert_eq!((role.as_str(), port), ("master", group.master.port));
    let load = Load::start(&master);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let last = group.sentinel_urls().pop().unwrap();
    let started = Instant::now();
    Client::connect(&last)
        .await
        .unwrap()
        .cmd("SENTINEL")
        .arg("FAILOVER")
        .arg("mymaster")
        .await
        .unwrap();
    let moved_after = wait_for_role(
        &master,
        "master",
        group.replica.port,
        Duration::from_secs(20),
    )
    .await;
    // Writes go on for a while on the new master.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let writes = load.finish().await;
    let named = |port: u16| match &template_name {
        Some(name) => group
            .node_cli(port, &["CLIENT", "LIST"])
            .lines()
            .filter(|l| l.contains(&format!(" name={name} ")))
            .count(),
        None => 0,
    };
    let (named_on_new, named_on_old) = (named(group.replica.port), named(group.master.port));
    let errors: Vec<String> = writes
        .iter()
        .filter_map(|w| {
            w.result
                .clone()
                .err()
                .map(|e| format!("w{} after {:?}: {e}", w.n, w.sent - started))
        })
        .collect();
    let acked: Vec<&Write> = writes.iter().filter(|w| w.result.is_ok()).collect();
    let lost = missing_on(&group.node_url(&group.replica), &acked).await;
    let max_latency = writes.iter().map(|w| w.took).max().unwrap_or_default();
    FailoverRun {
        acked: acked.len(),
        lost: lost.len(),
        errors,
        max_latency,
        moved_after,
        named_on_new,
        named_on_old,
    }
}

// ------------------------------------------------------------------ failovers

/// With `connections` multiplexed connections behind the master client, each of which
/// must be held and moved.
async fn no_acknowledged_write_is_lost_across_a_manual_failover_on(kind: Kind, connections: usize) {
    let group = SentinelGroup::start_with(kind, GroupOptions::default());
    let sentinel = Sentinel::connect(group.sentinel_urls()).await.unwrap();
    let mut template = no_template().client_name("failover-load");
    template.connections = connections;
    let run = manual_failover_under_load(&group, &sentinel, template).await;
    // Every connection of the client is on the new master, none left on the old one.
    assert_eq!(run.named_on_new, connections, "{kind:?}");
    assert_eq!(run.named_on_old, 0, "{kind:?}");
    println!(
        "{kind:?}: SENTINEL FAILOVER with a write every 2 ms: {} acknowledged, {} lost, {} errors; \
         client on the new master {:?} after the command; longest write {:?} (held)",
        run.acked,
        run.lost,
        run.errors.len(),
        run.moved_after,
        run.max_latency
    );
    assert!(
        run.errors.is_empty(),
        "errors seen by callers: {:?}",
        run.errors
    );
    assert!(run.acked > 300, "too few writes to judge: {}", run.acked);
    // Held from `+try-failover` on, nothing is written to the old master once the
    // replica is promoted: nothing acknowledged can be lost.
    assert_eq!(
        run.lost, 0,
        "{} of {} acknowledged writes lost",
        run.lost, run.acked
    );
    // The writes issued during the switch waited for it (the hold did happen).
    assert!(
        run.max_latency >= Duration::from_millis(100),
        "no write waited: {:?}",
        run.max_latency
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_acknowledged_write_is_lost_across_a_manual_failover_redis() {
    no_acknowledged_write_is_lost_across_a_manual_failover_on(Kind::Redis, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_acknowledged_write_is_lost_across_a_manual_failover_valkey() {
    no_acknowledged_write_is_lost_across_a_manual_failover_on(Kind::Valkey, 4).await;
}

/// The same measurement without the hold sees the writes the old master acknowledged
/// after the promotion: what the hold prevents, and proof the measurement can fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_hold_the_old_master_loses_writes_in_the_switch_window() {
    let group = SentinelGroup::start();
    let sentinel = Sentinel::connect(group.sentinel_urls())
        .await
        .unwrap()
        .failover_hold(FailoverHold::Off);
    let run = manual_failover_under_load(&group, &sentinel, no_template()).await;
    println!(
        "Redis, no hold: {} acknowledged, {} lost ({:.1}%), {} errors; longest write {:?}",
        run.acked,
        run.lost,
        100.0 * run.lost as f64 / run.acked.max(1) as f64,
        run.errors.len(),
        run.max_latency
    );
    assert!(run.lost > 0, "no write lost without the hold");
}

async fn client_recovers_after_the_master_is_killed_on(kind: Kind) {
    let mut group = SentinelGroup::start_with(kind, GroupOptions::default());
    let sentinel = Sentinel::connect(group.sentinel_urls()).await.unwrap();
    let master = sentinel.master_for("mymaster").await.unwrap();
    for i in 0..200 {
        master.set(format!("before{i}"), i).await.unwrap();
    }
    let synced: i64 = master.wait(1, 2000).await.unwrap();
    assert_eq!(synced, 1, "the replica did not acknowledge the writes");
    let load = Load::start(&master);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let killed_at = Instant::now();
    group.master.kill();
    let moved = wait_for_role(
        &master,
        "master",
        group.replica.port,
        Duration::from_secs(40),
    )
    .await;
    // The old master comes back, empty and still calling itself a master, until the
    // sentinels turn it into a replica; and the client's connection is cut, so it
    // resolves again meanwhile: it must not go back there.
    group.restart_master();
    let new_master = Client::connect(&group.node_url(&group.replica))
        .await
        .unwrap();
    new_master
        .cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("normal")
        .arg("SKIPME")
        .arg("yes")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let writes = load.finish().await;
    // Recovered: the first write sent after the kill that was acknowledged.
    let recovered = writes
        .iter()
        .filter(|w| w.sent > killed_at && w.result.is_ok())
        .map(|w| w.sent + w.took - killed_at)
        .min()
        .expect("no write acknowledged after the kill");
    let switched_at = killed_at + recovered;
    let after: Vec<&Write> = writes
        .iter()
        .filter(|w| w.sent >= switched_at && w.result.is_ok())
        .collect();
    let errors = writes.iter().filter(|w| w.result.is_err()).count();
    let lost = missing_on(&group.node_url(&group.replica), &after).await;
    println!(
        "{kind:?}: master killed: writes acknowledged again after {recovered:?} (client on the new \
         master after {moved:?}); {errors} errors during the outage; {} acknowledged after the \
         switch, {} of them lost",
        after.len(),
        lost.len()
    );
    let bound = group.down_after + group.failover_timeout;
    assert!(
        recovered < bound,
        "recovered after {recovered:?}, more than down-after + failover-timeout ({bound:?})\n{}",
        group.sentinel_logs()
    );
    assert!(
        after.len() > 100,
        "too few writes after the switch: {}",
        after.len()
    );
    assert!(
        lost.is_empty(),
        "acknowledged after the switch, then lost: {lost:?}"
    );
    let before: Vec<Option<i64>> = new_master
        .cmd("MGET")
        .args((0..200).map(|i| format!("before{i}")))
        .decode()
        .await
        .unwrap();
    assert!(
        before.iter().enumerate().all(|(i, v)| *v == Some(i as i64)),
        "replicated writes lost"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_recovers_after_the_master_is_killed_redis() {
    client_recovers_after_the_master_is_killed_on(Kind::Redis).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_recovers_after_the_master_is_killed_valkey() {
    client_recovers_after_the_master_is_killed_on(Kind::Valkey).await;
}

// ------------------------------------------------------------------ replicas, errors

async fn replica_clients_carry_password_and_database_on(kind: Kind) {
    let pw = "s3cret-Pass";
    let group = SentinelGroup::start_with(
        kind,
        GroupOptions {
            password: Some(pw),
            ..GroupOptions::default()
        },
    );
    let sentinel = Sentinel::connect(group.sentinel_urls()).await.unwrap();
    let nodes = ConnectionInfo::tcp("", 0).password(pw).db(3);
    let before = subscribers(&group).await;
    let master = sentinel
        .master_for_with("mymaster", nodes.clone())
        .await
        .unwrap();
    // The master client watches every sentinel's events from the moment it exists.
    let watching = subscribers(&group).await;
    assert_eq!(watching, before.iter().map(|n| n + 1).collect::<Vec<_>>());
    master.set("cred", "yes").await.unwrap();
    let replica = sentinel
        .replica_for_with("mymaster", nodes.clone())
        .await
        .unwrap();
    let (role, port) = role_port(&replica).await.unwrap();
    assert_eq!((role.as_str(), port), ("slave", group.replica.port));
    // Database 3 on the replica (replication is asynchronous: wait for it).
    let start = Instant::now();
    loop {
        let v: Option<String> = replica.get("cred").decode().await.unwrap();
        if v.as_deref() == Some("yes") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "not replicated: {v:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let db0 = Client::connect(&group.node_url(&group.replica))
        .await
        .unwrap();
    let v: Option<String> = db0.get("cred").decode().await.unwrap();
    assert_eq!(v, None, "the replica client did not select database 3");
    // Replicas are read-only: the replica client really is on one.
    let err = replica.set("cred", "no").await.unwrap_err();
    assert_eq!(
        err.server_kind(),
        Some(ServerErrorKind::ReadOnly),
        "{err:?}"
    );

    // Every client setting (here the decoder limits, on top of the template's password
    // and database) reaches the data node connections through master_for_config.
    {
        let mut limits = typedis::resp::Limits::default();
        limits.max_bulk_len = 64;
        let config = typedis::ClientConfig::from_info(nodes.clone())
            .limits(limits)
            .command_timeout(Some(Duration::from_secs(5)));
        let limited = sentinel
            .master_for_config("mymaster", config)
            .await
            .unwrap();
        assert_eq!(limited.get("cred").decode::<String>().await.unwrap(), "yes");
        limited.set("long", "x".repeat(100)).await.unwrap();
        let err = limited.get("long").await.unwrap_err();
        assert!(
            matches!(err, Error::Protocol(_)) && err.to_string().contains("max_bulk_len"),
            "{err}"
        );
    }

    // Without the password the nodes refuse, and the error says so (not "not found").
    let err = sentinel.replica_for("mymaster").await.unwrap_err();
    assert_eq!(err.server_kind(), Some(ServerErrorKind::NoAuth), "{err:?}");
    let err = sentinel.master_for("mymaster").await.unwrap_err();
    assert_eq!(err.server_kind(), Some(ServerErrorKind::NoAuth), "{err:?}");
    let err = sentinel
        .replica_for_with("mymaster", ConnectionInfo::tcp("", 0).password("wrong"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Auth {
                kind: typedis::AuthErrorKind::WrongPassword,
                ..
            }
        ),
        "{err:?}"
    );

    // The watcher goes with the client (it checks once a second).
    drop(master);
    let start = Instant::now();
    while subscribers(&group).await != before {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the watcher outlived its client"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_clients_carry_password_and_database_redis() {
    replica_clients_carry_password_and_database_on(Kind::Redis).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_clients_carry_password_and_database_valkey() {
    replica_clients_carry_password_and_database_on(Kind::Valkey).await;
}

async fn replica_client_falls_back_to_the_master_on(kind: Kind) {
    let mut group = SentinelGroup::start_with(kind, GroupOptions::default());
    let sentinel = Sentinel::connect(group.sentinel_urls()).await.unwrap();

    // Unknown names: both lookups fail with connection errors naming the sentinels.
    let err = sentinel.master_for("nosuchmaster").await.unwrap_err();
    assert!(matches!(err, Error::MasterNotFound { .. }), "{err:?}");
    assert!(err.is_connection_error(), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("not found") && text.contains("nosuchmaster"),
        "{text}"
    );
    for p in &group.sentinel_ports {
        assert!(text.contains(&p.to_string()), "{text}");
    }
    let err = sentinel.replica_for("nosuchmaster").await.unwrap_err();
    assert!(matches!(err, Error::ReplicaNotFound { .. }), "{err:?}");
    assert!(err.is_connection_error(), "{err:?}");
    assert!(err.to_string().contains("nosuchmaster"), "{err}");

    let replica = sentinel.replica_for("mymaster").await.unwrap();
    let (role, port) = role_port(&replica).await.unwrap();
    assert_eq!((role.as_str(), port), ("slave", group.replica.port));

    // The replica dies: the replica client moves to the master (its next commands may
    // fail, with connection errors, until it has reconnected).
    group.replica.kill();
    let start = Instant::now();
    loop {
        match replica.cmd("ROLE").decode::<Vec<Value>>().await {
            Ok(role) if role.first() == Some(&Value::Bulk(Bytes::from("master"))) => break,
            Ok(role) => panic!("still on a replica: {role:?}"),
            Err(e) => assert!(e.is_connection_error(), "{e:?}"),
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no fallback to the master"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(role_port(&replica).await.unwrap().1, group.master.port);
    // A new replica client goes to the master at once.
    let fresh = sentinel.replica_for("mymaster").await.unwrap();
    assert_eq!(
        role_port(&fresh).await.unwrap(),
        ("master".to_owned(), group.master.port)
    );

    // The master dies too: nothing to fall back to.
    group.master.kill();
    let start = Instant::now();
    let last = loop {
        let err = replica.ping().await.unwrap_err();
        assert!(err.is_connection_error(), "{err:?}");
        if matches!(err, Error::ReplicaNotFound { .. }) {
            break err;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "last error: {err:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(last.to_string().contains("mymaster"), "{last}");
    let err = sentinel.replica_for("mymaster").await.unwrap_err();
    assert!(matches!(err, Error::ReplicaNotFound { .. }), "{err:?}");
    assert!(err.is_connection_error() && err.is_retryable(), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_client_falls_back_to_the_master_redis() {
    replica_client_falls_back_to_the_master_on(Kind::Redis).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_client_falls_back_to_the_master_valkey() {
    replica_client_falls_back_to_the_master_on(Kind::Valkey).await;
}

// ------------------------------------------------------------------ TLS

/// Sentinels and data nodes serve TLS with certificates of a private CA (Debian's Redis;
/// the Valkey binary of the suite is built without TLS).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sentinels_over_tls_with_a_private_ca() {
    let pki = Pki::new();
    let group = SentinelGroup::start_with(
        Kind::Redis,
        GroupOptions {
            tls: Some(&pki),
            ..GroupOptions::default()
        },
    );
    let trusted = TlsConfig::new().root_ca_pem(pki.ca_pem.as_bytes()).unwrap();
    let over_tls = |tls: &TlsConfig| -> Vec<ConnectionInfo> {
        group
            .sentinel_tls_ports
            .iter()
            .map(|p| ConnectionInfo::tcp("127.0.0.1", *p).tls(tls.clone()))
            .collect()
    };
    // `rediss://` URLs trust only the public roots: refused, with the hint to pass the CA.
    let urls: Vec<String> = group
        .sentinel_tls_ports
        .iter()
        .map(|p| format!("rediss://127.0.0.1:{p}"))
        .collect();
    let err = Sentinel::connect(&urls).await.unwrap_err();
    assert!(err.to_string().contains("root_ca_pem"), "{err}");
    // No sentinel usable: a connection error naming each sentinel tried.
    assert!(
        matches!(&err, Error::SentinelUnreachable { tried } if tried.contains(&format!(":{}", group.sentinel_tls_ports[0]))),
        "{err:?}"
    );
    assert!(err.is_connection_error() && err.is_retryable(), "{err:?}");
    let err = Sentinel::connect_with(over_tls(&TlsConfig::new()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("root_ca_pem"), "{err}");

    let sentinel = Sentinel::connect_with(over_tls(&trusted)).await.unwrap();
    let nodes = ConnectionInfo::tcp("", 0).tls(trusted.clone());
    // Data nodes over TLS too: without TLS in the template the TLS ports do not answer.
    let err = sentinel.master_for("mymaster").await.unwrap_err();
    assert!(err.is_connection_error(), "{err:?}");
    let replica = sentinel
        .replica_for_with("mymaster", nodes.clone())
        .await
        .unwrap();
    assert_eq!(
        role_port(&replica).await.unwrap(),
        ("slave".to_owned(), group.replica.port)
    );
    // A failover followed through the sentinels' events over TLS: nothing lost.
    let run = manual_failover_under_load(&group, &sentinel, nodes).await;
    println!(
        "TLS: SENTINEL FAILOVER with a write every 2 ms: {} acknowledged, {} lost, {} errors, \
         longest write {:?}",
        run.acked,
        run.lost,
        run.errors.len(),
        run.max_latency
    );
    assert!(run.errors.is_empty(), "{:?}", run.errors);
    assert_eq!(run.lost, 0);
    assert!(
        run.max_latency >= Duration::from_millis(100),
        "no hold over TLS"
    );
}

// ------------------------------------------------------------------ fake sentinel

/// A sentinel that names whichever port it is told to and publishes the events it is
/// told to, to every subscriber; `silence` closes the subscriber connections (their
/// clients resubscribe, but nothing more is published).
struct FakeSentinel {
    port: u16,
    named: Arc<AtomicU16>,
    subscribers: Arc<Mutex<Vec<tokio::net::tcp::OwnedWriteHalf>>>,
    accept: tokio::task::JoinHandle<()>,
}

fn bulk_frame(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(format!("${}\r\n", s.len()).as_bytes());
    out.extend_from_slice(s);
    out.extend_from_slice(b"\r\n");
}

impl FakeSentinel {
    async fn start(named: u16) -> FakeSentinel {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let named = Arc::new(AtomicU16::new(named));
        let subscribers = Arc::new(Mutex::new(Vec::new()));
        let (n, subs) = (named.clone(), subscribers.clone());
        let accept = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                tokio::spawn(serve(sock, n.clone(), subs.clone()));
            }
        });
        FakeSentinel {
            port,
            named,
            subscribers,
            accept,
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn name(&self, port: u16) {
        self.named.store(port, Ordering::SeqCst);
    }

    /// Publishes `payload` on `channel` to every subscriber; how many got it.
    async fn publish(&self, channel: &str, payload: &str) -> usize {
        let mut frame = b"*3\r\n".to_vec();
        bulk_frame(&mut frame, b"message");
        bulk_frame(&mut frame, channel.as_bytes());
        bulk_frame(&mut frame, payload.as_bytes());
        let subs = std::mem::take(&mut *self.subscribers.lock().unwrap());
        let mut kept = Vec::new();
        for mut s in subs {
            if s.write_all(&frame).await.is_ok() {
                kept.push(s);
            }
        }
        let n = kept.len();
        self.subscribers.lock().unwrap().extend(kept);
        n
    }

    fn silence(&self) {
        self.subscribers.lock().unwrap().clear();
    }
}

impl Drop for FakeSentinel {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn serve(
    sock: tokio::net::TcpStream,
    named: Arc<AtomicU16>,
    subscribers: Arc<Mutex<Vec<tokio::net::tcp::OwnedWriteHalf>>>,
) {
    let (mut rd, mut wr) = sock.into_split();
    let mut buf = BytesMut::new();
    let mut decoder = typedis::resp::Decoder::new(Default::default());
    loop {
        while let Ok(Some(Value::Array(items))) = decoder.decode(&mut buf) {
            let argv: Vec<Bytes> = items
                .into_iter()
                .map(|v| match v {
                    Value::Bulk(b) => b,
                    _ => Bytes::new(),
                })
                .collect();
            let word = |i: usize| {
                argv.get(i)
                    .map(|a| String::from_utf8_lossy(a).to_uppercase())
                    .unwrap_or_default()
            };
            let mut out = Vec::new();
            match (word(0).as_str(), word(1).as_str()) {
                ("SENTINEL", "GET-MASTER-ADDR-BY-NAME") => {
                    out.extend_from_slice(b"*2\r\n");
                    bulk_frame(&mut out, b"127.0.0.1");
                    bulk_frame(
                        &mut out,
                        named.load(Ordering::SeqCst).to_string().as_bytes(),
                    );
                }
                ("SENTINEL", "MASTER") => {
                    out.extend_from_slice(b"*4\r\n");
                    for f in ["name", "m", "failover-timeout", "60000"] {
                        bulk_frame(&mut out, f.as_bytes());
                    }
                }
                ("SUBSCRIBE", _) => {
                    for (i, ch) in argv[1..].iter().enumerate() {
                        out.extend_from_slice(b"*3\r\n");
                        bulk_frame(&mut out, b"subscribe");
                        bulk_frame(&mut out, ch);
                        out.extend_from_slice(format!(":{}\r\n", i + 1).as_bytes());
                    }
                    if wr.write_all(&out).await.is_err() {
                        return;
                    }
                    // From now on the test writes the events; this task only reads.
                    subscribers.lock().unwrap().push(wr);
                    while rd.read_buf(&mut buf).await.is_ok_and(|n| n > 0) {
                        buf.clear();
                    }
                    return;
                }
                ("PING", _) => out.extend_from_slice(b"+PONG\r\n"),
                _ => out.extend_from_slice(b"-ERR unknown command\r\n"),
            }
            if wr.write_all(&out).await.is_err() {
                return;
            }
        }
        match rd.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// A failover starts, then the sentinel goes silent: the hold ends after its bound
/// and the client resumes on the master the sentinel names by then. Meanwhile commands
/// wait (single ones, pipelines, dedicated connections), a caller's own timeout still
/// applies, and events about other masters hold nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_is_bounded_when_the_sentinel_goes_silent() {
    let old = Server::start(Kind::Redis);
    let new = Server::start(Kind::Redis);
    let fake = FakeSentinel::start(old.port).await;
    let hold = Duration::from_millis(1500);
    let sentinel = Sentinel::connect([fake.url()])
        .await
        .unwrap()
        .failover_hold(FailoverHold::AtMost(hold));
    let client = sentinel.master_for("m").await.unwrap();
    assert_eq!(role_port(&client).await.unwrap().1, old.port);

    // Another master's failover: no hold.
    let got = fake
        .publish(
            "+try-failover",
            &format!("master other 127.0.0.1 {}", new.port),
        )
        .await;
    assert_eq!(got, 1, "the client's watcher is not subscribed");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let t = Instant::now();
    client.set("free", 1).await.unwrap();
    assert!(
        t.elapsed() < hold / 2,
        "held for another master: {:?}",
        t.elapsed()
    );

    // A failover that the sentinel aborts: held until the abort, then on the same
    // connection (the sentinel still names the old master).
    let id: i64 = client.cmd("CLIENT").arg("ID").decode().await.unwrap();
    let begin = format!("master m 127.0.0.1 {}", old.port);
    fake.publish("+try-failover", &begin).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let waiting = {
        let c = client.clone();
        tokio::spawn(async move {
            let t = Instant::now();
            c.set("after-abort", 1).await.unwrap();
            t.elapsed()
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    fake.publish("-failover-abort-not-elected", &begin).await;
    let waited = waiting.await.unwrap();
    assert!(
        waited >= Duration::from_millis(200) && waited < hold,
        "held {waited:?} for an aborted failover (bound {hold:?})"
    );
    let same: i64 = client.cmd("CLIENT").arg("ID").decode().await.unwrap();
    assert_eq!(
        same, id,
        "the connection was replaced after an aborted failover"
    );

    // A command in flight when a hold starts is unaffected: WAIT (raw commands go on
    // the shared connection) blocks 400 ms on a master without replicas.
    let in_flight = {
        let c = client.clone();
        tokio::spawn(async move {
            let t = Instant::now();
            let r: typedis::Result<i64> = c.cmd("WAIT").arg(1).arg(400).decode().await;
            (r, t.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;

    // This master's failover starts, the sentinel names the new master, then falls
    // silent: no +switch-master will come.
    let started = Instant::now();
    fake.publish("+try-failover", &begin).await;
    fake.name(new.port);
    fake.silence();
    let (waited, took) = in_flight.await.unwrap();
    assert_eq!(waited.unwrap(), 0);
    assert!(
        took < hold - Duration::from_millis(200),
        "in-flight command held: {took:?}"
    );
    tokio::time::sleep(Duration::from_millis(100).saturating_sub(started.elapsed())).await;
    let timed = client
        .cmd("SET")
        .arg("timed")
        .arg("1")
        .timeout(Duration::from_millis(200))
        .await;
    assert!(
        matches!(
            timed,
            Err(Error::Timeout {
                kind: typedis::TimeoutKind::Command,
                ..
            })
        ),
        "{timed:?}"
    );
    let (single, batch, dedicated) = tokio::join!(
        async {
            client.set("held", "1").await.unwrap();
            started.elapsed()
        },
        async {
            let (_, v) = client
                .pipeline()
                .set("piped", "1")
                .get("piped")
                .execute()
                .await
                .unwrap();
            assert_eq!(v.as_deref(), Some(&b"1"[..]));
            started.elapsed()
        },
        async {
            let _conn = client.dedicated().await.unwrap();
            started.elapsed()
        },
    );
    println!("held for {single:?} (single), {batch:?} (pipeline), {dedicated:?} (dedicated); bound {hold:?}");
    for took in [single, batch, dedicated] {
        assert!(
            took >= hold - Duration::from_millis(200),
            "not held: {took:?}"
        );
        // The bound, the sentinel lookup that follows it, and a loaded machine.
        assert!(
            took < hold + Duration::from_secs(5),
            "held too long: {took:?}"
        );
    }
    // Resumed on the master the sentinel names now; the timed-out command was never sent.
    assert_eq!(role_port(&client).await.unwrap().1, new.port);
    let on_new = Client::connect(&new.url()).await.unwrap();
    let on_old = Client::connect(&old.url()).await.unwrap();
    for (key, want_new) in [("held", true), ("piped", true), ("timed", false)] {
        let n: Option<String> = on_new.get(key).decode().await.unwrap();
        let o: Option<String> = on_old.get(key).decode().await.unwrap();
        assert_eq!((n.is_some(), o.is_some()), (want_new, false), "{key}");
    }
}

/// The switch is followed whichever sentinel announces it, even while the first sentinel
/// the client asks still names the old master (which still says `master`); the same
/// announcement from another sentinel is not acted on twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_switch_announced_by_any_sentinel_is_followed_once() {
    let old = Server::start(Kind::Redis);
    let new = Server::start(Kind::Redis);
    let stale = FakeSentinel::start(old.port).await;
    let leader = FakeSentinel::start(old.port).await;
    let sentinel = Sentinel::connect([stale.url(), leader.url()])
        .await
        .unwrap();
    let client = sentinel.master_for("m").await.unwrap();
    assert_eq!(role_port(&client).await.unwrap().1, old.port);

    // Only the leader tells: held from its first event.
    leader
        .publish("+try-failover", &format!("master m 127.0.0.1 {}", old.port))
        .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let write = {
        let c = client.clone();
        tokio::spawn(async move { c.set("k", "v").await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!write.is_finished(), "not held");
    leader.name(new.port);
    let switch = format!("m 127.0.0.1 {} 127.0.0.1 {}", old.port, new.port);
    leader.publish("+switch-master", &switch).await;
    tokio::time::timeout(Duration::from_secs(5), write)
        .await
        .expect("released")
        .unwrap()
        .unwrap();
    let on_new = Client::connect(&new.url()).await.unwrap();
    let on_old = Client::connect(&old.url()).await.unwrap();
    let (n, o): (Option<String>, Option<String>) = (
        on_new.get("k").decode().await.unwrap(),
        on_old.get("k").decode().await.unwrap(),
    );
    assert_eq!(
        (n.as_deref(), o),
        (Some("v"), None),
        "the held write went astray"
    );
    assert_eq!(role_port(&client).await.unwrap().1, new.port);

    // The same announcement from the other sentinel changes nothing.
    let id: i64 = client.cmd("CLIENT").arg("ID").decode().await.unwrap();
    stale.publish("+switch-master", &switch).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let same: i64 = client.cmd("CLIENT").arg("ID").decode().await.unwrap();
    assert_eq!(
        same, id,
        "a duplicate +switch-master replaced the connection"
    );
}
