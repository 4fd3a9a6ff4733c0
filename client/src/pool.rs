//! A small pool of dedicated (not multiplexed) connections, for what must not share the
//! client's connection: blocking commands, WATCH/MULTI sessions, PubSub, MONITOR.
//!
//! Owns: limiting how many dedicated connections exist, reusing idle ones, and a simple
//! one-request-one-reply API on a borrowed connection. Does not own: opening connections
//! (`connection`), or what the borrower does with the raw parts (PubSub, transactions).
//!
//! A connection goes back to the pool on drop only when its state is known: no I/O or
//! protocol error happened, no request was cut short by cancellation, and the borrower
//! did not call [`PooledConnection::discard`]. Server error replies (`WRONGTYPE`, …)
//! leave the state known and do not prevent reuse.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWriteExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::cmd::Args;
use crate::connection::{self, Connection, ConnectionInfo};
use crate::error::{Error, Result};
use crate::value::Value;

/// Limits of a [`Pool`].
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// Most connections handed out at once; `get` waits beyond that.
    pub max_size: usize,
    /// Idle connections older than this are closed instead of reused.
    pub idle_timeout: Option<Duration>,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            max_size: 16,
            idle_timeout: Some(Duration::from_secs(60)),
        }
    }
}

/// A pool of dedicated connections to one server. Cheap to clone.
#[derive(Clone)]
pub struct Pool {
    inner: Arc<PoolInner>,
}

struct PoolInner {
    info: ConnectionInfo,
    config: PoolConfig,
    permits: Arc<Semaphore>,
    idle: Mutex<Vec<(Connection, Instant)>>,
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("config", &self.inner.config)
            .field("idle", &self.idle_count())
            .finish()
    }
}

impl Pool {
    /// A pool that connects with `info`; no connection is opened until `get`.
    pub fn new(info: ConnectionInfo, config: PoolConfig) -> Pool {
        let max = config.max_size.max(1);
        Pool {
            inner: Arc::new(PoolInner {
                info,
                permits: Arc::new(Semaphore::new(max)),
                config,
                idle: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Borrows a connection: an idle one if any is fresh enough, else a new one. Waits
    /// while `max_size` connections are out.
    pub async fn get(&self) -> Result<PooledConnection> {
        let permit = self
            .inner
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::Usage("the connection pool was closed".into()))?;
        let mut reused = None;
        while let Some(mut c) = self.pop_idle() {
            // A connection the server closed while it sat idle (its `timeout` setting,
            // a restart) is noticed here rather than on the borrower's first command.
            if still_open(&mut c) {
                reused = Some(c);
                break;
            }
        }
        let conn = match reused {
            Some(c) => c,
            None => connection::connect(&self.inner.info).await?,
        };
        Ok(PooledConnection {
            conn: Some(conn),
            pool: self.inner.clone(),
            _permit: permit,
            reusable: true,
            dirty: false,
            wbuf: BytesMut::new(),
        })
    }

    fn pop_idle(&self) -> Option<Connection> {
        let mut idle = self.inner.idle.lock().unwrap_or_else(|p| p.into_inner());
        let timeout = self.inner.config.idle_timeout;
        // Expired connections are dropped (closed) here; the freshest is reused.
        idle.retain(|(_, since)| timeout.is_none_or(|t| since.elapsed() < t));
        idle.pop().map(|(c, _)| c)
    }

    /// Closes every idle connection (the node they lead to was demoted).
    pub(crate) fn clear_idle(&self) {
        let mut idle = self.inner.idle.lock().unwrap_or_else(|p| p.into_inner());
        let closing = std::mem::take(&mut *idle);
        // Closed outside the lock.
        drop(idle);
        drop(closing);
    }

    /// Number of idle connections kept.
    pub fn idle_count(&self) -> usize {
        self.inner.idle.lock().map(|i| i.len()).unwrap_or(0)
    }
}

/// A connection borrowed from a [`Pool`]; goes back on drop if its state is known.
pub struct PooledConnection {
    conn: Option<Connection>,
    pool: Arc<PoolInner>,
    _permit: OwnedSemaphorePermit,
    reusable: bool,
    /// Set by `discard`: state the pool cannot see (WATCH, SUBSCRIBE) until `keep`.
    dirty: bool,
    wbuf: BytesMut,
}

impl fmt::Debug for PooledConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PooledConnection")
            .field("reusable", &self.reusable)
            .finish_non_exhaustive()
    }
}

impl PooledConnection {
    /// Sends one command and waits for its reply. A top-level error reply is
    /// `Err(Error::Server)`. RESP3 push frames arriving meanwhile are skipped.
    pub async fn send(&mut self, args: &Args) -> Result<Value> {
        match self.send_many(std::slice::from_ref(args)).await?.pop() {
            Some(Value::Error(e)) => Err(Error::Server(e)),
            Some(v) => Ok(v),
            None => Err(Error::Protocol("no reply".into())),
        }
    }

    /// Sends several commands in one write and returns their replies in order. Error
    /// replies stay in the vector as [`Value::Error`]; `Err` means the connection failed.
    pub async fn send_many(&mut self, commands: &[Args]) -> Result<Vec<Value>> {
        let conn = self
            .conn
            .as_mut()
            .ok_or_else(|| Error::Usage("the connection was taken out of the pool".into()))?;
        crate::client::check_batch(commands)?;
        // Until the last reply is read, the connection's state is unknown: if this future
        // is dropped midway, the connection must not be reused.
        self.reusable = false;
        self.wbuf.clear();
        for c in commands {
            c.write_command(&mut self.wbuf);
        }
        conn.stream
            .write_all(&self.wbuf)
            .await
            .map_err(|e| Error::io("writing to the server", e))?;
        conn.stream
            .flush()
            .await
            .map_err(|e| Error::io("writing to the server", e))?;
        let mut replies = Vec::with_capacity(commands.len());
        while replies.len() < commands.len() {
            match conn.read_frame().await? {
                Value::Push(_) => {}
                v => replies.push(v),
            }
        }
        self.reusable = true;
        Ok(replies)
    }

    /// Reads the next frame of any kind (push frames included), for borrowers that
    /// consume unsolicited frames (PubSub, MONITOR). Marks the connection unknown until
    /// a frame was read.
    pub async fn read_frame(&mut self) -> Result<Value> {
        let conn = self
            .conn
            .as_mut()
            .ok_or_else(|| Error::Usage("the connection was taken out of the pool".into()))?;
        self.reusable = false;
        let v = conn.read_frame().await?;
        self.reusable = true;
        Ok(v)
    }

    /// Do not return this connection to the pool (e.g. it is subscribed, or holds
    /// WATCH state), until [`keep`](Self::keep) says it is clean again.
    pub fn discard(&mut self) {
        self.reusable = false;
        self.dirty = true;
    }

    /// The connection is back in a clean state (e.g. after EXEC): it may be reused.
    pub fn keep(&mut self) {
        self.dirty = false;
    }

    /// The raw connection, for protocols the request/reply API does not cover. If you
    /// leave it in a state other than "idle, nothing pending", call [`Self::discard`].
    pub fn connection_mut(&mut self) -> Option<&mut Connection> {
        self.conn.as_mut()
    }

    /// Takes the raw connection out of the pool for good (its slot is freed).
    pub fn into_connection(mut self) -> Option<Connection> {
        self.conn.take()
    }
}

/// Whether an idle connection is still usable: one poll of a read, which must find
/// nothing. End of stream, an error or unexpected bytes all mean "do not reuse".
fn still_open(conn: &mut Connection) -> bool {
    struct Noop;
    impl std::task::Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }
    if !conn.read_buf.is_empty() {
        return false;
    }
    let waker = std::task::Waker::from(Arc::new(Noop));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut probe = [0u8; 1];
    let mut buf = tokio::io::ReadBuf::new(&mut probe);
    matches!(
        std::pin::Pin::new(&mut conn.stream).poll_read(&mut cx, &mut buf),
        std::task::Poll::Pending
    )
}

impl Drop for PooledConnection {
    fn drop(&mut self) {
        if !self.reusable || self.dirty {
            return;
        }
        if let Some(conn) = self.conn.take() {
            if let Ok(mut idle) = self.pool.idle.lock() {
                idle.push((conn, Instant::now()));
            }
        }
    }
}
