//! Fault tests for the shared connection against real servers: the server is killed
//! under load (every waiting caller fails promptly), then restarted on the same port
//! (the same client recovers).

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
