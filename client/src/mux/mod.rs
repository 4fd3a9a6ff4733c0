//! A multiplexed connection behind a [`Client`](crate::Client): many tasks, one socket.
//! A client has one, or several (`ClientConfig::connections`); each is independent (its
//! own queue, tasks, health checks and reconnects) except for the [`Hold`] and the
//! push channel, which all of a client's connections share. With several, each publishes
//! how many commands it has in flight (one relaxed store per batch of replies and per
//! command queued, skipped with a single connection), from which the client picks the
//! least loaded; one that failed to connect declares itself unavailable for its backoff.
//!
//! Owns: the write queue, the FIFO of reply slots, the writer, reader and watchdog tasks,
//! push-frame routing (invalidations applied to the client's cache in wire order), health
//! checks and reconnecting with backoff. Does not own: opening and
//! handshaking a connection (`connection`), the wire format (`resp`), or turning replies
//! into Rust types (done by the caller's future, on the caller's task).
//!
//! # How a command travels
//! A caller takes the one state lock, appends its encoded command to the shared write
//! buffer and pushes its reply slot onto the FIFO, in that same critical section. So the
//! order of commands on the wire is, by construction, the order of slots in the FIFO; no
//! interleaving of callers can break it. The writer task swaps the whole buffer out and
//! writes it with one `write_all` (auto-pipelining: everything queued while the previous
//! write was in flight goes out in one syscall). The reader task decodes frames and pops
//! one slot per reply, strictly in order. Reading and writing are separate tasks on split
//! halves, so a large write that blocks on a full socket never stops replies being read.
//!
//! A batch (explicit pipelines, `MULTI … EXEC`) is appended in one critical section with
//! one slot that collects all its replies, so nothing from another caller can come between
//! its commands.
//!
//! # Holding
//! While the [`Hold`] is closed (a Sentinel failover), the fast path declines and new
//! commands and batches wait at the start of the slow path; commands already queued
//! are unaffected.
//!
//! # Where things are
//! - `cells`: the FIFO's slots and the reply cells (queueing a command, storing its
//!   reply, the caller's wait, cancellation);
//! - `writer`: the writer task, and the write-through of a command on an idle connection;
//! - `reader`: the reader task (decoding, pushes, completing slots in order);
//! - `health`: health-check PINGs and the silent-peer watchdog;
//! - `link`: connecting, starting a generation's tasks, retiring it, backoff.

mod cells;
mod health;
mod link;
mod reader;
mod send;
#[cfg(test)]
mod tests;
mod writer;

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::{broadcast, oneshot, Notify};
use tokio::task::AbortHandle;

use crate::cmd::Args;
use crate::connection::{self, ConnectionInfo};
use crate::error::{Error, Result};
use crate::hold::Hold;
use crate::meta::ServerWait;
use crate::observe;
use crate::resp::Decoder;
use crate::value::Value;

/// What a reply slot receives: the raw reply, or why there will be none.
pub(crate) type Reply = Result<Value>;

/// What a batch slot receives: one reply per command (error replies included as
/// [`Value::Error`]), or why there will be none.
pub(crate) type BatchReply = Result<Vec<Value>>;

/// Above this capacity a drained write buffer is not kept for reuse, so one huge command
/// does not pin its memory for the life of the connection.
const KEEP_BUFFER: usize = 1 << 20;
/// Initial size of the write buffers.
const WRITE_BUFFER: usize = 16 * 1024;
/// The load a connection publishes while it may not be picked (see
/// [`Mux::unavailable_for`]).
pub(crate) const UNAVAILABLE: usize = usize::MAX;

/// A published load, decoded (see [`Mux::note_load`]).
pub(crate) struct Load {
    /// Commands in flight (queued, written, or abandoned and not answered yet).
    pub in_flight: usize,
    /// Commands are queued that the writer has not taken yet: a command added now
    /// shares their write.
    pub forming: bool,
}

impl Load {
    /// Decodes a published load; `None` for [`UNAVAILABLE`].
    #[inline]
    pub(crate) fn of(raw: usize) -> Option<Load> {
        (raw != UNAVAILABLE).then_some(Load {
            in_flight: raw >> 1,
            forming: raw & 1 == 1,
        })
    }
}

/// Settings of a multiplexed connection.
#[derive(Debug, Clone)]
pub(crate) struct MuxConfig {
    pub info: ConnectionInfo,
    /// Send a PING first when the connection was idle longer than this; declare it dead
    /// when replies are due and nothing was read for this long.
    pub health_check_interval: Option<Duration>,
    /// How long the health-check PING may take before the connection is declared dead.
    pub health_check_timeout: Duration,
    /// Publish the number of commands in flight ([`Mux::load`]), for a client that
    /// picks the least loaded of several connections. Off for a single connection: its
    /// hot path then skips even that store.
    pub track_load: bool,
    /// The client's cache, if it has one: the reader applies invalidation pushes to it,
    /// and a lost connection clears it.
    pub cache: Option<Arc<crate::cache::Cache>>,
}

/// One multiplexed connection, reconnected on demand. Shared by all clones of a client
/// and by its reader and writer tasks.
pub(crate) struct Mux {
    state: Mutex<State>,
    /// Serializes reconnect attempts; callers that waited on it reuse the outcome.
    connect_lock: tokio::sync::Mutex<()>,
    config: MuxConfig,
    push_tx: broadcast::Sender<Value>,
    /// The origin of `last_read`.
    epoch: Instant,
    /// When the live connection last read anything, in nanoseconds since `epoch` (only
    /// kept with health checks on). Written by the reader without the lock.
    last_read: AtomicU64,
    /// While held, new commands wait on the slow path (Sentinel failovers); shared by
    /// every connection of a client.
    hold: Arc<Hold>,
    /// Commands in flight (queued, written or abandoned but not answered), published
    /// for [`Mux::load`] with `track_load`.
    load: std::sync::atomic::AtomicUsize,
    /// What spans and metrics name this connection (nothing without the
    /// observability features).
    site: observe::Site,
    /// Number of socket writes, to check batching.
    #[cfg(test)]
    pub(crate) writes: std::sync::atomic::AtomicUsize,
    /// How many of them callers made themselves (see `writer`).
    #[cfg(test)]
    pub(crate) writes_through: std::sync::atomic::AtomicUsize,
}

struct State {
    /// Generation of the current (or last) connection; bumped on every connect.
    gen: u64,
    /// The live connection's tasks, `None` while disconnected.
    link: Option<Link>,
    /// Commands encoded but not yet taken by the writer.
    wbuf: BytesMut,
    /// The writer task took a buffer and has not finished writing it.
    writing: bool,
    /// Replies stored in cells whose callers have not taken them yet: those callers may
    /// be about to send again, so a command does not write through alone meanwhile.
    unclaimed: usize,
    /// One slot per command written or queued, in wire order.
    fifo: VecDeque<Slot>,
    /// Reply cells of single commands, by index; free ones are listed in `free`.
    cells: Vec<Cell>,
    /// Indices of free cells.
    free: Vec<u32>,
    /// When the FIFO last stopped being empty: since when replies are due (only kept
    /// with health checks on).
    busy_since: Instant,
    /// While a health-check PING is waited for: until when (its timeout rules then, not
    /// the watchdog's interval).
    probe_until: Option<Instant>,
    /// Number of finished connect attempts (success or failure).
    attempts: u64,
    /// Consecutive failed connect attempts.
    failures: u32,
    /// When and why the last connect attempt failed, if it did.
    last_failure: Option<(Instant, Error)>,
    /// The client was dropped.
    shut_down: bool,
    /// Why the last connection ended, for the reconnect event.
    #[cfg(any(feature = "tracing", feature = "metrics"))]
    last_loss: Option<Error>,
}

struct Link {
    notify: Arc<Notify>,
    /// The socket's writing half, shared with the writer task (see `writer`).
    wr: Arc<connection::WriteHalf>,
    reader: AbortHandle,
    writer: AbortHandle,
    /// The silent-peer watchdog, with health checks on.
    watchdog: Option<AbortHandle>,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    // The state stays consistent at every unlock, so a panic elsewhere (which would be a
    // bug) must not turn every later command into a panic too.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) use cells::{dropped, ReplyWait};
use cells::{Cell, Slot};

impl Mux {
    /// A multiplexer that is not connected yet. `hold` and `push_tx` may be shared with
    /// other connections of the same client.
    pub(crate) fn new(
        config: MuxConfig,
        hold: Arc<Hold>,
        push_tx: broadcast::Sender<Value>,
    ) -> Arc<Mux> {
        Arc::new(Mux {
            state: Mutex::new(State {
                gen: 0,
                link: None,
                wbuf: BytesMut::with_capacity(WRITE_BUFFER),
                writing: false,
                unclaimed: 0,
                fifo: VecDeque::with_capacity(64),
                cells: Vec::new(),
                free: Vec::new(),
                busy_since: Instant::now(),
                probe_until: None,
                attempts: 0,
                failures: 0,
                last_failure: None,
                shut_down: false,
                #[cfg(any(feature = "tracing", feature = "metrics"))]
                last_loss: None,
            }),
            connect_lock: tokio::sync::Mutex::new(()),
            push_tx,
            epoch: Instant::now(),
            last_read: AtomicU64::new(0),
            hold,
            load: Default::default(),
            site: observe::Site::new(&config.info),
            config,
            #[cfg(test)]
            writes: Default::default(),
            #[cfg(test)]
            writes_through: Default::default(),
        })
    }

    /// The configuration.
    pub(crate) fn config(&self) -> &MuxConfig {
        &self.config
    }

    /// What spans and metrics name this connection.
    pub(crate) fn site(&self) -> &observe::Site {
        &self.site
    }

    /// A new receiver of RESP3 push frames.
    pub(crate) fn subscribe_pushes(&self) -> broadcast::Receiver<Value> {
        self.push_tx.subscribe()
    }

    /// This connection's load as last published (with `track_load`; else 0), read
    /// without the lock, so possibly a moment old: [`Load::of`] decodes it.
    #[inline]
    pub(crate) fn load(&self) -> usize {
        self.load.load(Ordering::Relaxed)
    }

    /// Publishes the load (with `track_load`): the commands in flight, and whether a
    /// batch is forming (commands queued that the writer has not taken yet).
    #[inline]
    fn note_load(&self, st: &State) {
        if self.config.track_load {
            let forming = usize::from(!st.wbuf.is_empty());
            self.load
                .store((st.fifo.len() << 1) | forming, Ordering::Relaxed);
        }
    }

    /// Runs `enqueue` under the state lock if a connection is live (and, with
    /// `check_health`, no health check is due); `None` means take the slow path.
    #[inline]
    /// Test hook: reply cells in use (not free), and cells in the table.
    #[cfg(test)]
    pub(crate) fn cells_in_use(&self) -> (usize, usize) {
        let st = lock(&self.state);
        (st.cells.len() - st.free.len(), st.cells.len())
    }

    /// Test hook: the generation of the live connection.
    #[cfg(test)]
    pub(crate) fn generation(&self) -> Option<u64> {
        let st = lock(&self.state);
        st.link.as_ref().map(|_| st.gen)
    }
}
