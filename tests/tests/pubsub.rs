//! PubSub and MONITOR against real servers (redis 7.0 and valkey 9.1, RESP2 and RESP3).

mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use support::{Kind, Server, KINDS};
use typedis::pubsub::MessageKind;
use typedis::{Client, Value};

async fn client(server: &Server, protocol: u8) -> Client {
    Client::connect(&format!("{}?protocol={protocol}", server.url()))
        .await
        .expect("connect")
}

/// 100,000 messages over 10 channels, binary payloads included: all arrive, in order,
/// intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_messages_arrive_in_order_and_intact() {
    for kind in KINDS {
        for protocol in [2, 3] {
            let server = Server::start(kind);
            let client = client(&server, protocol).await;
            let channels: Vec<String> = (0..10).map(|i| format!("ch:{i}")).collect();
            let mut sub = client.subscribe(&channels).await.unwrap();
            sub.ignore_subscribe_messages(true);
            const N: u32 = 100_000;
            let publisher = client.clone();
            let publish = tokio::spawn(async move {
                // Publish in windows so the publisher does not outrun the subscriber's
                // server-side output buffer.
                let mut pending = Vec::with_capacity(1000);
                for i in 0..N {
                    let mut payload = i.to_be_bytes().to_vec();
                    payload.extend_from_slice(b"\r\n\x00\xff");
                    let c = publisher.clone();
                    pending.push(async move {
                        c.cmd("PUBLISH")
                            .arg(format!("ch:{}", i % 10))
                            .arg(payload)
                            .decode::<i64>()
                            .await
                    });
                    if pending.len() == 1000 {
                        for r in futures_util::future::join_all(pending.drain(..)).await {
                            assert_eq!(r.unwrap(), 1);
                        }
                    }
                }
            });
            let mut next = [0u32; 10];
            let mut seen = 0u32;
            let deadline = Instant::now() + Duration::from_secs(60);
            while seen < N {
                let msg = tokio::time::timeout_at(deadline.into(), sub.next())
                    .await
                    .expect("messages stopped arriving")
                    .expect("subscription ended");
                assert_eq!(msg.kind(), MessageKind::Message);
                let p = msg.payload();
                assert_eq!(&p[4..], b"\r\n\x00\xff", "payload corrupted");
                let i = u32::from_be_bytes([p[0], p[1], p[2], p[3]]);
                let ch = (i % 10) as usize;
                assert_eq!(msg.channel(), &format!("ch:{ch}").into_bytes()[..]);
                // Commands from one connection run in order, so per channel the
                // sequence numbers must be strictly increasing without gaps.
                assert_eq!(
                    i,
                    next[ch] * 10 + ch as u32,
                    "{kind:?} RESP{protocol}: out of order or missing"
                );
                next[ch] += 1;
                seen += 1;
            }
            publish.await.unwrap();
        }
    }
}

/// A killed subscriber connection comes back subscribed to all channels and patterns
/// within 2 s, announces it, and receives what is published afterwards.
#[tokio::test]
async fn resubscribes_after_client_kill() {
    for kind in KINDS {
        for protocol in [2, 3] {
            let server = Server::start(kind);
            let client = client(&server, protocol).await;
            let mut sub = client.subscribe(["a", "b"]).await.unwrap();
            sub.psubscribe(["p:*"]).await.unwrap();
            sub.ignore_subscribe_messages(true);
            let killed: i64 = client
                .cmd("CLIENT")
                .arg("KILL")
                .arg("TYPE")
                .arg("pubsub")
                .decode()
                .await
                .unwrap();
            assert_eq!(killed, 1);
            let t0 = Instant::now();
            let marker = tokio::time::timeout(Duration::from_secs(2), sub.next())
                .await
                .expect("no reconnect within 2 s")
                .unwrap();
            assert_eq!(marker.kind(), MessageKind::Reconnected);
            assert!(t0.elapsed() < Duration::from_secs(2));
            // The server sees the subscriptions again.
            let numpat: i64 = client.cmd("PUBSUB").arg("NUMPAT").decode().await.unwrap();
            assert_eq!(numpat, 1, "{kind:?} RESP{protocol}");
            for (channel, payload) in [("a", "1"), ("b", "2"), ("p:x", "3")] {
                let n: i64 = client
                    .cmd("PUBLISH")
                    .arg(channel)
                    .arg(payload)
                    .decode()
                    .await
                    .unwrap();
                assert_eq!(n, 1, "{channel} has no subscriber after reconnect");
                let m = tokio::time::timeout(Duration::from_secs(2), sub.next())
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(&m.payload()[..], payload.as_bytes());
            }
        }
    }
}

#[tokio::test]
async fn get_message_zero_timeout_returns_at_once() {
    let server = Server::start(Kind::Redis);
    let client = client(&server, 3).await;
    let mut sub = client.subscribe(["quiet"]).await.unwrap();
    // The confirmation is waiting: it is returned without blocking.
    let first = sub.get_message(Duration::ZERO).await.unwrap();
    assert_eq!(first.kind(), MessageKind::Subscribe);
    let mut worst = Duration::ZERO;
    for _ in 0..100 {
        let t0 = Instant::now();
        assert!(sub.get_message(Duration::ZERO).await.is_none());
        worst = worst.max(t0.elapsed());
    }
    assert!(
        worst < Duration::from_millis(5),
        "get_message(0) took {worst:?}"
    );
    // With a timeout it waits for a message.
    let c2 = client.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        c2.cmd("PUBLISH").arg("quiet").arg("now").await.unwrap();
    });
    let m = sub.get_message(Duration::from_secs(2)).await.unwrap();
    assert_eq!(&m.payload()[..], b"now");
}

#[tokio::test]
async fn subscribe_more_and_unsubscribe() {
    for kind in KINDS {
        let server = Server::start(kind);
        let client = client(&server, 3).await;
        let mut sub = client.pubsub().await.unwrap();
        sub.ignore_subscribe_messages(true);
        sub.subscribe(["x"]).await.unwrap();
        sub.subscribe(["y", "z"]).await.unwrap();
        sub.ssubscribe(["shard"]).await.unwrap();
        let numsub: Vec<Value> = client
            .cmd("PUBSUB")
            .arg("NUMSUB")
            .arg("x")
            .arg("y")
            .arg("z")
            .decode()
            .await
            .unwrap();
        assert_eq!(numsub.len(), 6);
        client.cmd("SPUBLISH").arg("shard").arg("s1").await.unwrap();
        let m = sub.next().await.unwrap();
        assert_eq!(
            (m.kind(), &m.payload()[..]),
            (MessageKind::SMessage, &b"s1"[..])
        );
        sub.unsubscribe(["x"]).unwrap();
        sub.unsubscribe(Vec::<&str>::new()).unwrap(); // leaves y and z too
                                                      // Once the server processed the unsubscribes, nobody listens on x/y/z.
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let n: i64 = client
                .cmd("PUBLISH")
                .arg("y")
                .arg("-")
                .decode()
                .await
                .unwrap();
            if n == 0 {
                break;
            }
            assert!(Instant::now() < deadline, "unsubscribe did not take effect");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // Messages keep flowing on what is left; the shared client kept working throughout.
        client.cmd("SPUBLISH").arg("shard").arg("s2").await.unwrap();
        // Probe messages published to `y` before the unsubscribe took effect may still be
        // queued ahead of it.
        let m = loop {
            let m = sub.next().await.unwrap();
            if m.is_data() && &m.payload()[..] != b"-" {
                break m;
            }
        };
        assert_eq!(&m.payload()[..], b"s2");
        assert_eq!(sub.subscriptions().count(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_runner_processes_and_stops() {
    let server = Server::start(Kind::Valkey);
    let client = client(&server, 3).await;
    let mut sub = client.subscribe(["jobs"]).await.unwrap();
    sub.psubscribe(["evt:*"]).await.unwrap();

    // A channel without a handler refuses to start, as in redis-py.
    sub.on_message("jobs", |_| Ok(()));
    let err = sub.run(|_| {}).unwrap_err();
    assert!(err.to_string().contains("evt:*"), "{err}");

    let mut sub = client.subscribe(["jobs"]).await.unwrap();
    sub.psubscribe(["evt:*"]).await.unwrap();
    let jobs = Arc::new(AtomicU64::new(0));
    let events = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let (j, e, r) = (jobs.clone(), events.clone(), errors.clone());
    sub.on_message("jobs", move |m| {
        let _: u64 = m.decode()?;
        j.fetch_add(1, Ordering::Relaxed);
        Ok(())
    });
    sub.on_pattern("evt:*", move |_| {
        e.fetch_add(1, Ordering::Relaxed);
        Ok(())
    });
    let runner = sub
        .run(move |_err| {
            r.fetch_add(1, Ordering::Relaxed);
        })
        .unwrap();
    for i in 0..10_000u64 {
        if i % 2 == 0 {
            client.cmd("PUBLISH").arg("jobs").arg(i).await.unwrap();
        } else {
            client.cmd("PUBLISH").arg("evt:tick").arg(i).await.unwrap();
        }
    }
    client
        .cmd("PUBLISH")
        .arg("jobs")
        .arg("not a number")
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while jobs.load(Ordering::Relaxed) + events.load(Ordering::Relaxed) < 10_000
        || errors.load(Ordering::Relaxed) < 1
    {
        assert!(
            Instant::now() < deadline,
            "runner did not process the messages"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (_sub, handled) = tokio::time::timeout(Duration::from_secs(2), runner.stop())
        .await
        .expect("runner did not stop")
        .unwrap();
    assert_eq!(handled, 10_001);
    assert_eq!(jobs.load(Ordering::Relaxed), 5_000);
    assert_eq!(events.load(Ordering::Relaxed), 5_000);
    assert_eq!(errors.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn monitor_sees_another_clients_command() {
    for kind in KINDS {
        let server = Server::start(kind);
        let client = client(&server, 2).await;
        let mut monitor = client.monitor().await.unwrap();
        let other = Client::connect(&server.url()).await.unwrap();
        other
            .cmd("SET")
            .arg("mon:key")
            .arg(&b"bin\x00\"value\n"[..])
            .await
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let ev = tokio::time::timeout_at(deadline.into(), monitor.next())
                .await
                .expect("MONITOR saw no SET")
                .unwrap()
                .unwrap();
            if ev.args.first().map(|a| a.eq_ignore_ascii_case(b"set")) == Some(true) {
                assert_eq!(ev.args[1], &b"mon:key"[..]);
                assert_eq!(ev.args[2], &b"bin\x00\"value\n"[..]);
                assert_eq!(ev.db, 0);
                assert!(ev.client.starts_with("127.0.0.1:"), "{}", ev.client);
                assert!(ev.timestamp > 1.6e9);
                break;
            }
        }
    }
}
