//! A hostile or broken peer, played by a deliberate fake server: attributes in front of
//! push frames, bytes left over after the handshake, replies nobody asked for, lines that
//! never end, replies over the configured limits, and a 64-task mix of all of it. In every
//! case a reply reaches exactly the caller that sent its command, or the caller gets an
//! error; nothing hangs.

mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use support::fake::{
    arg, assert_echo, bulk, get, hello3, name, no_hello, unfinished_frame, Fake, Step,
};
use typedis::pubsub::MessageKind;
use typedis::resp::Limits;
use typedis::{Client, ClientConfig, Error, Value};

/// An attribute in front of a push frame (RESP3 allows one before any frame).
const ATTRIBUTED_PUSH: &[u8] = b"|1\r\n+a\r\n+b\r\n>1\r\n+x\r\n";

/// `ECHO x` answered with an attributed push, then `x`; `ATTR x` with `x` carrying an
/// attribute of its own.
fn echo_behind_attributed_pushes(_: usize, argv: &[bytes::Bytes]) -> Vec<Step> {
    match name(argv).as_str() {
        "HELLO" => vec![Step::Send(hello3())],
        "ECHO" => vec![Step::Send([ATTRIBUTED_PUSH, &bulk(&arg(argv, 1))].concat())],
        "ATTR" => vec![Step::Send(
            [&b"|1\r\n+ttl\r\n:3\r\n"[..], &bulk(&arg(argv, 1))].concat(),
        )],
        _ => vec![Step::Send(b"-ERR unknown\r\n".to_vec())],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attributed_push_never_takes_a_callers_reply() {
    let fake = Fake::start(echo_behind_attributed_pushes).await;
    let client = Client::connect(&fake.url()).await.unwrap();
    let mut pushes = client.push_messages();
    // Pipelined callers: a push taken for a reply would shift every reply behind it.
    let mut tasks = Vec::new();
    for t in 0..32 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..20 {
                let me = format!("{t}:{i}");
                let v = client.cmd("ECHO").arg(me.as_str()).await.unwrap();
                assert_eq!(v, Value::Bulk(me.into()), "task {t} got another reply");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    // The pushes went to the push receivers, attributes and all.
    let push = pushes.recv().await.unwrap();
    assert!(push.is_push(), "{push:?}");
    assert!(matches!(push, Value::Attribute { .. }), "{push:?}");
    // Attributes attached to a reply still reach that reply's caller.
    let v = client.cmd("ATTR").arg("mine").await.unwrap();
    match v {
        Value::Attribute { attributes, value } => {
            assert_eq!(attributes.len(), 1);
            assert_eq!(*value, Value::Bulk("mine".into()));
        }
        other => panic!("the attribute was lost: {other:?}"),
    }
    // A typed call sees the value under them.
    let s: String = client.cmd("ATTR").arg("typed").decode().await.unwrap();
    assert_eq!(s, "typed");
}

#[tokio::test]
async fn dedicated_connections_skip_attributed_pushes() {
    let fake = Fake::start(echo_behind_attributed_pushes).await;
    let client = Client::connect(&fake.url()).await.unwrap();
    let echo = |me: &str| {
        let mut args = typedis::Args::new();
        args.push_bytes(b"ECHO");
        args.push_bytes(me.as_bytes());
        args
    };
    // A connection owned by one caller, and a raw one from the pool.
    let owned = client.dedicated().await.unwrap();
    let mut pooled = client.pool().get().await.unwrap();
    for i in 0..10 {
        let me = format!("d{i}");
        assert_eq!(
            owned.send(&echo(&me)).await.unwrap(),
            Value::Bulk(me.clone().into())
        );
        assert_eq!(
            pooled.send(&echo(&me)).await.unwrap(),
            Value::Bulk(me.clone().into())
        );
        // Two commands in one write: both replies, in order, pushes skipped.
        let two = [echo(&me), echo(&me)];
        let want = vec![Value::Bulk(me.into()); 2];
        assert_eq!(owned.send_many(&two).await.unwrap(), want);
        assert_eq!(pooled.send_many(&two).await.unwrap(), want);
    }
    // The pushes are there for whoever reads frames on the owned connection.
    let frame = owned.next_frame().await.unwrap();
    assert!(frame.is_push(), "{frame:?}");
}

#[tokio::test]
async fn an_attributed_push_is_not_taken_for_the_hello_reply() {
    // The push arrives first, in its own write and in the same write as the reply.
    for split in [true, false] {
        let fake = Fake::start(move |_, argv| match name(argv).as_str() {
            "HELLO" if split => vec![
                Step::Send(ATTRIBUTED_PUSH.to_vec()),
                Step::Sleep(Duration::from_millis(20)),
                Step::Send(hello3()),
            ],
            "HELLO" => vec![Step::Send([ATTRIBUTED_PUSH, &hello3()].concat())],
            _ => vec![Step::Send(bulk(&arg(argv, 1)))],
        })
        .await;
        let client = Client::connect(&fake.url()).await.unwrap();
        // Had the push been taken for the HELLO reply, the HELLO map would be this reply.
        assert_echo(&client, "first").await;
        assert_echo(&client, "second").await;
    }
}

#[tokio::test]
async fn subscriptions_receive_attributed_messages() {
    let fake = Fake::start(|_, argv| match name(argv).as_str() {
        "HELLO" => vec![Step::Send(hello3())],
        "SUBSCRIBE" => {
            let ch = arg(argv, 1);
            let confirm = [&b">3\r\n"[..], &bulk("subscribe"), &bulk(&ch), b":1\r\n"].concat();
            let message = [
                &b"|1\r\n+key-popularity\r\n:1\r\n>3\r\n"[..],
                &bulk("message"),
                &bulk(&ch),
                &bulk("payload"),
            ]
            .concat();
            vec![
                Step::Send(confirm),
                Step::Sleep(Duration::from_millis(20)),
                Step::Send(message),
            ]
        }
        _ => vec![Step::Send(b"+OK\r\n".to_vec())],
    })
    .await;
    let client = Client::connect(&fake.url()).await.unwrap();
    let mut sub = client.subscribe(["news"]).await.unwrap();
    sub.ignore_subscribe_messages(true);
    let m = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .expect("the attributed message was dropped")
        .unwrap();
    assert_eq!(m.kind(), MessageKind::Message);
    assert_eq!(&m.channel()[..], b"news");
    assert_eq!(&m.payload()[..], b"payload");
}

/// A fake whose handshake replies (HELLO in RESP3, SELECT in RESP2) are followed, in the
/// same write, by `extra`.
async fn leftover_after(extra: &'static [u8], resp3: bool) -> Result<Client, Error> {
    let fake = Fake::start(move |_, argv| match name(argv).as_str() {
        "HELLO" if resp3 => vec![Step::Send([&hello3()[..], extra].concat())],
        "HELLO" => vec![Step::Send(no_hello())],
        "SELECT" => vec![Step::Send([&b"+OK\r\n"[..], extra].concat())],
        _ => vec![Step::Send(bulk(&arg(argv, 1)))],
    })
    .await;
    let client = Client::connect(&format!("{}/1", fake.url())).await?;
    let v = client.cmd("ECHO").arg("first").await?;
    assert_eq!(
        v,
        Value::Bulk("first".into()),
        "the leftover became a reply"
    );
    Ok(client)
}

#[tokio::test]
async fn a_frame_left_over_after_the_handshake_refuses_the_connection() {
    for resp3 in [true, false] {
        for extra in [
            &b"$5\r\nEXTRA\r\n"[..],
            b"+OK\r\n",
            b":1\r\n",
            b"$5\r\nEX",
            b"|1\r\n+a\r\n+b\r\n$5\r\nEXTRA\r\n",
        ] {
            match leftover_after(extra, resp3).await {
                Err(Error::Protocol(m)) => {
                    assert!(m.contains("no command asked for"), "{m}");
                }
                other => panic!(
                    "resp3 {resp3}, {:?}: expected a protocol error, got {other:?}",
                    String::from_utf8_lossy(extra)
                ),
            }
        }
    }
    // Push frames are allowed there: they are routed like any push.
    leftover_after(b">2\r\n+invalidate\r\n*0\r\n", true)
        .await
        .unwrap();
    leftover_after(ATTRIBUTED_PUSH, true).await.unwrap();
}

#[tokio::test]
async fn a_connection_refused_for_leftover_bytes_is_retried_like_any_failed_connect() {
    // Connection 0 is fine until `BYE`; connection 1 leaves a frame after HELLO;
    // connections from 2 on are fine.
    let fake = Fake::start(|conn, argv| match name(argv).as_str() {
        "HELLO" if conn == 1 => vec![Step::Send([hello3(), bulk("EXTRA")].concat())],
        "HELLO" => vec![Step::Send(hello3())],
        "BYE" => vec![Step::Close],
        _ => vec![Step::Send(bulk(&arg(argv, 1)))],
    })
    .await;
    let client = Client::connect(&fake.url()).await.unwrap();
    assert_echo(&client, "a").await;
    let e = client.cmd("BYE").await.unwrap_err();
    assert!(e.is_connection_error(), "{e:?}");
    let e = client.cmd("ECHO").arg("b").await.unwrap_err();
    assert!(matches!(e, Error::Protocol(_)), "{e:?}");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match client.cmd("ECHO").arg("c").await {
            Ok(v) => {
                assert_eq!(v, Value::Bulk("c".into()));
                break;
            }
            Err(e) => {
                assert!(matches!(e, Error::Protocol(_)), "{e:?}");
                assert!(Instant::now() < deadline, "no reconnect: {e:?}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    assert_eq!(fake.connections(), 3);
}

#[tokio::test]
async fn an_extra_reply_with_nothing_in_flight_drops_the_connection() {
    for resp3 in [true, false] {
        // Each ECHO is answered, then, a moment later, followed by a reply nobody asked
        // for (on the first connection only).
        let fake = Fake::start(move |conn, argv| match name(argv).as_str() {
            "HELLO" if resp3 => vec![Step::Send(hello3())],
            "HELLO" => vec![Step::Send(no_hello())],
            _ if conn == 0 => vec![
                Step::Send(bulk(&arg(argv, 1))),
                Step::Sleep(Duration::from_millis(50)),
                Step::Send(b"+EXTRA\r\n".to_vec()),
            ],
            _ => vec![Step::Send(bulk(&arg(argv, 1)))],
        })
        .await;
        let client = Client::connect(&fake.url()).await.unwrap();
        assert_echo(&client, "a").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        // The extra reply came when no command was waiting: the connection was dropped,
        // so this command goes to a new one, and gets its own reply, not "EXTRA".
        assert_echo(&client, "b").await;
        assert_eq!(
            fake.connections(),
            2,
            "resp3 {resp3}: the connection was kept"
        );
    }
}

#[tokio::test]
async fn an_unterminated_line_costs_linear_time() {
    // 100 MiB of a line that never ends (then EOF), against the same bytes as the payload
    // of a bulk string: searching the whole buffer again on each read would make the line
    // take minutes; each byte searched once, it takes a small multiple of the bulk.
    const TOTAL: usize = 100 << 20;
    let mut took = Vec::new();
    for head in [&b"$209715200\r\n"[..], b"+", b"-ERR ", b"*1\r\n+"] {
        let (_fake, client) = unfinished_frame(head.to_vec(), vec![b'a'; 64 << 10], TOTAL).await;
        let started = Instant::now();
        let r = get(&client).await;
        let elapsed = started.elapsed();
        assert!(
            matches!(r, Err(Error::ConnectionClosed(_))),
            "{:?}: {r:?}",
            String::from_utf8_lossy(head)
        );
        eprintln!(
            "{:?}: 100 MiB in {elapsed:?}",
            String::from_utf8_lossy(head)
        );
        took.push(elapsed);
    }
    let bulk = took[0];
    for line in &took[1..] {
        assert!(
            *line < bulk * 20 + Duration::from_secs(3),
            "a line took {line:?}, the bulk string {bulk:?}"
        );
    }
}

#[tokio::test]
async fn replies_over_the_configured_limits_fail_with_a_protocol_error() {
    let fake = Fake::start(|_, argv| match name(argv).as_str() {
        "HELLO" => vec![Step::Send(hello3())],
        "BIG" => vec![Step::Send(bulk(&"x".repeat(2 << 20)))],
        "MANY" => {
            let mut out = b"*100000\r\n".to_vec();
            out.extend(b":1\r\n".repeat(100_000));
            vec![Step::Send(out)]
        }
        "LINE" => vec![Step::Send(
            format!("+{}\r\n", "y".repeat(10_000)).into_bytes(),
        )],
        _ => vec![Step::Send(bulk(&arg(argv, 1)))],
    })
    .await;
    // From the URL.
    let client = Client::connect(&format!(
        "{}?max_bulk_len=1mb&max_aggregate_len=1000&max_line_len=4kb",
        fake.url()
    ))
    .await
    .unwrap();
    for (cmd, limit) in [
        ("BIG", "max_bulk_len"),
        ("MANY", "max_aggregate_len"),
        ("LINE", "max_line_len"),
    ] {
        match client.cmd(cmd).await {
            Err(Error::Protocol(m)) => assert!(m.contains(limit), "{cmd}: {m}"),
            other => panic!("{cmd}: {other:?}"),
        }
        // The connection was dropped; the next command reconnects and works.
        assert_echo(&client, "ok").await;
    }
    // From the configuration.
    let mut limits = Limits::default();
    limits.max_frame_bytes = 100_000;
    let config = ClientConfig::new(&fake.url()).unwrap().limits(limits);
    let client = Client::with_config(config).await.unwrap();
    for cmd in ["BIG", "MANY"] {
        match client.cmd(cmd).await {
            Err(Error::Protocol(m)) => assert!(m.contains("max_frame_bytes"), "{cmd}: {m}"),
            other => panic!("{cmd}: {other:?}"),
        }
    }
    assert_echo(&client, "ok").await;
    // Within the defaults, all of them are fine.
    let client = Client::connect(&fake.url()).await.unwrap();
    assert!(matches!(client.cmd("BIG").await.unwrap(), Value::Bulk(b) if b.len() == 2 << 20));
    assert!(matches!(client.cmd("MANY").await.unwrap(), Value::Array(a) if a.len() == 100_000));
}

/// Which command a caller of the mix sends for its `i`-th call.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Echo,
    Attr,
    PushedEcho,
    Split,
    Slow,
    Err,
    Nested,
    Bad,
}

fn kind_of(t: usize, i: usize, resp3: bool) -> Kind {
    let k = (t * 7 + i * 13) % 23;
    let kind = match k {
        0..=5 => Kind::Echo,
        6..=8 => Kind::Attr,
        9..=11 => Kind::PushedEcho,
        12..=14 => Kind::Split,
        15..=17 => Kind::Slow,
        18..=19 => Kind::Err,
        _ => Kind::Nested,
    };
    // Now and then a protocol violation: the connection is dropped under everyone.
    if (t * 31 + i) % 211 == 7 {
        return Kind::Bad;
    }
    match kind {
        Kind::Attr | Kind::PushedEcho if !resp3 => Kind::Echo,
        k => k,
    }
}

/// The fake's answer to each kind. Pushes and attributes only in RESP3.
fn mix_server(resp3: bool) -> impl Fn(usize, &[bytes::Bytes]) -> Vec<Step> + Send + Sync {
    move |_, argv| {
        let tag = arg(argv, 1);
        let b = bulk(&tag);
        let unrelated_push = [&b">2\r\n"[..], &bulk("invalidate"), &bulk("other")].concat();
        match name(argv).as_str() {
            "HELLO" if resp3 => vec![Step::Send(hello3())],
            "HELLO" => vec![Step::Send(no_hello())],
            "ATTR" => vec![Step::Send([&b"|1\r\n+k\r\n+v\r\n"[..], &b].concat())],
            "PUSHED" => vec![Step::Send(
                [
                    ATTRIBUTED_PUSH,
                    &unrelated_push,
                    b"|1\r\n+a\r\n:1\r\n",
                    ATTRIBUTED_PUSH,
                    &b,
                ]
                .concat(),
            )],
            "SPLIT" => vec![Step::Trickle([&b"*2\r\n"[..], &b, b":7\r\n"].concat())],
            "SLOW" => vec![Step::Sleep(Duration::from_millis(15)), Step::Send(b)],
            "ERR" => vec![Step::Send(format!("-ERR about {tag}\r\n").into_bytes())],
            "NESTED" if resp3 => vec![Step::Send(
                [&b"*2\r\n*1\r\n"[..], &b, b"%1\r\n+k\r\n", &b].concat(),
            )],
            "NESTED" => vec![Step::Send(
                [&b"*2\r\n*1\r\n"[..], &b, b"*2\r\n+k\r\n", &b].concat(),
            )],
            "BAD" => vec![Step::Send(b"?not resp\r\n".to_vec())],
            _ if resp3 && tag.len() % 3 == 1 => {
                vec![Step::Send([&unrelated_push[..], &b].concat())]
            }
            _ => vec![Step::Send(b)],
        }
    }
}

/// Every string in `v` that looks like a tag of the mix (`t…:…`).
fn tags_in(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Bulk(b) | Value::SimpleString(b) => {
            let s = String::from_utf8_lossy(b);
            if s.starts_with('t') && s.contains(':') {
                out.push(s.into_owned());
            }
        }
        Value::Array(items) | Value::Set(items) | Value::Push(items) => {
            items.iter().for_each(|i| tags_in(i, out))
        }
        Value::Map(pairs) => pairs.iter().for_each(|(k, v)| {
            tags_in(k, out);
            tags_in(v, out);
        }),
        Value::Attribute { attributes, value } => {
            attributes.iter().for_each(|(k, v)| {
                tags_in(k, out);
                tags_in(v, out);
            });
            tags_in(value, out);
        }
        _ => {}
    }
}

async fn mix(resp3: bool) {
    let fake = Fake::start(mix_server(resp3)).await;
    let client = Client::connect(&fake.url()).await.unwrap();
    let counts: Arc<[AtomicU64; 4]> = Arc::new(Default::default()); // ok, timeout, dropped, misrouted
    let mut tasks = Vec::new();
    for t in 0..64 {
        let client = client.clone();
        let counts = counts.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..60 {
                let tag = format!("t{t}:{i}");
                let kind = kind_of(t, i, resp3);
                let verb = match kind {
                    Kind::Echo => "ECHO",
                    Kind::Attr => "ATTR",
                    Kind::PushedEcho => "PUSHED",
                    Kind::Split => "SPLIT",
                    Kind::Slow => "SLOW",
                    Kind::Err => "ERR",
                    Kind::Nested => "NESTED",
                    Kind::Bad => "BAD",
                };
                // Some callers give up early: their replies must be dropped, not shifted.
                let timeout = if i % 5 == 0 {
                    Duration::from_millis(10)
                } else {
                    Duration::from_secs(10)
                };
                let r = client.cmd(verb).arg(tag.as_str()).timeout(timeout).await;
                let slot = match r {
                    Ok(v) => {
                        let mut seen = Vec::new();
                        tags_in(&v, &mut seen);
                        if !seen.is_empty() && seen.iter().all(|s| *s == tag) {
                            0
                        } else {
                            eprintln!("{tag} ({kind:?}) got {v:?}");
                            3
                        }
                    }
                    Err(Error::Server(e)) if e.message().contains(&tag) && kind == Kind::Err => 0,
                    Err(Error::Timeout { .. }) if timeout < Duration::from_secs(1) => 1,
                    Err(e) if e.is_connection_error() || matches!(e, Error::Protocol(_)) => 2,
                    Err(e) => {
                        eprintln!("{tag} ({kind:?}) failed with {e:?}");
                        3
                    }
                };
                counts[slot].fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let deadline = Duration::from_secs(120);
    for t in tasks {
        tokio::time::timeout(deadline, t)
            .await
            .expect("a caller hung")
            .unwrap();
    }
    let [ok, timeout, dropped, wrong] = [0, 1, 2, 3].map(|i| counts[i].load(Ordering::Relaxed));
    eprintln!(
        "resp3 {resp3}: {ok} own replies, {timeout} timeouts, {dropped} dropped with a connection, {wrong} wrong, {} connections",
        fake.connections()
    );
    assert_eq!(wrong, 0, "replies reached the wrong caller");
    assert!(ok > 64 * 60 / 3, "too few replies: {ok}");
    assert!(
        dropped > 0 && fake.connections() > 1,
        "no protocol violation hit the mix"
    );
    // And the client is fine afterwards.
    assert_echo(&client, "t-end:0").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_64_task_mix_of_normal_and_hostile_replies_misroutes_nothing_resp3() {
    mix(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_64_task_mix_of_normal_and_hostile_replies_misroutes_nothing_resp2() {
    mix(false).await;
}
