//! The multiplexed `Client` against real servers (redis-server 7.0 and valkey 9.1):
//! basic commands, large values, both protocols, cancellation safety, push routing and
//! health checks.

mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use support::{bulk, s, Kind, Server, B, KINDS};
use typedis::{Client, ClientConfig, Error, Value};

async fn basic(kind: Kind, protocol: u8) {
    let server = Server::start(kind);
    let client = Client::connect(&format!("{}?protocol={protocol}", server.url()))
        .await
        .unwrap();
    let ok = client.cmd("SET").arg(s("k")).arg(s("v")).await.unwrap();
    assert_eq!(ok, Value::SimpleString("OK".into()));
    let v = client.cmd("GET").arg(s("k")).await.unwrap();
    assert_eq!(bulk(&v), Some(&b"v"[..]));
    assert_eq!(
        client.cmd("GET").arg(s("missing")).await.unwrap(),
        Value::Nil
    );
    assert_eq!(client.cmd("INCR").arg(s("n")).await.unwrap(), Value::Int(1));
    assert_eq!(client.cmd("INCR").arg(s("n")).await.unwrap(), Value::Int(2));

    // Binary-safe in both directions.
    let bin: Vec<u8> = (0..=255u8)
        .chain(b"\r\n$3\r\n*1\r\n".iter().copied())
        .collect();
    client.cmd("SET").arg(s("bin")).arg(B(&bin)).await.unwrap();
    let v = client.cmd("GET").arg(s("bin")).await.unwrap();
    assert_eq!(bulk(&v), Some(&bin[..]));

    // An error reply is an `Err(Server)`, and the connection stays usable.
    let err = client.cmd("INCR").arg(s("k")).await.unwrap_err();
    assert!(
        matches!(&err, Error::Server(e) if e.code() == "ERR"),
        "{err:?}"
    );
    let err = client
        .cmd("LPUSH")
        .arg(s("k"))
        .arg(s("x"))
        .await
        .unwrap_err();
    assert_eq!(err.server_kind(), Some(typedis::ServerErrorKind::WrongType));
    assert_eq!(client.cmd("INCR").arg(s("n")).await.unwrap(), Value::Int(3));

    // The protocol actually negotiated: HELLO's map in RESP3, an array in RESP2.
    let hello = client.cmd("HGETALL").arg(s("nohash")).await.unwrap();
    if protocol == 3 {
        assert_eq!(hello, Value::Map(vec![]));
    } else {
        assert_eq!(hello, Value::Array(vec![]));
    }
}

#[tokio::test]
async fn basic_commands_resp3() {
    for kind in KINDS {
        basic(kind, 3).await;
    }
}

#[tokio::test]
async fn basic_commands_resp2() {
    for kind in KINDS {
        basic(kind, 2).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_mib_values_do_not_deadlock() {
    for kind in KINDS {
        let server = Server::start(kind);
        let client = Client::connect(&server.url()).await.unwrap();
        let big: Vec<u8> = (0..20 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
        // Several big writes and reads in flight at once, plus small commands among them:
        // the reader must keep draining replies while the writer is blocked.
        let mut tasks = Vec::new();
        for i in 0..3 {
            let client = client.clone();
            let big = big.clone();
            tasks.push(tokio::spawn(async move {
                let key = format!("big{i}");
                client.cmd("SET").arg(s(&key)).arg(B(&big)).await.unwrap();
                let v = client.cmd("GET").arg(s(&key)).await.unwrap();
                assert!(
                    bulk(&v) == Some(&big[..]),
                    "20 MiB value came back different"
                );
                client.cmd("PING").await.unwrap();
            }));
        }
        let all = async {
            for t in tasks {
                t.await.unwrap();
            }
        };
        tokio::time::timeout(Duration::from_secs(60), all)
            .await
            .expect("large values deadlocked");
    }
}

/// Small deterministic PRNG (xorshift), so the test needs no extra crate.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Acceptance: 64 tasks x ~940 ops on one shared client, each task with its own key and
/// value, with random tiny timeouts and random drops of in-flight futures. Every reply
/// that does arrive must be the task's own value.
async fn cancellation(kind: Kind) {
    let server = Server::start(kind);
    let client = Client::connect(&server.url()).await.unwrap();
    let wrong = Arc::new(AtomicU64::new(0));
    let cancelled = Arc::new(AtomicU64::new(0));
    let completed = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for t in 0..64u64 {
        let client = client.clone();
        let (wrong, cancelled, completed) = (wrong.clone(), cancelled.clone(), completed.clone());
        tasks.push(tokio::spawn(async move {
            let key = format!("task:{t}");
            let value = format!("value-of-task-{t}-{}", "x".repeat(t as usize));
            client.cmd("SET").arg(s(&key)).arg(s(&value)).await.unwrap();
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (t + 1));
            for _ in 0..940 {
                let get = client.cmd("GET").arg(s(&key));
                let outcome = match rng.next() % 4 {
                    // Plain await.
                    0 => Some(get.await),
                    // A tiny timeout through tokio.
                    1 => {
                        let d = Duration::from_micros(rng.next() % 200);
                        tokio::time::timeout(d, get).await.ok()
                    }
                    // The client's own per-command timeout.
                    2 => {
                        let d = Duration::from_micros(rng.next() % 200);
                        match get.timeout(d).await {
                            Err(Error::Timeout { .. }) => None,
                            r => Some(r),
                        }
                    }
                    // Dropped when a short sleep wins the race.
                    _ => {
                        let d = Duration::from_micros(rng.next() % 300);
                        tokio::select! {
                            r = get => Some(r),
                            _ = tokio::time::sleep(d) => None,
                        }
                    }
                };
                match outcome {
                    None => {
                        cancelled.fetch_add(1, Ordering::Relaxed);
                    }
                    Some(r) => {
                        let v = r.expect("GET failed");
                        completed.fetch_add(1, Ordering::Relaxed);
                        if bulk(&v) != Some(value.as_bytes()) {
                            wrong.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let (wrong, cancelled, completed) = (
        wrong.load(Ordering::Relaxed),
        cancelled.load(Ordering::Relaxed),
        completed.load(Ordering::Relaxed),
    );
    eprintln!("{kind:?}: {completed} completed, {cancelled} cancelled, {wrong} wrong");
    assert_eq!(wrong, 0, "replies were delivered to the wrong caller");
    assert!(
        cancelled > 100,
        "too few cancellations ({cancelled}) to exercise the path"
    );
    assert!(completed > 1000, "too few completions ({completed})");
    assert_eq!(completed + cancelled, 64 * 940);
    // The connection is still in sync afterwards.
    client.cmd("SET").arg(s("after")).arg(s("1")).await.unwrap();
    assert_eq!(
        bulk(&client.cmd("GET").arg(s("after")).await.unwrap()),
        Some(&b"1"[..])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancelled_commands_never_shift_replies_redis() {
    cancellation(Kind::Redis).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancelled_commands_never_shift_replies_valkey() {
    cancellation(Kind::Valkey).await;
}

#[tokio::test]
async fn push_frames_do_not_reach_callers() {
    use typedis::commands::ClientTrackingStatus;
    use typedis::prelude::*;
    for kind in KINDS {
        let server = Server::start(kind);
        let client = Client::connect(&server.url()).await.unwrap();
        let mut pushes = client.push_messages();
        // Tracking is state of the connection it is enabled on, so not the shared
        // connection's: a dedicated connection tracks, and sends its invalidations to
        // the shared connection (REDIRECT), as RESP3 push frames among the replies.
        let shared_id: i64 = client.client_id().await.unwrap();
        let tracker = client.dedicated().await.unwrap();
        tracker
            .client_tracking(ClientTrackingStatus::On)
            .redirect(shared_id)
            .bcast()
            .await
            .unwrap();
        let other = Client::connect(&server.url()).await.unwrap();
        for i in 0..200 {
            let key = format!("tracked:{i}");
            // Every write of a key (BCAST) sends an invalidation to `client`.
            client.cmd("SET").arg(s(&key)).arg(s("a")).await.unwrap();
            let v = client.cmd("GET").arg(s(&key)).await.unwrap();
            assert_eq!(bulk(&v), Some(&b"a"[..]));
            other.cmd("SET").arg(s(&key)).arg(s("b")).await.unwrap();
            let v = client.cmd("GET").arg(s(&key)).await.unwrap();
            assert_eq!(
                bulk(&v),
                Some(&b"b"[..]),
                "reply order broken by a push frame"
            );
            assert_eq!(
                client.cmd("ECHO").arg(s(&key)).await.unwrap(),
                Value::Bulk(key.clone().into())
            );
        }
        let first = tokio::time::timeout(Duration::from_secs(2), pushes.recv())
            .await
            .expect("no push frame arrived")
            .unwrap();
        match first {
            Value::Push(items) => assert_eq!(bulk(&items[0]), Some(&b"invalidate"[..])),
            other => panic!("expected a push frame, got {other:?}"),
        }
    }
}

fn stat(info: &Value, name: &str) -> u64 {
    let text = match info {
        Value::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
        Value::Verbatim { text, .. } => String::from_utf8_lossy(text).into_owned(),
        other => panic!("INFO returned {other:?}"),
    };
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("cmdstat_{name}:calls=")))
        .map(|rest| rest.split(',').next().unwrap().parse().unwrap())
        .unwrap_or(0)
}

#[tokio::test]
async fn health_check_pings_after_idle_and_survives_a_killed_connection() {
    for kind in KINDS {
        let server = Server::start(kind);
        let config = ClientConfig::new(&server.url())
            .unwrap()
            .health_check_interval(Some(Duration::from_secs(1)));
        let client = Client::with_config(config).await.unwrap();
        let admin = Client::connect(&server.url()).await.unwrap();
        client.cmd("SET").arg(s("hc")).arg(s("1")).await.unwrap();
        let pings_before = stat(
            &admin.cmd("INFO").arg(s("commandstats")).await.unwrap(),
            "ping",
        );

        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(
            bulk(&client.cmd("GET").arg(s("hc")).await.unwrap()),
            Some(&b"1"[..])
        );
        let pings_after = stat(
            &admin.cmd("INFO").arg(s("commandstats")).await.unwrap(),
            "ping",
        );
        assert_eq!(
            pings_after,
            pings_before + 1,
            "an idle connection must be PINGed first"
        );

        // Busy connections are not pinged.
        for _ in 0..10 {
            client.cmd("GET").arg(s("hc")).await.unwrap();
        }
        let pings_busy = stat(
            &admin.cmd("INFO").arg(s("commandstats")).await.unwrap(),
            "ping",
        );
        assert_eq!(pings_busy, pings_after);

        // Kill the client's connection from the server side; after the idle period the
        // next command must still succeed (on a new connection).
        let id = client.cmd("CLIENT").arg(s("ID")).await.unwrap();
        let Value::Int(id) = id else {
            panic!("CLIENT ID: {id:?}")
        };
        tokio::time::sleep(Duration::from_millis(1500)).await;
        admin
            .cmd("CLIENT")
            .arg(s("KILL"))
            .arg(s("ID"))
            .arg(s(&id.to_string()))
            .await
            .unwrap();
        assert_eq!(
            bulk(&client.cmd("GET").arg(s("hc")).await.unwrap()),
            Some(&b"1"[..])
        );
        let new_id = client.cmd("CLIENT").arg(s("ID")).await.unwrap();
        assert_ne!(new_id, Value::Int(id), "expected a new connection");
    }
}

#[tokio::test]
async fn pool_connections_are_dedicated_and_reused() {
    for kind in KINDS {
        let server = Server::start(kind);
        let config = ClientConfig::new(&server.url()).unwrap().pool_max_size(2);
        let client = Client::with_config(config).await.unwrap();
        let shared_id = client.cmd("CLIENT").arg(s("ID")).await.unwrap();
        let mut id_args = typedis::Args::new();
        id_args.push_bytes(b"CLIENT");
        id_args.push_bytes(b"ID");

        let mut a = client.pool().get().await.unwrap();
        let a_id = a.send(&id_args).await.unwrap();
        assert_ne!(
            a_id, shared_id,
            "a dedicated connection is not the shared one"
        );

        // A blocking command on the dedicated connection does not block the client.
        let mut blpop = typedis::Args::new();
        for p in ["BLPOP", "queue", "5"] {
            blpop.push_bytes(p.as_bytes());
        }
        let waiter = tokio::spawn(async move {
            let v = a.send(&blpop).await.unwrap();
            (a, v)
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        client
            .cmd("RPUSH")
            .arg(s("queue"))
            .arg(s("job"))
            .await
            .unwrap();
        let (a, v) = tokio::time::timeout(Duration::from_secs(3), waiter)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            v,
            Value::Array(vec![Value::Bulk("queue".into()), Value::Bulk("job".into())])
        );
        drop(a);
        assert_eq!(client.pool().idle_count(), 1);

        // Reused: same server-side connection.
        let mut b = client.pool().get().await.unwrap();
        assert_eq!(b.send(&id_args).await.unwrap(), a_id);
        // Server errors keep the connection reusable; pipelined sends keep order.
        let mut bad = typedis::Args::new();
        bad.push_bytes(b"NOSUCHCOMMAND");
        assert!(matches!(b.send(&bad).await, Err(Error::Server(_))));
        let many = b.send_many(&[bad.clone(), id_args.clone()]).await.unwrap();
        assert!(matches!(many[0], Value::Error(_)));
        assert_eq!(many[1], a_id);
        drop(b);
        assert_eq!(client.pool().idle_count(), 1);

        // A send cut short by cancellation leaves the connection in an unknown state: it
        // is not returned.
        let mut c = client.pool().get().await.unwrap();
        let mut block = typedis::Args::new();
        for p in ["BLPOP", "nothing", "0"] {
            block.push_bytes(p.as_bytes());
        }
        assert!(
            tokio::time::timeout(Duration::from_millis(50), c.send(&block))
                .await
                .is_err()
        );
        drop(c);
        assert_eq!(client.pool().idle_count(), 0);

        // A pooled connection the server closed while idle is not handed out.
        let mut d = client.pool().get().await.unwrap();
        let d_id = d.send(&id_args).await.unwrap();
        drop(d);
        assert_eq!(client.pool().idle_count(), 1);
        let Value::Int(n) = d_id else {
            panic!("{d_id:?}")
        };
        client
            .cmd("CLIENT")
            .arg(s("KILL"))
            .arg(s("ID"))
            .arg(s(&n.to_string()))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut e = client.pool().get().await.unwrap();
        let e_id = e.send(&id_args).await.unwrap();
        assert_ne!(e_id, d_id, "a killed connection was reused");
        drop(e);

        // max_size bounds the connections out at once.
        let _x = client.pool().get().await.unwrap();
        let _y = client.pool().get().await.unwrap();
        assert!(
            tokio::time::timeout(Duration::from_millis(100), client.pool().get())
                .await
                .is_err()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_are_contiguous_on_the_shared_connection() {
    use typedis::prelude::*;
    let server = Server::start(Kind::Redis);
    let client = Client::connect(&server.url()).await.unwrap();
    let args = |parts: &[&str]| {
        let mut a = typedis::Args::new();
        for p in parts {
            a.push_bytes(p.as_bytes());
        }
        a
    };
    // A raw MULTI … EXEC batch is refused (a batch without its EXEC would leave the
    // shared connection queuing everyone's commands); `transaction()` is the way.
    let err = client
        .send_batch(&[args(&["MULTI"]), args(&["INCR", "x"]), args(&["EXEC"])])
        .await
        .unwrap_err();
    assert!(err.is_shared_connection(), "{err}");
    let mut tasks = Vec::new();
    for t in 0..32 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let key = format!("ctr:{t}");
            for i in 1..=100i64 {
                if t % 2 == 0 {
                    // If any other caller's command landed inside MULTI … EXEC, it would
                    // be answered `QUEUED` and this EXEC would hold its reply.
                    let (n, v): (i64, Option<String>) = client
                        .transaction()
                        .incr(&key)
                        .then(client.get(&key).decode::<Option<String>>())
                        .execute()
                        .await
                        .unwrap();
                    assert_eq!((n, v), (i, Some(i.to_string())));
                } else {
                    let v = client.cmd("INCR").arg(s(&key)).await.unwrap();
                    assert_eq!(
                        v,
                        Value::Int(i),
                        "a single command was swallowed by a MULTI"
                    );
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

#[tokio::test]
async fn raw_commands_decode_into_rust_types() {
    for kind in KINDS {
        for protocol in [2, 3] {
            let server = Server::start(kind);
            let url = format!("{}?protocol={protocol}", server.url());
            let client = Client::connect(&url).await.unwrap();
            client.cmd("SET").arg("k").arg("hello").await.unwrap();
            let v: Option<String> = client.cmd("GET").arg("k").decode().await.unwrap();
            assert_eq!(v.as_deref(), Some("hello"));
            let none = client
                .cmd("GET")
                .arg("nope")
                .decode::<Option<String>>()
                .await
                .unwrap();
            assert_eq!(none, None);
            let n: i64 = client.cmd("INCR").arg("n").decode().await.unwrap();
            assert_eq!(n, 1);
            let n: i64 = client
                .cmd("INCRBY")
                .arg("n")
                .arg(41)
                .decode()
                .await
                .unwrap();
            assert_eq!(n, 42);
            let raw: Value = client.cmd("OBJECT").arg("ENCODING").arg("k").await.unwrap();
            assert!(
                matches!(raw, Value::Bulk(_) | Value::SimpleString(_)),
                "{raw:?}"
            );
            // A reply of the wrong shape is a decode error, and the connection stays in
            // sync.
            let err = client
                .cmd("GET")
                .arg("k")
                .decode::<i64>()
                .await
                .unwrap_err();
            assert!(matches!(err, Error::Decode { .. }), "{err:?}");
            let n: i64 = client.cmd("INCR").arg("n").decode().await.unwrap();
            assert_eq!(n, 43);
            // Arguments through the std `ToArg` impls, several at once.
            client
                .cmd("RPUSH")
                .arg("l")
                .args(["a", "b", "c"])
                .await
                .unwrap();
            let l: Vec<String> = client
                .cmd("LRANGE")
                .arg("l")
                .arg(0)
                .arg(-1)
                .decode()
                .await
                .unwrap();
            assert_eq!(l, ["a", "b", "c"]);
            // An empty command is refused without touching the connection.
            let err = client.send(typedis::Args::new()).await.unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::Usage {
                        kind: typedis::UsageKind::EmptyCommand,
                        ..
                    }
                ),
                "{err:?}"
            );
            let pong: String = client.cmd("PING").decode().await.unwrap();
            assert_eq!(pong, "PONG");
        }
    }
}

#[tokio::test]
async fn an_argument_that_cannot_be_encoded_fails_the_command_unsent() {
    let server = Server::start(Kind::Redis);
    let client = Client::connect(&server.url()).await.unwrap();
    let mut bad = typedis::Args::new();
    bad.push_bytes(b"SET");
    bad.push_bytes(b"never");
    bad.fail(Error::usage(
        typedis::UsageKind::InvalidArgument,
        "cannot encode",
    ));
    bad.push_bytes(b"x");
    let err = client.send(bad.clone()).await.unwrap_err();
    assert!(
        matches!(&err, Error::Usage { message, .. } if message == "cannot encode"),
        "{err:?}"
    );
    let err = client.send_batch(&[bad.clone()]).await.unwrap_err();
    assert!(
        matches!(&err, Error::Usage { message, .. } if message == "cannot encode"),
        "{err:?}"
    );
    let conn = client.dedicated().await.unwrap();
    assert!(conn.send(&bad).await.is_err());
    let mut pooled = client.pool().get().await.unwrap();
    assert!(pooled.send(&bad).await.is_err());
    let exists: i64 = client.cmd("EXISTS").arg("never").decode().await.unwrap();
    assert_eq!(exists, 0, "a command with an encoding error was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_commands_go_to_dedicated_connections() {
    use typedis::prelude::*;
    for kind in KINDS {
        let server = Server::start(kind);
        let client = Client::connect(&server.url()).await.unwrap();
        // Two generated BLPOPs wait at once while the shared connection stays free.
        let waiters: Vec<_> = (0..2)
            .map(|i| {
                let client = client.clone();
                tokio::spawn(async move {
                    let key = format!("jobs{i}");
                    let v: Option<(String, String)> =
                        client.blpop([key.as_str()], 5.0).decode().await.unwrap();
                    v
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let started = std::time::Instant::now();
        for _ in 0..50 {
            client.cmd("PING").await.unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "the shared connection was blocked by BLPOP"
        );
        client.cmd("RPUSH").arg("jobs0").arg("a").await.unwrap();
        client.cmd("RPUSH").arg("jobs1").arg("b").await.unwrap();
        let mut got = Vec::new();
        for w in waiters {
            got.push(w.await.unwrap());
        }
        assert_eq!(
            got,
            [
                Some(("jobs0".to_owned(), "a".to_owned())),
                Some(("jobs1".to_owned(), "b".to_owned()))
            ]
        );
        // Both dedicated connections went back to the pool.
        assert_eq!(client.pool().idle_count(), 2);
    }
}
