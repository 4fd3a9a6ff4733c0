//! Fault tests for the shared connection against real servers: the server is killed
//! under load (every waiting caller fails promptly), then restarted on the same port
//! (the same client recovers); the server goes silent behind a proxy that drops
//! everything on the connections open at that moment (the client notices within a
//! health-check interval and moves to a new connection, also for subscriptions and pooled
//! connections); the server is paused and resumed (the client recovers).

mod support;

use std::time::{Duration, Instant};

use support::{bulk, s, Kind, Server, KINDS};
use typedis::{Client, ClientConfig, Value};

async fn kill_under_load(kind: Kind) {
    let mut server = Server::start(kind);
    let port = server.port;
    let client = Client::connect(&server.url()).await.unwrap();
    client.cmd("SET").arg(s("k")).arg(s("v")).await.unwrap();

    let mut tasks = Vec::new();
    for _ in 0..48 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let mut ok_before = 0u64;
            loop {
                // 48 tasks in a tight loop: some commands are always in flight.
                let r = client.cmd("GET").arg(s("k")).await;
                match r {
                    Ok(v) => {
                        assert_eq!(bulk(&v), Some(&b"v"[..]), "wrong reply under load");
                        ok_before += 1;
                    }
                    Err(e) => {
                        assert!(e.is_connection_error(), "unexpected error kind: {e:?}");
                        return (Instant::now(), ok_before);
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t0 = Instant::now();
    server.kill();
    let mut worst = Duration::ZERO;
    for t in tasks {
        let (failed_at, ok_before) = tokio::time::timeout(Duration::from_secs(5), t)
            .await
            .expect("a caller hung after the server was killed")
            .unwrap();
        assert!(ok_before > 0, "a task did no work before the kill");
        worst = worst.max(failed_at.saturating_duration_since(t0));
    }
    eprintln!("{kind:?}: slowest caller saw the error {worst:?} after SIGKILL");
    assert!(
        worst < Duration::from_secs(1),
        "callers were told too late: {worst:?}"
    );

    // While the server is down, commands fail fast (no hang) with a connection error.
    let started = Instant::now();
    let err = client.cmd("PING").await.unwrap_err();
    assert!(err.is_connection_error(), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(1));

    // Same port, new process: the same client recovers (after at most the backoff).
    let _server = Server::start_on(kind, port);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match client.cmd("SET").arg(s("k")).arg(s("again")).await {
            Ok(_) => break,
            Err(e) => {
                assert!(e.is_connection_error(), "{e:?}");
                assert!(Instant::now() < deadline, "client did not recover: {e:?}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    let v = client.cmd("GET").arg(s("k")).await.unwrap();
    assert_eq!(bulk(&v), Some(&b"again"[..]));
    // And concurrent load works again on the new connection.
    let mut tasks = Vec::new();
    for i in 0..32 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let key = format!("after:{i}");
            client.cmd("SET").arg(s(&key)).arg(s(&key)).await.unwrap();
            let v = client.cmd("GET").arg(s(&key)).await.unwrap();
            assert_eq!(v, Value::Bulk(key.into()));
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_killed_under_load_fails_callers_promptly_then_recovers() {
    for kind in KINDS {
        kill_under_load(kind).await;
    }
}

#[tokio::test]
async fn unreachable_server_fails_fast_with_backoff() {
    let port = support::free_port();
    let err = Client::connect(&format!("redis://127.0.0.1:{port}"))
        .await
        .unwrap_err();
    assert!(err.is_connection_error(), "{err:?}");

    // A client whose server goes away: reconnect attempts fail with the connect error
    // instead of hanging, and they are spaced by the backoff.
    let mut server = Server::start(Kind::Redis);
    let client = Client::with_config(
        ClientConfig::new(&server.url())
            .unwrap()
            .command_timeout(Some(Duration::from_secs(3))),
    )
    .await
    .unwrap();
    client.cmd("PING").await.unwrap();
    server.kill();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let t = Instant::now();
    for _ in 0..20 {
        let err = client.cmd("PING").await.unwrap_err();
        assert!(err.is_connection_error(), "{err:?}");
    }
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "failing commands hung"
    );
}

/// Connections are cut repeatedly under load (replies half-delivered, commands
/// half-written): callers see connection errors, never another caller's reply, and the
/// client reconnects each time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_reply_crosses_a_reconnect() {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;
    use support::{Proxy, B};

    let server = Server::start(Kind::Redis);
    let proxy = Proxy::start(server.port).await;
    let client = Client::connect(&proxy.url()).await.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let (oks, errs) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut tasks = Vec::new();
    for t in 0..32 {
        let client = client.clone();
        let (stop, oks, errs) = (stop.clone(), oks.clone(), errs.clone());
        tasks.push(tokio::spawn(async move {
            let key = format!("own:{t}");
            // Values of different sizes so that cuts land inside replies.
            let value = vec![b'a' + (t % 26) as u8; 100 + t * 997];
            loop {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                let set = client.cmd("SET").arg(s(&key)).arg(B(&value)).await;
                let r = match set {
                    Ok(_) => client.cmd("GET").arg(s(&key)).await,
                    Err(e) => Err(e),
                };
                match r {
                    Ok(v) => {
                        assert!(bulk(&v) == Some(&value[..]), "task {t} got another reply");
                        oks.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        assert!(e.is_connection_error(), "unexpected error: {e:?}");
                        errs.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
            }
        }));
    }
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        proxy.cut_all();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::SeqCst);
    for t in tasks {
        t.await.unwrap();
    }
    let (oks, errs) = (oks.load(Ordering::Relaxed), errs.load(Ordering::Relaxed));
    eprintln!("{oks} correct replies, {errs} connection errors across 8 cuts");
    assert!(errs > 0, "the cuts did not hit any in-flight command");
    assert!(oks > 100);
    client.cmd("PING").await.unwrap();
}

/// A peer that stops answering without closing (no FIN): the health check's PING times
/// out on the idle connection, the connection is replaced, and the next command works.
#[tokio::test]
async fn health_check_replaces_a_half_dead_connection() {
    use support::Proxy;

    let server = Server::start(Kind::Valkey);
    let proxy = Proxy::start(server.port).await;
    let config = ClientConfig::new(&proxy.url())
        .unwrap()
        .health_check_interval(Some(Duration::from_millis(200)))
        .health_check_timeout(Duration::from_millis(300));
    let client = Client::with_config(config).await.unwrap();
    client.cmd("SET").arg(s("k")).arg(s("v")).await.unwrap();
    proxy.freeze_existing();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let v = tokio::time::timeout(Duration::from_secs(3), client.cmd("GET").arg(s("k")))
        .await
        .expect("the command hung on a half-dead connection")
        .unwrap();
    assert_eq!(bulk(&v), Some(&b"v"[..]));
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "no health check happened"
    );
}

/// How one call of [`calls_through_a_silence`] went.
#[derive(Debug, Clone, Copy)]
struct Call {
    started: Instant,
    took: Duration,
    ok: bool,
}

/// Runs `tasks` tasks calling `GET k` in a loop on `client` for `run` after `go_silent` is
/// called (at `t0`, returned); every call must come back within the command timeout plus
/// `margin` (no call hangs) with the value `v` or a timeout or connection error.
async fn calls_through_a_silence(
    client: &Client,
    tasks: usize,
    timeout: Duration,
    run: Duration,
    go_silent: impl FnOnce(),
) -> (Instant, Vec<Call>) {
    use std::sync::{Arc, Mutex};
    let margin = Duration::from_millis(700);
    let calls = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let (client, calls, stop) = (client.clone(), calls.clone(), stop.clone());
        handles.push(tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let started = Instant::now();
                let r = tokio::time::timeout(timeout + margin, client.cmd("GET").arg(s("k")))
                    .await
                    .unwrap_or_else(|_| panic!("a call hung for {:?}", timeout + margin));
                let took = started.elapsed();
                let ok = match r {
                    Ok(v) => {
                        assert_eq!(bulk(&v), Some(&b"v"[..]), "wrong reply");
                        // Load enough to keep commands in flight, not to saturate the
                        // machine.
                        tokio::time::sleep(Duration::from_millis(2)).await;
                        true
                    }
                    Err(e) => {
                        assert!(e.is_timeout() || e.is_connection_error(), "{e:?}");
                        assert!(took < timeout + margin, "a failure took {took:?}");
                        // Failing fast (a connection error) must not become a busy loop.
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        false
                    }
                };
                calls.lock().unwrap().push(Call { started, took, ok });
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let t0 = Instant::now();
    go_silent();
    tokio::time::sleep(run).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for h in handles {
        h.await.unwrap();
    }
    let calls = calls.lock().unwrap().clone();
    (t0, calls)
}

/// When the first call started after `t0` succeeded, measured from `t0`; and whether every
/// call started from then on (plus a little) succeeded.
fn recovery(t0: Instant, calls: &[Call]) -> (Duration, bool) {
    let first = calls
        .iter()
        .filter(|c| c.started >= t0 && c.ok)
        .map(|c| c.started + c.took)
        .min()
        .expect("no call succeeded after the connection went silent");
    let settled = calls
        .iter()
        .filter(|c| c.started > first + Duration::from_millis(200))
        .all(|c| c.ok);
    (first - t0, settled)
}

/// The proxy drops everything on the open connection without closing it: with a 500 ms
/// command timeout and a 1 s health-check interval, calls fail within their timeout
/// meanwhile, and the same client answers again within about an interval plus a timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_peer_is_replaced_within_a_health_check_interval() {
    use support::Proxy;
    for kind in KINDS {
        let server = Server::start(kind);
        let proxy = Proxy::start(server.port).await;
        let (timeout, interval) = (Duration::from_millis(500), Duration::from_secs(1));
        let config = ClientConfig::new(&proxy.url())
            .unwrap()
            .command_timeout(Some(timeout))
            .health_check_interval(Some(interval));
        let client = Client::with_config(config).await.unwrap();
        client.cmd("SET").arg(s("k")).arg(s("v")).await.unwrap();
        let (t0, calls) =
            calls_through_a_silence(&client, 8, timeout, Duration::from_secs(5), || {
                proxy.freeze_existing()
            })
            .await;
        let (back, settled) = recovery(t0, &calls);
        let failed = calls.iter().filter(|c| c.started >= t0 && !c.ok).count();
        eprintln!(
            "{kind:?}: answered again {back:?} after the connection went silent ({failed} calls failed meanwhile, {} calls in all)",
            calls.len()
        );
        assert!(failed > 0, "the silence was not noticed by any call");
        assert!(
            back < interval + timeout + Duration::from_secs(1),
            "recovered only after {back:?}"
        );
        assert!(settled, "calls failed after the client had recovered");
    }
}

/// A paused server (SIGSTOP) answers everything once resumed (SIGCONT): without health
/// checks the same connection carries on; with them, the client has moved to a new
/// connection meanwhile. Either way it answers again soon after the server resumes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_server_is_served_again_once_resumed() {
    for health in [None, Some(Duration::from_secs(1))] {
        let server = Server::start(Kind::Redis);
        let timeout = Duration::from_millis(500);
        let config = ClientConfig::new(&server.url())
            .unwrap()
            .command_timeout(Some(timeout))
            .health_check_interval(health);
        let client = Client::with_config(config).await.unwrap();
        client.cmd("SET").arg(s("k")).arg(s("v")).await.unwrap();
        let id = client.cmd("CLIENT").arg(s("ID")).await.unwrap();
        let pause = Duration::from_secs(2);
        let pid = server.pid();
        let resumer = std::sync::Mutex::new(None);
        let (t0, calls) =
            calls_through_a_silence(&client, 4, timeout, pause + Duration::from_secs(3), || {
                support::signal(pid, "STOP");
                *resumer.lock().unwrap() = Some(std::thread::spawn(move || {
                    std::thread::sleep(pause);
                    support::signal(pid, "CONT");
                }));
            })
            .await;
        resumer.lock().unwrap().take().unwrap().join().unwrap();
        let (back, settled) = recovery(t0 + pause, &calls);
        let failed = calls.iter().filter(|c| c.started >= t0 && !c.ok).count();
        eprintln!(
            "health checks {health:?}: answered again {back:?} after SIGCONT ({failed} calls failed while paused)"
        );
        assert!(failed > 0, "the pause was not noticed by any call");
        assert!(
            back < Duration::from_secs(2),
            "recovered only {back:?} after SIGCONT"
        );
        assert!(settled, "calls failed after the client had recovered");
        let same = client.cmd("CLIENT").arg(s("ID")).await.unwrap() == id;
        assert_eq!(
            same,
            health.is_none(),
            "health checks {health:?}: connection kept: {same}"
        );
    }
}

/// Publishes `payload` on `ch` and returns the next message of `sub`.
async fn publish_and_receive(
    publisher: &Client,
    sub: &mut typedis::pubsub::Subscription,
    payload: &str,
) -> typedis::pubsub::Message {
    use futures_util::StreamExt;
    publisher
        .cmd("PUBLISH")
        .arg(s("ch"))
        .arg(s(payload))
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .expect("no message")
        .unwrap()
}

/// A subscriber connection that goes silent (the proxy drops everything on it) is noticed
/// by its health check and subscribed again on a new connection, within the interval
/// plus the health-check timeout; messages published then arrive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_subscriber_connection_is_resubscribed() {
    use futures_util::StreamExt;
    use support::Proxy;
    use typedis::pubsub::MessageKind;
    for (kind, protocol) in [(Kind::Redis, 2), (Kind::Valkey, 3)] {
        let server = Server::start(kind);
        let proxy = Proxy::start(server.port).await;
        let (interval, timeout) = (Duration::from_secs(1), Duration::from_millis(500));
        let config = ClientConfig::new(&format!("{}?protocol={protocol}", proxy.url()))
            .unwrap()
            .health_check_interval(Some(interval))
            .health_check_timeout(timeout);
        let client = Client::with_config(config).await.unwrap();
        let publisher = Client::connect(&server.url()).await.unwrap();
        let mut sub = client.subscribe(["ch"]).await.unwrap();
        sub.ignore_subscribe_messages(true);
        let m = publish_and_receive(&publisher, &mut sub, "before").await;
        assert_eq!(&m.payload()[..], b"before");
        // Idle for a while first: an idle, healthy subscription is PINGed and kept.
        tokio::time::sleep(interval * 2).await;
        let m = publish_and_receive(&publisher, &mut sub, "idle").await;
        assert_eq!(
            &m.payload()[..],
            b"idle",
            "a healthy idle subscription was reconnected"
        );
        proxy.freeze_existing();
        let t0 = Instant::now();
        let publishing = tokio::spawn(async move {
            for i in 0..100 {
                let msg = format!("m{i}");
                publisher
                    .cmd("PUBLISH")
                    .arg(s("ch"))
                    .arg(s(&msg))
                    .await
                    .unwrap();
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        let m = tokio::time::timeout(Duration::from_secs(6), sub.next())
            .await
            .expect("the silent subscriber connection was not noticed")
            .unwrap();
        let back = t0.elapsed();
        assert_eq!(m.kind(), MessageKind::Reconnected, "{m:?}");
        eprintln!(
            "{kind:?} RESP{protocol}: resubscribed {back:?} after the connection went silent"
        );
        assert!(
            back < interval + timeout + Duration::from_secs(1),
            "resubscribed only after {back:?}"
        );
        let m = tokio::time::timeout(Duration::from_secs(3), sub.next())
            .await
            .unwrap()
            .unwrap();
        assert!(m.is_data() && m.payload().starts_with(b"m"), "{m:?}");
        publishing.abort();
    }
}

/// A dedicated connection that went silent while idle in the pool is PINGed when taken
/// again, found dead and replaced by a new one, instead of being handed out.
#[tokio::test]
async fn a_silent_pooled_connection_is_not_handed_out() {
    use support::Proxy;
    let server = Server::start(Kind::Valkey);
    let proxy = Proxy::start(server.port).await;
    let (interval, timeout) = (Duration::from_millis(300), Duration::from_millis(300));
    let config = ClientConfig::new(&proxy.url())
        .unwrap()
        .health_check_interval(Some(interval))
        .health_check_timeout(timeout);
    let client = Client::with_config(config).await.unwrap();
    let ping = || {
        let mut a = typedis::Args::new();
        a.push_bytes(b"CLIENT");
        a.push_bytes(b"ID");
        a
    };
    let conn = client.dedicated().await.unwrap();
    let first = conn.send(&ping()).await.unwrap();
    drop(conn);
    assert_eq!(client.pool().idle_count(), 1);
    // Idle longer than the interval, but alive: PINGed and reused.
    tokio::time::sleep(interval * 2).await;
    let conn = client.dedicated().await.unwrap();
    assert_eq!(
        conn.send(&ping()).await.unwrap(),
        first,
        "a healthy connection was replaced"
    );
    drop(conn);
    proxy.freeze_existing();
    tokio::time::sleep(interval * 2).await;
    let started = Instant::now();
    let conn = tokio::time::timeout(Duration::from_secs(3), client.dedicated())
        .await
        .expect("taking a connection hung")
        .unwrap();
    let id = tokio::time::timeout(Duration::from_secs(3), conn.send(&ping()))
        .await
        .expect("the pool handed out the silent connection")
        .unwrap();
    assert_ne!(id, first);
    let took = started.elapsed();
    assert!(took >= timeout, "no health check happened ({took:?})");
    assert!(took < timeout + Duration::from_secs(1), "{took:?}");
}
