//! Fake servers (plain tokio listeners) for what a real server will not do on demand:
//! hostile bytes, late replies, counted writes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::cells::KEEP_CELLS;
use super::link::{backoff, MAX_BACKOFF};
use super::*;
use crate::client::Client;

type Handler = Arc<dyn Fn(usize, &[Bytes]) -> (Duration, Vec<u8>) + Send + Sync>;

/// Serves connections, decoding each command and answering with `handler(conn, argv)`
/// after the returned delay. HELLO gets an error (so the client falls back to RESP2)
/// unless the handler answers it.
async fn fake(handler: Handler) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let conns = Arc::new(AtomicUsize::new(0));
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let n = conns.fetch_add(1, Ordering::SeqCst);
            let handler = handler.clone();
            tokio::spawn(async move {
                let mut buf = BytesMut::new();
                let mut dec = Decoder::new(Default::default());
                loop {
                    while let Ok(Some(Value::Array(items))) = dec.decode(&mut buf) {
                        let argv: Vec<Bytes> = items
                            .into_iter()
                            .map(|v| match v {
                                Value::Bulk(b) => b,
                                _ => Bytes::new(),
                            })
                            .collect();
                        let (delay, reply) = handler(n, &argv);
                        if !delay.is_zero() {
                            tokio::time::sleep(delay).await;
                        }
                        if sock.write_all(&reply).await.is_err() {
                            return;
                        }
                    }
                    match sock.read_buf(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                }
            });
        }
    });
    format!("redis://{addr}")
}

fn hello_or(reply: &'static [u8]) -> Handler {
    Arc::new(move |_, argv| {
        if argv.first().map(|a| &a[..]) == Some(b"HELLO") {
            (Duration::ZERO, b"-ERR unknown command 'HELLO'\r\n".to_vec())
        } else {
            (Duration::ZERO, reply.to_vec())
        }
    })
}

struct B(&'static [u8]);
impl crate::value::ToArg for B {
    fn write_arg(&self, out: &mut Args) {
        out.push_bytes(self.0);
    }
}

fn cmd(parts: &[&str]) -> Args {
    let mut a = Args::new();
    for p in parts {
        a.push_bytes(p.as_bytes());
    }
    a
}

#[tokio::test]
async fn hostile_replies_are_protocol_errors_not_panics_or_hangs() {
    let nested: &'static [u8] = "*1\r\n".repeat(10_000).leak().as_bytes();
    let cases: [(&str, &'static [u8]); 5] = [
        ("bad type byte", b"?what\r\n"),
        ("negative bulk length", b"$-5\r\nhello\r\n"),
        ("10 GiB bulk announcement", b"$10737418240\r\nabc"),
        ("negative aggregate length", b"*-7\r\n"),
        ("10,000-deep nesting", nested),
    ];
    for (name, bytes) in cases {
        let url = fake(hello_or(bytes)).await;
        let client = Client::connect(&url).await.unwrap();
        for attempt in 0..2 {
            let started = Instant::now();
            let r = tokio::time::timeout(Duration::from_secs(2), client.send(cmd(&["GET", "k"])))
                .await
                .unwrap_or_else(|_| panic!("{name}: the client hung"));
            assert!(
                matches!(r, Err(Error::Protocol(_))),
                "{name} (attempt {attempt}): expected a protocol error, got {r:?}"
            );
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "{name}: too slow"
            );
        }
    }
}

/// Resident memory of this process, from /proc (Linux).
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

#[tokio::test]
async fn huge_announcements_do_not_allocate() {
    // Within the limits but never completed: the client must wait (here: time out)
    // without reserving what the header announces.
    let cases: [(&str, &'static [u8]); 3] = [
        ("4-billion-element array", b"*4294967295\r\n:1\r\n"),
        ("500 MiB bulk", b"$524288000\r\nabc"),
        ("4-billion-entry map", b"%4294967295\r\n"),
    ];
    for (name, bytes) in cases {
        let url = fake(hello_or(bytes)).await;
        let client = Client::connect(&url).await.unwrap();
        let before = rss_bytes();
        let r = client
            .send(cmd(&["GET", "k"]))
            .timeout(Duration::from_millis(300))
            .await;
        assert!(matches!(r, Err(Error::Timeout { .. })), "{name}: {r:?}");
        // The process's RSS: other tests run in it at the same time, so the bound is
        // loose, but far below what any of the announcements would take.
        let grown = rss_bytes().saturating_sub(before);
        assert!(grown < 256 << 20, "{name}: memory grew by {grown} bytes");
    }
}

#[tokio::test]
async fn a_late_reply_after_timeout_goes_nowhere() {
    // Replies come in order, the first one late: ECHO answers its argument.
    let url = fake(Arc::new(|_, argv| {
        let arg = argv.get(1).cloned().unwrap_or_default();
        let delay = if &arg[..] == b"slow" { 300 } else { 0 };
        let mut out = format!("${}\r\n", arg.len()).into_bytes();
        out.extend_from_slice(&arg);
        out.extend_from_slice(b"\r\n");
        if &argv[0][..] == b"HELLO" {
            return (Duration::ZERO, b"-ERR no\r\n".to_vec());
        }
        (Duration::from_millis(delay), out)
    }))
    .await;
    let client = Client::connect(&url).await.unwrap();
    let slow = tokio::time::timeout(
        Duration::from_millis(50),
        client.send(cmd(&["ECHO", "slow"])),
    )
    .await;
    assert!(slow.is_err(), "the slow command should have timed out");
    // Sent after the timeout, answered after the slow reply: must be its own.
    for i in 0..20 {
        let me = format!("fast{i}");
        let v = client.send(cmd(&["ECHO", &me])).await.unwrap();
        assert_eq!(v, Value::Bulk(me.into()));
    }
    // The same through the client's own per-command timeout.
    let r = client
        .cmd("ECHO")
        .arg(B(b"slow"))
        .timeout(Duration::from_millis(50))
        .await;
    assert!(matches!(r, Err(Error::Timeout { .. })), "{r:?}");
    let v = client.send(cmd(&["ECHO", "after"])).await.unwrap();
    assert_eq!(v, Value::Bulk("after".into()));
    // Both abandoned cells were freed when their replies came, and reused.
    assert_eq!(client.mux().cells_in_use().0, 0);
    assert!(
        client.mux().cells_in_use().1 <= 2,
        "{:?}",
        client.mux().cells_in_use()
    );
}

/// Sends `n` PINGs from `n` tasks at once (on the current-thread test runtime they
/// are all queued before the writer runs) and checks every reply.
async fn concurrent_pings(client: &Client, n: usize) {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.send(cmd(&["PING"])).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(
            t.await.unwrap().unwrap(),
            Value::SimpleString("PONG".into())
        );
    }
}

#[tokio::test]
async fn concurrent_commands_share_one_write() {
    let url = fake(hello_or(b"+PONG\r\n")).await;
    let client = Client::connect(&url).await.unwrap();
    let before = client.mux().writes.load(Ordering::Relaxed);
    concurrent_pings(&client, 200).await;
    let writes = client.mux().writes.load(Ordering::Relaxed) - before;
    assert!(writes <= 2, "200 concurrent commands took {writes} writes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_connection_is_written_by_its_caller_a_busy_one_by_the_writer() {
    let url = fake(hello_or(b"+PONG\r\n")).await;
    let client = Client::connect(&url).await.unwrap();
    let (writes, through) = (&client.mux().writes, &client.mux().writes_through);
    // One command at a time: each is written by its caller, once.
    let (w0, t0) = (
        writes.load(Ordering::Relaxed),
        through.load(Ordering::Relaxed),
    );
    for _ in 0..50 {
        let v = client.send(cmd(&["PING"])).await.unwrap();
        assert_eq!(v, Value::SimpleString("PONG".into()));
    }
    assert_eq!(writes.load(Ordering::Relaxed) - w0, 50);
    assert_eq!(through.load(Ordering::Relaxed) - t0, 50);
    // A batch on an idle connection too.
    let batch = [cmd(&["PING"]), cmd(&["PING"]), cmd(&["PING"])];
    assert_eq!(client.send_batch(&batch).await.unwrap().len(), 3);
    assert_eq!(through.load(Ordering::Relaxed) - t0, 51);
    // Tasks that are woken together send again together: they share writes (the
    // first command of all may go alone), so far fewer writes than commands.
    let (w1, t1) = (
        writes.load(Ordering::Relaxed),
        through.load(Ordering::Relaxed),
    );
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move {
                for _ in 0..20 {
                    let v = c.send(cmd(&["PING"])).await.unwrap();
                    assert_eq!(v, Value::SimpleString("PONG".into()));
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let (w, t) = (
        writes.load(Ordering::Relaxed) - w1,
        through.load(Ordering::Relaxed) - t1,
    );
    // Half is the bound: without sharing there would be one write per command, and a
    // loaded machine (other tests, other processes) lets fewer tasks meet in a write.
    assert!(
        w < 32 * 20 / 2,
        "{w} writes for 640 commands, {t} by callers"
    );
    // Every reply was collected: the next command alone is written by its caller.
    client.send(cmd(&["PING"])).await.unwrap();
    assert_eq!(through.load(Ordering::Relaxed) - t1, t + 1);
}

#[tokio::test]
async fn a_burst_of_commands_does_not_pin_its_reply_cells() {
    let url = fake(hello_or(b"+PONG\r\n")).await;
    let client = Client::connect(&url).await.unwrap();
    concurrent_pings(&client, KEEP_CELLS + 1000).await;
    // More cells than are kept: the table was dropped when the last one was freed.
    assert_eq!(client.mux().cells_in_use(), (0, 0));
    let v = client.send(cmd(&["PING"])).await.unwrap();
    assert_eq!(v, Value::SimpleString("PONG".into()));
    assert_eq!(client.mux().cells_in_use(), (0, 1));
}

#[tokio::test]
async fn a_dropped_connection_fails_waiters_and_the_next_command_reconnects() {
    // Connection 0 never answers; later connections do.
    let url = fake(Arc::new(|conn, argv| {
        if &argv[0][..] == b"HELLO" {
            return (Duration::ZERO, b"-ERR no\r\n".to_vec());
        }
        if conn == 0 {
            (Duration::from_millis(100), Vec::new())
        } else {
            (Duration::ZERO, b"+fresh\r\n".to_vec())
        }
    }))
    .await;
    let client = Client::connect(&url).await.unwrap();
    let gen = client.mux().generation();
    let waiting = tokio::time::timeout(Duration::from_millis(300), client.send(cmd(&["GET", "a"])));
    assert!(waiting.await.is_err());
    // Kill the connection from our side by failing its generation.
    client
        .mux()
        .fail(gen.unwrap(), Error::ConnectionClosed("test".into()));
    let v = client.send(cmd(&["GET", "b"])).await.unwrap();
    assert_eq!(v, Value::SimpleString("fresh".into()));
    assert_ne!(client.mux().generation(), gen);
    // The abandoned cell was freed by the failure, as no reply will come for it.
    assert_eq!(client.mux().cells_in_use().0, 0);
}

#[tokio::test]
async fn batches_are_contiguous_and_keep_order_among_single_commands() {
    // The fake answers each ECHO with its argument, so any misrouting shows.
    let url = fake(Arc::new(|_, argv| {
        if &argv[0][..] == b"HELLO" {
            return (Duration::ZERO, b"-ERR no\r\n".to_vec());
        }
        let arg = argv.get(1).cloned().unwrap_or_default();
        let mut out = format!("${}\r\n", arg.len()).into_bytes();
        out.extend_from_slice(&arg);
        out.extend_from_slice(b"\r\n");
        (Duration::ZERO, out)
    }))
    .await;
    let client = Client::connect(&url).await.unwrap();
    let mut tasks = Vec::new();
    for t in 0..16 {
        let c = client.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..50 {
                if i % 3 == 0 {
                    let names: Vec<String> = (0..i).map(|j| format!("{t}.{i}.{j}")).collect();
                    let cmds: Vec<Args> = names.iter().map(|n| cmd(&["ECHO", n])).collect();
                    let got = c.send_batch(&cmds).await.unwrap();
                    let want: Vec<Value> =
                        names.into_iter().map(|n| Value::Bulk(n.into())).collect();
                    assert_eq!(got, want);
                } else {
                    let me = format!("{t}-{i}");
                    let v = c.send(cmd(&["ECHO", &me])).await.unwrap();
                    assert_eq!(v, Value::Bulk(me.into()));
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_connection_is_retired_and_its_queue_stays_bounded() {
    use std::sync::atomic::AtomicBool;
    // Connection 0 stops answering (and reading) once `silent` is set; later
    // connections answer.
    let silent = Arc::new(AtomicBool::new(false));
    let flag = silent.clone();
    let url = fake(Arc::new(move |conn, argv| {
        if &argv[0][..] == b"HELLO" {
            return (Duration::ZERO, b"-ERR no\r\n".to_vec());
        }
        if conn == 0 && flag.load(Ordering::SeqCst) {
            return (Duration::from_secs(3600), Vec::new());
        }
        (Duration::ZERO, b"+PONG\r\n".to_vec())
    }))
    .await;
    let (timeout, interval) = (Duration::from_millis(50), Duration::from_millis(300));
    let config = crate::ClientConfig::new(&url)
        .unwrap()
        .command_timeout(Some(timeout))
        .health_check_interval(Some(interval));
    let client = Client::with_config(config).await.unwrap();
    client.send(cmd(&["PING"])).await.unwrap();
    let first = client.mux().generation();
    silent.store(true, Ordering::SeqCst);
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let c = client.clone();
        tasks.push(tokio::spawn(async move {
            let mut oks = 0;
            while t0.elapsed() < Duration::from_millis(1500) {
                let started = Instant::now();
                match c.send(cmd(&["PING"])).await {
                    Ok(v) => {
                        assert_eq!(v, Value::SimpleString("PONG".into()));
                        oks += 1;
                    }
                    Err(e) => {
                        assert!(e.is_timeout() || e.is_connection_error(), "{e:?}");
                        // Bounded by the timeout, with room for a loaded machine.
                        assert!(started.elapsed() < timeout * 10, "{:?}", started.elapsed());
                    }
                }
            }
            oks
        }));
    }
    // Watch the queue and the connection while the tasks run.
    let (mut most_cells, mut replaced) = (0, None);
    while t0.elapsed() < Duration::from_millis(1500) {
        most_cells = most_cells.max(client.mux().cells_in_use().0);
        if replaced.is_none() && client.mux().generation() != first {
            replaced = Some(t0.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for t in tasks {
        assert!(t.await.unwrap() > 0, "a task never got an answer again");
    }
    let replaced = replaced.expect("the silent connection was never replaced");
    assert!(
        replaced < interval + Duration::from_millis(900),
        "replaced after {replaced:?}"
    );
    // While silent, each task leaves at most one abandoned command per timeout.
    let bound = 16 * (interval.as_millis() / timeout.as_millis() + 4) as usize;
    assert!(
        most_cells <= bound,
        "{most_cells} reply cells in use (bound {bound})"
    );
    assert_eq!(client.mux().cells_in_use().0, 0);
}

#[test]
fn backoff_grows_and_is_capped() {
    assert_eq!(backoff(0), Duration::ZERO);
    assert_eq!(backoff(1), Duration::from_millis(100));
    assert_eq!(backoff(2), Duration::from_millis(200));
    assert_eq!(backoff(5), Duration::from_millis(1600));
    assert_eq!(backoff(6), MAX_BACKOFF);
    assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
}
