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
//! When woken, the writer puts itself at the back of the scheduler's run queue until a
//! turn brings no new command (at most a few times) before taking the buffer: the tasks
//! the reader just completed queue their next commands in the meantime and share the
//! write. Without this, under load the writer wakes for nearly every command and the
//! syscalls dominate the cost. (Waiting for *every* completed caller before writing
//! makes fewer, fuller writes but lower throughput: the server then idles while the
//! client finishes the round instead of working on its first half.)
//!
//! A batch (explicit pipelines, `MULTI … EXEC`) is appended in one critical section with
//! one slot that collects all its replies, so nothing from another caller can come between
//! its commands.
//!
//! # Writing through
//! A command (or batch) that finds the connection idle — nothing in flight, nothing
//! queued, no write under way, and no reply stored that its caller has not collected
//! yet — is written by its caller, in the same critical section, with one non-blocking
//! write (TCP and Unix sockets; over TLS the writer task writes). Nothing could share
//! its write: no caller holds a fresh reply after which it would queue a next command.
//! So a sequential caller costs one syscall and no task hop per command, where waking
//! the writer costs a wake-up of another task (often on another worker thread) and the
//! lock passing between them. What the socket does not take at once stays queued and the
//! writer is woken for it, as it is for every command that is not alone: under load
//! (the reader completing many callers at once) the batching above is unchanged. The
//! order invariant holds: the write happens under the lock, and only when nothing is
//! queued before it. Off with several connections: there a caller woken by one
//! connection's reply sends its next command to whichever is least loaded, which this
//! connection's count of uncollected replies does not see.
//!
//! # Health checks
//! With a `health_check_interval`, a command arriving on a connection that has nothing in
//! flight and has read nothing for longer than the interval first sends a PING and waits
//! for it (at most `health_check_timeout`); if it fails, the connection is retired and the
//! command goes to a new one.
//!
//! A connection with replies due can be silent too: the server paused, a half-open
//! connection behind a load balancer, a partition that sends no RST. Its commands time
//! out, but their slots stay queued (a reply may still come), so nothing would ever
//! replace it. With a `health_check_interval`, a watchdog task per connection therefore
//! declares it dead when replies are due and nothing at all — not a byte — has been read
//! for the interval, counted from the later of the last read and the moment the FIFO
//! stopped being empty: every waiting caller gets a connection error at once and the
//! next command reconnects. The hot path pays nothing for it beyond what the idle check
//! already costs: the reader stamps the time of each read (only with health checks on),
//! and the one clock reading the idle check takes when the FIFO is empty also marks when
//! a reply became due. The watchdog sleeps an interval at a time while nothing is due.
//!
//! # Holding
//! While the [`Hold`] is closed (a Sentinel failover), the fast path declines and new
//! commands and batches wait at the start of the slow path; commands already queued
//! are unaffected.
//!
//! # Commands the server answers late on purpose
//! `WAIT` and `WAITAOF` block on the server, and run here (they are about this
//! connection's writes): their slot says how long their timeout argument lets the server
//! stay silent, and the watchdog adds that to its interval while such a command is the
//! oldest in flight (none with a timeout of 0).
//!
//! # Reply cells
//! A single command's slot is the index of a *cell* in a table kept under the same lock:
//! the caller stores its waker there when it queues the command, the reader stores the
//! reply and wakes it, and the caller takes the reply and frees the cell. Cells are
//! reused, so a command costs no allocation and no channel. (Batches use a oneshot
//! channel: they are rare next to single commands, and carry a `Vec` anyway.)
//!
//! # Cancellation
//! A caller that gives up (timeout, dropped future) marks its cell abandoned; the slot
//! stays in the FIFO, the reader still pops it for the matching reply, drops the reply
//! and frees the cell. A cell is only freed by the side that finishes last, so a cell
//! index is never reused while a reply for it can still come. A reply can therefore only
//! ever reach the caller whose command produced it.
//!
//! # Failure
//! When the reader or the writer fails (EOF, I/O error, protocol error), the connection's
//! generation is retired under the lock: the write buffer is dropped, every slot in the
//! FIFO gets the error, both tasks are aborted. The next command reconnects; attempts after
//! a failed one are spaced by an exponential backoff (100 ms doubling, capped at 2 s) and a
//! command arriving inside that window fails at once with the last connect error. Tasks of
//! an old generation check the generation under the lock before touching shared state, so
//! no reply can cross a reconnect.

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

/// A place in the FIFO: where the next reply (or replies) go.
enum Slot {
    /// One command: the index of its cell in [`State::cells`].
    One(u32),
    /// One command that the server may leave unanswered for as long as it says (`WAIT`
    /// on the shared connection): the watchdog allows that much silence while it is
    /// the oldest in flight.
    Waiting(u32, ServerWait),
    /// A batch of `left + got.len()` contiguous commands answered together.
    Many {
        tx: oneshot::Sender<BatchReply>,
        left: usize,
        got: Vec<Value>,
    },
}

/// Where one command's reply waits for its caller (see "Reply cells" above).
#[derive(Default)]
struct Cell {
    /// The reply, once read (or the error that ended the connection).
    reply: Option<Reply>,
    /// Who to wake when the reply is stored.
    waker: Option<Waker>,
    /// The caller gave up: whoever stores the reply frees the cell instead.
    abandoned: bool,
}

/// A completed batch, delivered after the state lock is released.
struct Done(oneshot::Sender<BatchReply>, Vec<Value>);

/// Above this capacity a drained write buffer is not kept for reuse, so one huge command
/// does not pin its memory for the life of the connection.
const KEEP_BUFFER: usize = 1 << 20;
/// Above this many cells the table is dropped once they are all free again, so a burst of
/// concurrent commands does not pin its memory for the life of the connection.
const KEEP_CELLS: usize = 4096;
/// Initial size of the write buffers.
const WRITE_BUFFER: usize = 16 * 1024;
/// The reader asks for at least this much free space before each read.
const READ_CHUNK: usize = 64 * 1024;
/// Largest read buffer sized up front from the previous reply.
const MAX_READ_HINT: usize = 8 << 20;
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
/// Cap of the reconnect backoff.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

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
    /// How many of them callers made themselves (see "Writing through").
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
    /// The socket's writing half, shared with the writer task (see "Writing through").
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

fn backoff(failures: u32) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    let ms = 100u64.saturating_mul(1 << (failures - 1).min(16));
    Duration::from_millis(ms).min(MAX_BACKOFF)
}

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

    /// Records that the live connection read something, now.
    #[inline]
    fn note_read(&self) {
        let now = self.epoch.elapsed().as_nanos() as u64;
        self.last_read.store(now, Ordering::Relaxed);
    }

    /// When the live connection last read anything (with health checks on).
    fn last_read(&self) -> Instant {
        self.epoch + Duration::from_nanos(self.last_read.load(Ordering::Relaxed))
    }

    /// Whether the connection is idle (nothing in flight) and has been for longer than
    /// the health-check interval, at `now`. A connection with commands in flight is not
    /// PINGed: their replies (or the lack of them, which the watchdog watches) already
    /// tell whether it is alive, and a PING queued behind a slow command would only
    /// measure that command.
    #[inline]
    fn health_check_due(&self, st: &State, now: Instant) -> bool {
        match self.config.health_check_interval {
            Some(interval) => {
                st.fifo.is_empty() && now.saturating_duration_since(self.last_read()) > interval
            }
            None => false,
        }
    }

    /// Runs `enqueue` under the state lock if a connection is live (and, with
    /// `check_health`, no health check is due); `None` means take the slow path.
    #[inline]
    fn with_link<R>(&self, check_health: bool, enqueue: impl FnOnce(&mut State) -> R) -> Option<R> {
        let mut st = lock(&self.state);
        st.link.as_ref()?;
        if self.config.health_check_interval.is_some() && st.fifo.is_empty() {
            // The clock is read only when nothing is in flight: for the idle check, and
            // to mark when a reply became due (what the watchdog measures silence from).
            let now = Instant::now();
            if check_health && self.health_check_due(&st, now) {
                return None;
            }
            st.busy_since = now;
        }
        let r = enqueue(&mut st);
        self.note_load(&st);
        Some(r)
    }

    /// The fast path: queue `args` on the live connection without waiting; `waker` is
    /// woken when the reply is in. `None` when the caller must take the slow path (not
    /// connected, a health check is due, or commands are held).
    /// `wait`: how long the server may take to answer, for a command whose argument says
    /// so (see [`Slot::Waiting`]).
    #[inline]
    pub(crate) fn try_send<'m>(
        &'m self,
        args: &Args,
        waker: &Waker,
        wait: Option<ServerWait>,
    ) -> Option<ReplyWait<'m>> {
        if self.hold.is_held() {
            return None;
        }
        let cell = self.with_link(true, |st| self.enqueue(st, args, Some(waker), wait))?;
        Some(ReplyWait { mux: self, cell })
    }

    /// Appends one command and its slot in the same critical section (the order
    /// invariant), writes it through when the connection is idle, else wakes the writer
    /// if it may be idle. `st.link` must be `Some`. Returns the command's cell.
    #[inline]
    fn enqueue(
        &self,
        st: &mut State,
        args: &Args,
        waker: Option<&Waker>,
        wait: Option<ServerWait>,
    ) -> u32 {
        let cell = match st.free.pop() {
            Some(i) => i,
            None => {
                st.cells.push(Cell::default());
                // The table holds at most one cell per command in flight.
                (st.cells.len() - 1) as u32
            }
        };
        st.cells[cell as usize].waker = waker.cloned();
        let idle = self.idle(st);
        let was_empty = st.wbuf.is_empty();
        args.write_command(&mut st.wbuf);
        st.fifo.push_back(match wait {
            None => Slot::One(cell),
            Some(wait) => Slot::Waiting(cell, wait),
        });
        if !(idle && self.write_through(st)) {
            Self::wake_writer(st, was_empty);
        }
        cell
    }

    /// Nothing in flight, nothing queued, no write under way and no caller about to
    /// collect a reply (and perhaps send again), on a client with this one connection: a
    /// command queued now would be the writer's only one, so its caller writes it itself
    /// (see "Writing through").
    #[inline]
    fn idle(&self, st: &State) -> bool {
        st.fifo.is_empty()
            && st.wbuf.is_empty()
            && !st.writing
            && st.unclaimed == 0
            && !self.config.track_load
    }

    /// Writes the queued bytes (the command or batch just queued on an idle connection)
    /// without waiting: true when all went out; otherwise what is left stays queued for
    /// the writer (which also meets any error of the socket and retires the connection).
    #[inline]
    fn write_through(&self, st: &mut State) -> bool {
        let Some(link) = &st.link else {
            return false;
        };
        let Some(Ok(n)) = link.wr.try_write(&st.wbuf) else {
            return false;
        };
        #[cfg(test)]
        {
            self.writes
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.writes_through
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        self.site.written(n);
        if n == st.wbuf.len() {
            st.wbuf.clear();
            true
        } else {
            bytes::Buf::advance(&mut st.wbuf, n);
            false
        }
    }

    /// Stores `reply` in `cell` and adds its caller to `wakers` (to wake once the lock is
    /// released), or, when the caller gave up, frees the cell and hands the reply back
    /// (to drop once the lock is released).
    #[inline]
    fn complete(st: &mut State, cell: u32, reply: Reply, wakers: &mut Vec<Waker>) -> Option<Reply> {
        let c = &mut st.cells[cell as usize];
        if c.abandoned {
            c.abandoned = false;
            Self::release(st, cell);
            return Some(reply);
        }
        c.reply = Some(reply);
        wakers.extend(c.waker.take());
        st.unclaimed += 1;
        None
    }

    /// The caller's side of a cell: takes the reply if it is in (freeing the cell),
    /// otherwise makes sure `waker` is the one woken.
    #[inline]
    fn poll_cell(&self, cell: u32, waker: &Waker) -> Poll<Reply> {
        let mut st = lock(&self.state);
        let c = &mut st.cells[cell as usize];
        match c.reply.take() {
            Some(reply) => {
                st.unclaimed -= 1;
                Self::release(&mut st, cell);
                Poll::Ready(reply)
            }
            None => {
                match &c.waker {
                    Some(w) if w.will_wake(waker) => {}
                    _ => c.waker = Some(waker.clone()),
                }
                Poll::Pending
            }
        }
    }

    /// Frees `cell` (empty, not abandoned).
    #[inline]
    fn release(st: &mut State, cell: u32) {
        st.free.push(cell);
        if st.free.len() == st.cells.len() && st.cells.len() > KEEP_CELLS {
            st.cells = Vec::new();
            st.free = Vec::new();
        }
    }

    /// The caller of `cell` gave up: free it if its reply is in, else leave it to the
    /// reader to free when the reply comes.
    #[cold]
    fn abandon(&self, cell: u32) {
        let mut st = lock(&self.state);
        let c = &mut st.cells[cell as usize];
        let waker = c.waker.take();
        let reply = c.reply.take();
        if reply.is_some() {
            st.unclaimed -= 1;
            Self::release(&mut st, cell);
        } else {
            c.abandoned = true;
        }
        drop(st);
        // Dropped outside the lock: a reply can be large.
        drop((waker, reply));
    }

    /// Appends several commands contiguously (nothing from another caller can come
    /// between them: MULTI … EXEC relies on it) with one slot for all their replies.
    /// `commands` must not be empty.
    fn enqueue_many(&self, st: &mut State, commands: &[Args]) -> oneshot::Receiver<BatchReply> {
        let (tx, rx) = oneshot::channel();
        let idle = self.idle(st);
        let was_empty = st.wbuf.is_empty();
        for c in commands {
            c.write_command(&mut st.wbuf);
        }
        st.fifo.push_back(Slot::Many {
            tx,
            left: commands.len(),
            got: Vec::with_capacity(commands.len()),
        });
        if !(idle && self.write_through(st)) {
            Self::wake_writer(st, was_empty);
        }
        rx
    }

    #[inline]
    fn wake_writer(st: &State, was_empty: bool) {
        // Only the first command after a drain needs to wake the writer: it drains
        // everything else queued meanwhile.
        if was_empty {
            if let Some(link) = &st.link {
                link.notify.notify_one();
            }
        }
    }

    /// The slow path of one command: health check, reconnect, then queue and wait.
    pub(crate) async fn send_slow(self: &Arc<Self>, args: Args, wait: Option<ServerWait>) -> Reply {
        let cell = self
            .enqueue_slow(|st| self.enqueue(st, &args, None, wait))
            .await?;
        ReplyWait { mux: self, cell }.await
    }

    /// Sends a batch (see [`Mux::enqueue_many`]) and waits for all its replies.
    pub(crate) async fn send_batch(self: &Arc<Self>, commands: &[Args]) -> BatchReply {
        if commands.is_empty() {
            return Ok(Vec::new());
        }
        let fast = if self.hold.is_held() {
            None
        } else {
            self.with_link(true, |st| self.enqueue_many(st, commands))
        };
        match fast {
            Some(rx) => rx.await.unwrap_or_else(|_| Err(dropped())),
            None => {
                let rx = self
                    .enqueue_slow(|st| self.enqueue_many(st, commands))
                    .await?;
                rx.await.unwrap_or_else(|_| Err(dropped()))
            }
        }
    }

    /// Health check and reconnect as needed, then runs `enqueue` on the live connection.
    async fn enqueue_slow<X>(self: &Arc<Self>, enqueue: impl Fn(&mut State) -> X) -> Result<X> {
        self.hold.wait().await;
        self.health_check().await;
        if let Some(x) = self.with_link(false, &enqueue) {
            return Ok(x);
        }
        self.connect().await?;
        self.with_link(false, &enqueue).ok_or_else(|| {
            Error::ConnectionClosed("the connection was lost right after reconnecting".into())
        })
    }

    /// When the connection has been idle longer than the interval, sends a PING and waits
    /// for it; if it fails or times out the connection is retired, so the caller's
    /// command goes to a fresh connection.
    async fn health_check(&self) {
        if self.config.health_check_interval.is_none() {
            return;
        }
        let (cell, gen) = {
            let mut st = lock(&self.state);
            let now = Instant::now();
            if st.link.is_none() || !self.health_check_due(&st, now) {
                return;
            }
            // Callers arriving meanwhile skip the check (the FIFO is not empty): this one
            // covers them. Should this caller give up before the PING is answered, the
            // watchdog still retires the connection if it stays silent.
            st.busy_since = now;
            st.probe_until = Some(now + self.config.health_check_timeout);
            let mut ping = Args::with_capacity(16);
            ping.push_bytes(b"PING");
            (self.enqueue(&mut st, &ping, None, None), st.gen)
        };
        // Ends the probe however this future ends, cancellation included.
        struct Probe<'m>(&'m Mux, u64);
        impl Drop for Probe<'_> {
            fn drop(&mut self) {
                let mut st = lock(&self.0.state);
                if st.gen == self.1 {
                    st.probe_until = None;
                }
            }
        }
        let _probe = Probe(self, gen);
        let wait = ReplyWait { mux: self, cell };
        let timeout = self.config.health_check_timeout;
        if !matches!(tokio::time::timeout(timeout, wait).await, Ok(Ok(_))) {
            let err = Error::ConnectionClosed(format!(
                "health check: the server did not answer PING within {timeout:?} (health_check_timeout)"
            ));
            self.site.health_check_failed(&err);
            self.fail(gen, err);
        }
    }

    /// Establishes a connection unless one is live. Concurrent callers share one attempt:
    /// those who waited while it failed get its error instead of trying again.
    pub(crate) async fn connect(self: &Arc<Self>) -> Result<()> {
        let seen = lock(&self.state).attempts;
        let _guard = self.connect_lock.lock().await;
        {
            let st = lock(&self.state);
            if st.shut_down {
                return Err(Error::ConnectionClosed("the client was dropped".into()));
            }
            if st.link.is_some() {
                return Ok(());
            }
            if let Some((at, err)) = &st.last_failure {
                if st.attempts != seen || at.elapsed() < backoff(st.failures) {
                    return Err(err.clone());
                }
            }
        }
        let result = connection::connect(&self.config.info).await;
        let mut st = lock(&self.state);
        st.attempts += 1;
        match result {
            Ok(conn) => {
                st.failures = 0;
                st.last_failure = None;
                if st.shut_down {
                    return Err(Error::ConnectionClosed("the client was dropped".into()));
                }
                #[cfg(any(feature = "tracing", feature = "metrics"))]
                let (addr, previous) = (conn.addr.clone(), st.last_loss.take());
                self.install(&mut st, conn);
                #[cfg(any(feature = "tracing", feature = "metrics"))]
                {
                    let gen = st.gen;
                    drop(st);
                    self.site.connected(&addr, gen, previous.as_ref());
                }
                Ok(())
            }
            Err(err) => {
                st.failures = st.failures.saturating_add(1);
                st.last_failure = Some((Instant::now(), err.clone()));
                if self.config.track_load {
                    self.unavailable_for(backoff(st.failures));
                }
                drop(st);
                self.site.connect_failed(&err);
                Err(err)
            }
        }
    }

    /// After a failed connect, among several connections: none is sent here (the others
    /// take the commands, where this one would fail them at once with the connect error)
    /// until the backoff has passed; then it is available again, and the next command
    /// that picks it reconnects.
    fn unavailable_for(self: &Arc<Self>, delay: Duration) {
        self.load.store(UNAVAILABLE, Ordering::Relaxed);
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            if let Some(mux) = weak.upgrade() {
                let st = lock(&mux.state);
                if st.link.is_none() && !st.shut_down {
                    mux.load.store(0, Ordering::Relaxed);
                }
            }
        });
    }

    /// Starts the reader and writer tasks of a fresh connection as a new generation.
    fn install(self: &Arc<Self>, st: &mut State, conn: connection::Connection) {
        st.gen += 1;
        let gen = st.gen;
        debug_assert!(st.fifo.is_empty() && st.wbuf.is_empty());
        st.wbuf.clear();
        // A fresh connection counts as just heard from.
        self.note_read();
        st.busy_since = Instant::now();
        st.probe_until = None;
        self.note_load(st);
        let (rd, wr) = conn.stream.split();
        let wr = Arc::new(wr);
        st.writing = false;
        let notify = Arc::new(Notify::new());
        let reader = tokio::spawn(read_loop(
            self.clone(),
            gen,
            rd,
            conn.read_buf,
            conn.decoder,
        ));
        let writer = tokio::spawn(write_loop(self.clone(), gen, wr.clone(), notify.clone()));
        let watchdog = self
            .config
            .health_check_interval
            .map(|interval| tokio::spawn(watch_loop(self.clone(), gen, interval)).abort_handle());
        st.link = Some(Link {
            notify,
            wr,
            reader: reader.abort_handle(),
            writer: writer.abort_handle(),
            watchdog,
        });
    }

    /// Retires generation `gen`: every waiting caller gets `err`, queued commands are
    /// dropped unsent, both tasks stop. No-op when `gen` is already retired.
    pub(crate) fn fail(&self, gen: u64, err: Error) {
        let mut st = lock(&self.state);
        if st.gen != gen {
            return;
        }
        let Some(link) = st.link.take() else {
            return;
        };
        #[cfg(any(feature = "tracing", feature = "metrics"))]
        {
            st.last_loss = Some(err.clone());
        }
        Self::reset_buffers(&mut st);
        // Invalidations for what this connection read may be lost with it.
        if let Some(cache) = &self.config.cache {
            cache.clear();
        }
        let fifo = std::mem::take(&mut st.fifo);
        self.note_load(&st);
        let mut wakers = Vec::new();
        let mut batches = Vec::new();
        for slot in fifo {
            match slot {
                Slot::One(cell) | Slot::Waiting(cell, _) => {
                    Self::complete(&mut st, cell, Err(err.clone()), &mut wakers);
                }
                Slot::Many { tx, .. } => batches.push(tx),
            }
        }
        drop(st);
        link.reader.abort();
        link.writer.abort();
        if let Some(w) = link.watchdog {
            w.abort();
        }
        wakers.into_iter().for_each(Waker::wake);
        for tx in batches {
            // A receiver that is gone has nothing to be told.
            let _ = tx.send(Err(err.clone()));
        }
        self.site.lost(&err);
    }

    fn reset_buffers(st: &mut State) {
        if st.wbuf.capacity() > KEEP_BUFFER {
            st.wbuf = BytesMut::with_capacity(WRITE_BUFFER);
        } else {
            st.wbuf.clear();
        }
    }

    /// Closes the live connection (if any) with `err`; the next command reconnects.
    pub(crate) fn drop_connection(&self, err: Error) {
        let gen = lock(&self.state).gen;
        self.fail(gen, err);
    }

    /// Closes the connection for good (the client was dropped).
    pub(crate) fn shutdown(&self) {
        let gen = {
            let mut st = lock(&self.state);
            st.shut_down = true;
            st.gen
        };
        self.fail(
            gen,
            Error::ConnectionClosed("the client was dropped".into()),
        );
    }

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

/// The error for a batch slot whose sender vanished without an answer (cannot normally
/// happen: every slot is answered or failed).
pub(crate) fn dropped() -> Error {
    Error::ConnectionClosed("the connection was closed before the reply arrived".into())
}

/// Waits for the reply in one cell. Dropping it before the reply came abandons the cell:
/// the reply is read and discarded when it comes.
pub(crate) struct ReplyWait<'m> {
    mux: &'m Mux,
    cell: u32,
}

impl Future for ReplyWait<'_> {
    type Output = Reply;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Reply> {
        if self.cell == u32::MAX {
            return Poll::Ready(Err(Error::Usage("reply polled after completion".into())));
        }
        let ready = self.mux.poll_cell(self.cell, cx.waker());
        if ready.is_ready() {
            // Freed by `poll_cell`: make `drop` a no-op.
            self.cell = u32::MAX;
        }
        ready
    }
}

impl Drop for ReplyWait<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.cell != u32::MAX {
            self.mux.abandon(self.cell);
        }
    }
}

async fn write_loop(mux: Arc<Mux>, gen: u64, wr: Arc<connection::WriteHalf>, notify: Arc<Notify>) {
    let mut out = BytesMut::with_capacity(WRITE_BUFFER);
    let err = loop {
        let (idle, pending) = {
            let mut st = lock(&mux.state);
            if st.gen != gen || st.link.is_none() {
                return;
            }
            if st.wbuf.is_empty() {
                st.writing = false;
                (true, 0)
            } else {
                st.writing = true;
                // Double buffering: callers keep appending to the other buffer while
                // this one is written, and no allocation happens in the steady state.
                std::mem::swap(&mut st.wbuf, &mut out);
                // The batch is taken: a command now starts the next one.
                mux.note_load(&st);
                (false, st.fifo.len())
            }
        };
        if idle {
            // A `notify_one` that raced with the emptiness check left a permit, so this
            // cannot miss a wake-up.
            notify.notified().await;
            // Let the tasks that are ready (typically the ones the reader just woke)
            // queue their commands too, so they share this write: a syscall per
            // command would dominate the cost of a command. Stop as soon as a yield
            // brought nothing new.
            let mut len = lock(&mux.state).wbuf.len();
            for _ in 0..4 {
                requeue().await;
                let now = lock(&mux.state).wbuf.len();
                if now == len {
                    break;
                }
                len = now;
            }
            continue;
        }
        #[cfg(test)]
        mux.writes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Err(e) = wr.write_all(&out).await {
            break Error::io("writing to the server", e);
        }
        mux.site.written(out.len());
        mux.site.pending(pending);
        if out.capacity() > KEEP_BUFFER {
            out = BytesMut::with_capacity(WRITE_BUFFER);
        } else {
            out.clear();
        }
    };
    mux.fail(gen, err);
}

/// Puts the current task at the back of the scheduler's run queue once, behind the tasks
/// that are ready now. Unlike `tokio::task::yield_now`, which defers the task until the
/// runtime has polled its I/O driver (an `epoll_wait` per yield), this lets the ready
/// tasks run and queue their commands without a syscall.
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

async fn read_loop<R: AsyncRead + Unpin>(
    mux: Arc<Mux>,
    gen: u64,
    mut rd: R,
    mut buf: BytesMut,
    mut decoder: Decoder,
) {
    let track_io = mux.config.health_check_interval.is_some();
    // Reused across reads: replies of one read, the callers to wake, completed batches.
    let mut replies: Vec<Value> = Vec::with_capacity(64);
    let mut wakers: Vec<Waker> = Vec::with_capacity(64);
    let mut done: Vec<Done> = Vec::new();
    let mut discarded: Vec<Reply> = Vec::new();
    // Size of the largest reply of the last read, when it was large.
    let mut large_reply = 0usize;
    let err = loop {
        let mut failure = None;
        loop {
            // Runs of small replies (GET, INCR, SET …) in one split of the buffer.
            large_reply = large_reply.max(decoder.decode_scalars(&mut buf, &mut replies));
            let before = buf.len();
            match decoder.decode(&mut buf) {
                // A push answers no command, whatever attributes precede it: routed aside,
                // it cannot take a caller's place in the FIFO.
                Ok(Some(v)) if v.is_push() => {
                    // An invalidation is applied now, before any reply decoded after it
                    // completes (replies decoded before it are refused by the cache if
                    // they were in flight: see `cache`).
                    if let Some(cache) = &mux.config.cache {
                        cache.on_push(&v);
                    }
                    // Nobody listening is fine: pushes are optional information.
                    let _ = mux.push_tx.send(v);
                }
                Ok(Some(v)) => {
                    large_reply = large_reply.max(before - buf.len());
                    replies.push(v);
                }
                Ok(None) => break,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        if !replies.is_empty() {
            let mut st = lock(&mux.state);
            if st.gen != gen || st.link.is_none() {
                return;
            }
            for reply in replies.drain(..) {
                match st.fifo.front_mut() {
                    None => {
                        failure = Some(Error::Protocol(
                            "the server sent a reply that no command was waiting for".into(),
                        ));
                        break;
                    }
                    Some(Slot::Many { left, got, .. }) if *left > 1 => {
                        got.push(reply);
                        *left -= 1;
                    }
                    Some(_) => match st.fifo.pop_front() {
                        Some(Slot::One(cell) | Slot::Waiting(cell, _)) => {
                            if let Some(r) = Mux::complete(&mut st, cell, Ok(reply), &mut wakers) {
                                discarded.push(r);
                            }
                        }
                        Some(Slot::Many { tx, mut got, .. }) => {
                            got.push(reply);
                            done.push(Done(tx, got));
                        }
                        None => {}
                    },
                }
            }
            replies.clear();
            mux.note_load(&st);
            drop(st);
            // Waking outside the lock keeps callers' wake-ups off it. A send fails only
            // when the caller gave up: the replies are dropped here, on purpose.
            wakers.drain(..).for_each(Waker::wake);
            discarded.clear();
            for Done(tx, vs) in done.drain(..) {
                let _ = tx.send(Ok(vs));
            }
        }
        if let Some(e) = failure {
            break e;
        }
        if buf.is_empty() && large_reply > READ_CHUNK && buf.capacity() < large_reply {
            // Large replies tend to come in series (LRANGE, HGETALL of a big hash): room
            // for the next one up front, rather than growing the buffer (and copying what
            // it holds) several times per reply.
            buf = BytesMut::with_capacity(large_reply.min(MAX_READ_HINT) + READ_CHUNK);
            large_reply = 0;
        } else if buf.is_empty() && buf.capacity() > 4 * KEEP_BUFFER {
            // After a huge reply, do not keep its buffer for the life of the connection.
            buf = BytesMut::with_capacity(READ_CHUNK);
        } else if buf.capacity() - buf.len() < READ_CHUNK / 4 {
            buf.reserve(READ_CHUNK);
        }
        match rd.read_buf(&mut buf).await {
            Ok(0) => break Error::ConnectionClosed("the server closed the connection".into()),
            Ok(n) => {
                mux.site.read(n);
                // Any byte counts as a sign of life, a reply still incomplete included.
                if track_io {
                    mux.note_read();
                }
            }
            Err(e) => break Error::io("reading from the server", e),
        }
    };
    if matches!(err, Error::Protocol(_)) {
        mux.site.protocol_error(&err);
    }
    mux.fail(gen, err);
}

/// Retires generation `gen` when replies are due and nothing has been read for
/// `interval` (see "Health checks" above). Sleeps an interval at a time while nothing is
/// due: a reply that becomes due meanwhile is due since then, so its deadline is no
/// earlier than the next wake-up.
async fn watch_loop(mux: Arc<Mux>, gen: u64, interval: Duration) {
    loop {
        let wait = {
            let st = lock(&mux.state);
            if st.gen != gen || st.link.is_none() {
                return;
            }
            let unbounded = matches!(
                st.fifo.front(),
                Some(Slot::Waiting(_, ServerWait::Unbounded))
            );
            if st.fifo.is_empty() || unbounded {
                // Nothing due, or the oldest command in flight may keep the server silent
                // for as long as it takes (`WAIT … 0`).
                interval
            } else {
                let since = st.busy_since.max(mux.last_read());
                let mut deadline = since + interval;
                if let Some(Slot::Waiting(_, ServerWait::Bounded(d))) = st.fifo.front() {
                    // The oldest command in flight may keep the server silent as long as
                    // its own timeout says: the interval counts from the end of that. (It
                    // is the oldest: the server answered everything before it, so it
                    // started on it no earlier than `since`.)
                    deadline += *d;
                }
                if let Some(until) = st.probe_until {
                    // A health-check PING has its own timeout, which its sender enforces.
                    deadline = deadline.max(until);
                }
                let now = Instant::now();
                let silent = now.saturating_duration_since(since);
                if now >= deadline {
                    drop(st);
                    let err = Error::ConnectionClosed(format!(
                        "the server sent nothing for {silent:?} while replies were due \
                         (health_check_interval {interval:?}): the connection is presumed dead"
                    ));
                    mux.site.health_check_failed(&err);
                    mux.fail(gen, err);
                    return;
                }
                deadline - now
            }
        };
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    //! Fake servers (plain tokio listeners) for what a real server will not do on demand:
    //! hostile bytes, late replies, counted writes.

    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use bytes::{Bytes, BytesMut};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

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
                let r =
                    tokio::time::timeout(Duration::from_secs(2), client.send(cmd(&["GET", "k"])))
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
            assert!(matches!(r, Err(Error::Timeout(_))), "{name}: {r:?}");
            let grown = rss_bytes().saturating_sub(before);
            assert!(grown < 64 << 20, "{name}: memory grew by {grown} bytes");
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
        assert!(matches!(r, Err(Error::Timeout(_))), "{r:?}");
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
        assert!(
            w < 32 * 20 / 4,
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
        let waiting =
            tokio::time::timeout(Duration::from_millis(300), client.send(cmd(&["GET", "a"])));
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
                            assert!(started.elapsed() < timeout * 4, "{:?}", started.elapsed());
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
            replaced < interval + Duration::from_millis(400),
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
}
