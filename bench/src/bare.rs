//! A bare multiplexer, as a reference row for scenario (b): the same shape as typedis's
//! connection (callers append to one shared buffer under a lock and wait on a oneshot;
//! one writer task batches writes the same way; one reader task completes callers in
//! order) with nothing else: GET of one fixed key only, replies counted rather than
//! decoded, no typed API, no error handling beyond stopping. Its CPU per operation is what
//! the runtime and the kernel cost on this machine for that shape, so the distance from
//! typedis to it is what typedis's own work per command costs.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{oneshot, Notify};
use tokio::task::JoinHandle;

use crate::{BoxError, Res};

const GET: &[u8] = b"*2\r\n$3\r\nGET\r\n$10\r\nshared:key\r\n";

struct Shared {
    wbuf: Vec<u8>,
    waiting: VecDeque<oneshot::Sender<()>>,
}

/// One connection with its reader and writer tasks (stopped on drop).
pub struct Bare {
    shared: Arc<Mutex<Shared>>,
    notify: Arc<Notify>,
    tasks: [JoinHandle<()>; 2],
}

impl Drop for Bare {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn lock(m: &Mutex<Shared>) -> std::sync::MutexGuard<'_, Shared> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Puts the current task at the back of the run queue once (as typedis's writer does).
fn requeue() -> impl std::future::Future<Output = ()> {
    let mut yielded = false;
    std::future::poll_fn(move |cx| {
        if yielded {
            return std::task::Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    })
}

/// Length of the bulk-string reply at the front of `buf`, if all of it is there.
fn bulk_reply_len(buf: &[u8]) -> Option<usize> {
    let cr = buf.iter().position(|&b| b == b'\r')?;
    let n: usize = std::str::from_utf8(buf.get(1..cr)?).ok()?.parse().ok()?;
    let end = cr + 2 + n + 2;
    (buf.len() >= end).then_some(end)
}

pub async fn connect(port: u16) -> Res<Bare> {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    stream.set_nodelay(true)?;
    let (mut rd, mut wr) = stream.into_split();
    let shared = Arc::new(Mutex::new(Shared {
        wbuf: Vec::with_capacity(16 * 1024),
        waiting: VecDeque::with_capacity(64),
    }));
    let notify = Arc::new(Notify::new());
    let writer = {
        let (shared, notify) = (shared.clone(), notify.clone());
        tokio::spawn(async move {
            let mut out = Vec::with_capacity(16 * 1024);
            loop {
                let idle = {
                    let mut s = lock(&shared);
                    if s.wbuf.is_empty() {
                        true
                    } else {
                        std::mem::swap(&mut s.wbuf, &mut out);
                        false
                    }
                };
                if idle {
                    notify.notified().await;
                    let mut len = lock(&shared).wbuf.len();
                    for _ in 0..4 {
                        requeue().await;
                        let now = lock(&shared).wbuf.len();
                        if now == len {
                            break;
                        }
                        len = now;
                    }
                    continue;
                }
                if wr.write_all(&out).await.is_err() {
                    return;
                }
                out.clear();
            }
        })
    };
    let reader = {
        let shared = shared.clone();
        tokio::spawn(async move {
            let mut buf = Vec::with_capacity(64 * 1024);
            let mut chunk = vec![0u8; 64 * 1024];
            let mut done = Vec::with_capacity(64);
            loop {
                let n = match rd.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                buf.extend_from_slice(&chunk[..n]);
                let mut at = 0;
                let mut replies = 0;
                while let Some(len) = bulk_reply_len(&buf[at..]) {
                    at += len;
                    replies += 1;
                }
                buf.drain(..at);
                {
                    let mut s = lock(&shared);
                    for _ in 0..replies {
                        match s.waiting.pop_front() {
                            Some(tx) => done.push(tx),
                            None => return,
                        }
                    }
                }
                for tx in done.drain(..) {
                    let _ = tx.send(());
                }
            }
        })
    };
    Ok(Bare {
        shared,
        notify,
        tasks: [writer, reader],
    })
}

/// `tasks` tasks each sending `n / tasks` GETs of `shared:key` and waiting for each reply.
pub async fn shared(b: &Bare, tasks: usize, n: usize) -> Res<()> {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..tasks {
        let (shared, notify) = (b.shared.clone(), b.notify.clone());
        set.spawn(async move {
            for _ in 0..n / tasks {
                let (tx, rx) = oneshot::channel();
                {
                    let mut s = lock(&shared);
                    let was_empty = s.wbuf.is_empty();
                    s.wbuf.extend_from_slice(GET);
                    s.waiting.push_back(tx);
                    if was_empty {
                        notify.notify_one();
                    }
                }
                rx.await
                    .map_err(|_| BoxError::from("bare multiplexer: connection lost"))?;
            }
            Ok::<_, BoxError>(())
        });
    }
    while let Some(r) = set.join_next().await {
        r??;
    }
    Ok(())
}
