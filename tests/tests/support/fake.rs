//! A deliberate fake server (a tokio listener on loopback) for what a real server will not
//! do on demand: hostile or unsolicited bytes, attributes and pushes anywhere, silence.
//!
//! Each connection decodes the commands it receives and answers each one with the steps
//! the handler returns for it, in order; a handler sees the connection's index (0 for the
//! first connection accepted) and the command's arguments.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use typedis::resp::Decoder;
use typedis::Value;

/// What the fake does in answer to one command.
#[derive(Debug, Clone)]
pub enum Step {
    /// Writes these bytes.
    Send(Vec<u8>),
    /// Writes these bytes one at a time, flushing each.
    Trickle(Vec<u8>),
    /// Writes `bytes` repeated until `total` bytes are written, without ever holding more
    /// than `bytes` in memory.
    Stream { bytes: Vec<u8>, total: usize },
    /// Waits.
    Sleep(Duration),
    /// Stops answering on this connection without closing it (reads go on, unanswered).
    Hold,
    /// Closes the connection.
    Close,
}

pub type Handler = Arc<dyn Fn(usize, &[Bytes]) -> Vec<Step> + Send + Sync>;

/// A listening fake server; stops accepting when dropped.
pub struct Fake {
    pub port: u16,
    connections: Arc<AtomicUsize>,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl Fake {
    pub async fn start(
        handler: impl Fn(usize, &[Bytes]) -> Vec<Step> + Send + Sync + 'static,
    ) -> Fake {
        let handler: Handler = Arc::new(handler);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let count = connections.clone();
        let accept = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let n = count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(sock, n, handler.clone()));
            }
        });
        Fake {
            port,
            connections,
            accept,
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

async fn serve(mut sock: tokio::net::TcpStream, conn: usize, handler: Handler) {
    let mut buf = BytesMut::new();
    let mut dec = Decoder::default();
    let mut held = false;
    loop {
        while let Ok(Some(Value::Array(items))) = dec.decode(&mut buf) {
            if held {
                continue;
            }
            let argv: Vec<Bytes> = items
                .into_iter()
                .map(|v| match v {
                    Value::Bulk(b) => b,
                    _ => Bytes::new(),
                })
                .collect();
            for step in handler(conn, &argv) {
                let ok = match step {
                    Step::Send(bytes) => sock.write_all(&bytes).await.is_ok(),
                    Step::Trickle(bytes) => {
                        let mut ok = true;
                        for b in bytes {
                            ok = sock.write_all(&[b]).await.is_ok() && sock.flush().await.is_ok();
                            if !ok {
                                break;
                            }
                        }
                        ok
                    }
                    Step::Stream { bytes, total } => {
                        let mut left = total;
                        let mut ok = true;
                        while left > 0 && ok {
                            let n = left.min(bytes.len());
                            ok = sock.write_all(&bytes[..n]).await.is_ok();
                            left -= n;
                        }
                        ok
                    }
                    Step::Sleep(d) => {
                        tokio::time::sleep(d).await;
                        true
                    }
                    Step::Hold => {
                        held = true;
                        break;
                    }
                    Step::Close => return,
                };
                if !ok {
                    return;
                }
            }
        }
        match sock.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                if held {
                    buf.clear();
                }
            }
        }
    }
}

/// A fake that answers `HELLO` (RESP3), then every other command with a frame that never
/// completes: `head`, then `block` repeated up to `total` bytes, then EOF. Returns it and
/// a client connected to it.
pub async fn unfinished_frame(
    head: Vec<u8>,
    block: Vec<u8>,
    total: usize,
) -> (Fake, typedis::Client) {
    let fake = Fake::start(move |_, argv| match name(argv).as_str() {
        "HELLO" => vec![Step::Send(hello3())],
        _ => vec![
            Step::Send(head.clone()),
            Step::Stream {
                bytes: block.clone(),
                total,
            },
            Step::Close,
        ],
    })
    .await;
    let client = typedis::Client::connect(&fake.url()).await.unwrap();
    (fake, client)
}

/// Sends `GET k` and waits (up to two minutes) for its outcome.
pub async fn get(client: &typedis::Client) -> typedis::Result<Value> {
    client
        .cmd("GET")
        .arg("k")
        .timeout(Duration::from_secs(120))
        .await
}

/// Asserts that `ECHO what` comes back as `what`.
pub async fn assert_echo(client: &typedis::Client, what: &str) {
    let v = client.cmd("ECHO").arg(what).await.unwrap();
    assert_eq!(
        v,
        Value::Bulk(Bytes::copy_from_slice(what.as_bytes())),
        "ECHO {what}"
    );
}

/// The command name, upper-cased.
pub fn name(argv: &[Bytes]) -> String {
    argv.first()
        .map(|a| String::from_utf8_lossy(a).to_ascii_uppercase())
        .unwrap_or_default()
}

/// Argument `i` as text.
pub fn arg(argv: &[Bytes], i: usize) -> String {
    argv.get(i)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .unwrap_or_default()
}

/// A RESP bulk string.
pub fn bulk(s: &str) -> Vec<u8> {
    format!("${}\r\n{s}\r\n", s.len()).into_bytes()
}

/// A RESP3 HELLO reply (a map), as Redis 7 sends it.
pub fn hello3() -> Vec<u8> {
    let mut out = b"%7\r\n".to_vec();
    for (k, v) in [
        ("server", bulk("redis")),
        ("version", bulk("7.0.0")),
        ("proto", b":3\r\n".to_vec()),
        ("id", b":1\r\n".to_vec()),
        ("mode", bulk("standalone")),
        ("role", bulk("master")),
        ("modules", b"*0\r\n".to_vec()),
    ] {
        out.extend(bulk(k));
        out.extend(v);
    }
    out
}

/// The reply of a server without HELLO: the client falls back to RESP2.
pub fn no_hello() -> Vec<u8> {
    b"-ERR unknown command 'HELLO'\r\n".to_vec()
}
