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
//!
//! An idle connection is checked before it is handed out again: it must have nothing to
//! read (a frame arriving while nothing was asked is a broken peer) and, with a
//! `health_check_interval`, one idle for longer than that must answer a PING within the
//! health-check timeout. One that fails either is closed and the next is tried.
//!
//! A connection whose state a command may have changed (`SELECT`, `CLIENT REPLY`,
//! `HELLO`, `AUTH`, `SUBSCRIBE`, `MONITOR`, `CLIENT TRACKING`, …: the generated tables
//! say which, see [`PooledConnection::mark_state_changed`]) is reset before it is pooled
//! again, so the next borrower gets it in the client's configured state: `RESET` (which
//! both Redis 7.0 and Valkey 9.1 have; a server answering it with an error gets its
//! connection closed instead), the spec's `undo` of what `RESET` does not clear on every
//! server (`CLIENT NO-EVICT OFF`: Redis 7.0 keeps it), then the handshake again
//! (protocol, user, name, database, `READONLY`). That runs in a task of its own, within
//! [`RESET_TIMEOUT`], and holds the connection's slot in the pool until it is done; a
//! connection it cannot reset, or on which a command ran whose state survives `RESET`
//! (`CLIENT CAPA`, `SYNC`: `survives_reset` in the spec), is closed.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWriteExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::cmd::Args;
use crate::connection::{self, Connection, ConnectionInfo};
use crate::error::{Error, Result, UsageKind};
use crate::meta::CommandMeta;
use crate::observe;
use crate::value::Value;

/// How long resetting a connection whose state changed may take before it is closed
/// instead of pooled again.
pub(crate) const RESET_TIMEOUT: Duration = Duration::from_secs(5);

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
    /// What spans and metrics name the pool's connections.
    site: Arc<observe::Site>,
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
                site: Arc::new(observe::Site::new(&info)),
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
            .map_err(|_| Error::usage(UsageKind::Closed, "the connection pool was closed"))?;
        let mut reused = None;
        while let Some((mut c, since)) = self.pop_idle() {
            // A connection the server closed while it sat idle (its `timeout` setting,
            // a restart) is noticed here rather than on the borrower's first command.
            if !still_open(&mut c) {
                continue;
            }
            // One that went silent (a half-open connection, a paused or partitioned
            // server) only shows by not answering.
            if let Some((interval, timeout)) = c.health_check {
                if since.elapsed() > interval && c.ping(timeout).await.is_err() {
                    continue;
                }
            }
            reused = Some(c);
            break;
        }
        let conn = match reused {
            Some(c) => c,
            None => {
                let c = connection::connect(&self.inner.info).await;
                if let Err(e) = &c {
                    self.inner.site.connect_failed(e);
                }
                c?
            }
        };
        self.inner.count();
        Ok(PooledConnection {
            conn: Some(conn),
            pool: self.inner.clone(),
            permit: Some(permit),
            reusable: true,
            dirty: false,
            state_changed: false,
            undo: Vec::new(),
            wbuf: BytesMut::new(),
        })
    }

    fn pop_idle(&self) -> Option<(Connection, Instant)> {
        let mut idle = self.inner.idle.lock().unwrap_or_else(|p| p.into_inner());
        let timeout = self.inner.config.idle_timeout;
        // Expired connections are dropped (closed) here; the freshest is reused.
        idle.retain(|(_, since)| timeout.is_none_or(|t| since.elapsed() < t));
        idle.pop()
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
    /// The connection's slot in the pool; held by the reset task when there is one.
    permit: Option<OwnedSemaphorePermit>,
    reusable: bool,
    /// Set by `discard`: state the pool cannot see (WATCH, SUBSCRIBE) until `keep`.
    dirty: bool,
    /// A connection-state command ran: reset before pooling again.
    state_changed: bool,
    /// Commands that ran whose state `RESET` may leave (sent their `undo` after it).
    undo: Vec<&'static CommandMeta>,
    wbuf: BytesMut,
}

impl fmt::Debug for PooledConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PooledConnection")
            .field("reusable", &self.reusable)
            .field("state_changed", &self.state_changed)
            .finish_non_exhaustive()
    }
}

impl PooledConnection {
    /// What spans and metrics name this connection.
    pub(crate) fn site(&self) -> Arc<observe::Site> {
        self.pool.site.clone()
    }

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
    ///
    /// Connection-state commands (`SELECT`, `HELLO`, …) mark the connection for a reset
    /// before it is pooled again. Those that change how the server replies
    /// (`CLIENT REPLY`, the `SUBSCRIBE` family, `MONITOR`) are refused: this API reads
    /// one reply per command; [`Client::dedicated`](crate::Client::dedicated) handles
    /// them.
    pub async fn send_many(&mut self, commands: &[Args]) -> Result<Vec<Value>> {
        crate::cmd::check_batch(commands)?;
        let metas: Vec<Option<&'static CommandMeta>> =
            commands.iter().map(crate::meta::of_args).collect();
        for meta in metas.iter().flatten() {
            crate::meta::check_one_reply(meta, "a pooled connection")?;
            if meta.changes_connection() {
                // Marked before sending: a send cut short leaves it changed too.
                self.state_changed = true;
            }
        }
        // Until the last reply is read, the connection's state is unknown: if this future
        // is dropped midway, the connection must not be reused.
        self.write(commands, true).await?;
        let conn = self.connection()?;
        let mut replies = Vec::with_capacity(commands.len());
        while replies.len() < commands.len() {
            replies.push(conn.read_reply().await?);
        }
        self.reusable = true;
        for (meta, reply) in metas.iter().zip(&replies) {
            if let Some(meta) = meta.filter(|m| m.changes_connection()) {
                self.record_state(meta, !matches!(reply, Value::Error(_)));
            }
        }
        Ok(replies)
    }

    fn connection(&mut self) -> Result<&mut Connection> {
        self.conn.as_mut().ok_or_else(|| {
            Error::usage(
                UsageKind::Closed,
                "the connection was taken out of the pool",
            )
        })
    }

    /// Writes commands (checked by the caller: encoded, not empty) without reading
    /// anything, for borrowers that read the replies themselves
    /// ([`read_frame`](Self::read_frame)). With `replies` (some will come), the
    /// connection's state is unknown until a frame was read afterwards; otherwise only
    /// until the write completed.
    pub(crate) async fn write(&mut self, commands: &[Args], replies: bool) -> Result<()> {
        self.wbuf.clear();
        for c in commands {
            c.write_command(&mut self.wbuf);
        }
        let wbuf = std::mem::take(&mut self.wbuf);
        self.reusable = false;
        let conn = self.connection()?;
        let written = write_all(conn, &wbuf, "writing to the server").await;
        self.wbuf = wbuf;
        written?;
        self.reusable = !replies;
        Ok(())
    }

    /// Reads the next frame of any kind (push frames included), for borrowers that
    /// consume unsolicited frames (PubSub, MONITOR). Marks the connection unknown until
    /// a frame was read.
    pub async fn read_frame(&mut self) -> Result<Value> {
        let conn = self.conn.as_mut().ok_or_else(|| {
            Error::usage(
                UsageKind::Closed,
                "the connection was taken out of the pool",
            )
        })?;
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

    /// A command may have changed the connection's state (database, reply mode,
    /// protocol, user, subscriptions, …): reset it (`RESET` and the handshake again)
    /// before it is pooled again. [`send`](Self::send) and
    /// [`send_many`](Self::send_many) do this for the commands the generated tables
    /// mark; call it after writing such a command through
    /// [`connection_mut`](Self::connection_mut).
    pub fn mark_state_changed(&mut self) {
        self.state_changed = true;
    }

    /// Whether the connection will be reset before it is pooled again.
    pub fn state_changed(&self) -> bool {
        self.state_changed
    }

    /// A connection-state command ran (`ok`: the server did not refuse it): reset the
    /// connection before it is pooled again, also with the command's `undo` where
    /// `RESET` may not clear it, or close it where nothing can.
    pub(crate) fn record_state(&mut self, meta: &'static CommandMeta, ok: bool) {
        self.state_changed = true;
        let Some(state) = meta.connection_state else {
            return;
        };
        if ok && state.survives_reset {
            self.dirty = true;
        }
        if ok && !state.undo.is_empty() && !self.undo.iter().any(|m| std::ptr::eq(*m, meta)) {
            self.undo.push(meta);
        }
    }

    /// The raw connection, for protocols the request/reply API does not cover. If you
    /// leave it in a state other than "idle, nothing pending", call [`Self::discard`].
    pub fn connection_mut(&mut self) -> Option<&mut Connection> {
        self.conn.as_mut()
    }

    /// Takes the raw connection out of the pool for good (its slot is freed).
    pub(crate) fn into_connection(mut self) -> Option<Connection> {
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

impl PoolInner {
    fn push_idle(&self, conn: Connection) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push((conn, Instant::now()));
        }
        self.count();
    }

    /// Updates the connection-count gauges (with the `metrics` feature).
    fn count(&self) {
        #[cfg(feature = "metrics")]
        {
            let idle = self.idle.lock().map(|i| i.len()).unwrap_or(0);
            let used = self
                .config
                .max_size
                .max(1)
                .saturating_sub(self.permits.available_permits());
            self.site.pooled(idle, used);
        }
    }
}

impl Drop for PooledConnection {
    fn drop(&mut self) {
        if !self.reusable || self.dirty {
            return;
        }
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        if !self.state_changed {
            self.pool.push_idle(conn);
            return;
        }
        // Resetting takes round trips: a task of its own does it, keeping the slot (the
        // permit) until the connection is back in the pool or closed. Without a runtime
        // (dropped outside one), the connection is closed.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let pool = self.pool.clone();
        let permit = self.permit.take();
        let undo = std::mem::take(&mut self.undo);
        runtime.spawn(async move {
            let reset = reset(&mut conn, &pool.info, &undo);
            if let Ok(Ok(())) = tokio::time::timeout(RESET_TIMEOUT, reset).await {
                pool.push_idle(conn);
            }
            drop(permit);
        });
    }
}

/// Puts a connection whose state changed back into the configured state: `RESET`, the
/// `undo` of the commands in `undo`, then the handshake. `Err` when the server has no
/// `RESET`, refuses an undo, or the connection fails.
async fn reset(
    conn: &mut Connection,
    info: &ConnectionInfo,
    undo: &[&'static CommandMeta],
) -> Result<()> {
    let command = |name: &[u8]| {
        let mut a = Args::new();
        a.push_bytes(name);
        a
    };
    let mut out = BytesMut::new();
    command(b"RESET").write_command(&mut out);
    command(b"PING").write_command(&mut out);
    write_all(conn, &out, "resetting a pooled connection").await?;
    // Before RESET's own reply, anything may still arrive: PubSub messages, MONITOR
    // lines, RESP3 pushes. The PING after it marks the end. After `CLIENT REPLY SKIP`
    // the server leaves RESET's reply out (RESET ran all the same).
    let mut reset_seen = false;
    loop {
        match conn.read_frame().await?.into_unattributed() {
            Value::SimpleString(s) if &s[..] == b"RESET" => reset_seen = true,
            Value::SimpleString(s) if &s[..] == b"PONG" => break,
            Value::Error(e) if !reset_seen => return Err(Error::Server(e)),
            _ => {}
        }
    }
    if !reset_seen {
        // The state is clean now, skipped replies included: the answer comes next.
        match connection::request(conn, &command(b"RESET")).await? {
            Value::SimpleString(s) if &s[..] == b"RESET" => {}
            other => {
                return Err(Error::Protocol(format!(
                    "RESET answered {} instead of RESET",
                    other.kind_name()
                )))
            }
        }
    }
    for meta in undo {
        let Some(state) = meta.connection_state else {
            continue;
        };
        let mut a = Args::new();
        for token in meta.name.split(' ') {
            a.push_bytes(token.as_bytes());
        }
        for arg in state.undo {
            a.push_bytes(arg);
        }
        if let Value::Error(e) = connection::request(conn, &a).await? {
            return Err(Error::Server(e));
        }
    }
    connection::configure(info, conn).await
}

async fn write_all(conn: &mut Connection, bytes: &[u8], doing: &str) -> Result<()> {
    conn.stream
        .write_all(bytes)
        .await
        .map_err(|e| Error::io(doing, e))?;
    conn.stream.flush().await.map_err(|e| Error::io(doing, e))
}
