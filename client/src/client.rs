//! [`Client`]: the handle applications use, its configuration, and the raw command path.
//!
//! Owns: `Client` / [`ClientConfig`], the future that sends one command
//! ([`ExecFuture`]), the [`Handle`] implementation that generated command builders,
//! raw [`Cmd`]s (`client.cmd("…")`) and pipelines go through, and the choice of the connection each command
//! takes: a dedicated one for blocking commands, else the shared one (the least loaded,
//! with several), or every shared one for `WAIT` over several connections. Does not own: the connection machinery (see
//! `mux`), dedicated connections (see [`crate::pool`] and [`crate::dedicated`]) or typed
//! decoding (see [`FromValue`]).
//!
//! The shared connection takes no command that changes the state of the connection it
//! runs on (`SELECT`, `CLIENT REPLY`, `MULTI`, `SUBSCRIBE`, …: the generated tables'
//! `connection_state`). Generated methods for them do not compile on `&Client`; the raw
//! paths ([`Client::cmd`], [`Client::send`], [`Client::send_batch`], and
//! [`Handle::execute`] with or without metadata) refuse them before sending, with
//! [`Error::SharedConnection`].

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::broadcast;
use tokio::time::Sleep;

use crate::batch::{Batch, BatchFuture};
use crate::cache::{Cache, CacheConfig, Ticket};
use crate::cmd::Args;
use crate::connection::ConnectionInfo;
use crate::error::{Error, Result, TimeoutKind, UsageKind};
use crate::exec::Handle;
pub use crate::exec::{Cmd, CmdFuture};
use crate::hold::Hold;
use crate::meta::{CommandMeta, Dispatch, ResponsePolicy, ServerWait};
use crate::mux::{Load, Mux, MuxConfig, Reply, ReplyWait};
use crate::observe;
use crate::pipeline::Pipeline;
use crate::pool::{Pool, PoolConfig};
use crate::resp::Limits;
use crate::value::{decode, FromValue, Value};

/// How a [`Client`] connects and behaves. Built from a URL, then adjusted:
///
/// ```no_run
/// # async fn f() -> typedis::Result<()> {
/// use std::time::Duration;
/// let config = typedis::ClientConfig::new("redis://127.0.0.1:6379/0")?
///     .command_timeout(Some(Duration::from_secs(5)))
///     .health_check_interval(Some(Duration::from_secs(30)));
/// let client = typedis::Client::with_config(config).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ClientConfig {
    info: ConnectionInfo,
    command_timeout: Option<Duration>,
    push_capacity: usize,
    pool: PoolConfig,
    reconnect_on_readonly: bool,
    cache: Option<CacheConfig>,
}

impl ClientConfig {
    /// Parses a connection URL (`redis://[user:pass@]host:port[/db][?protocol=2]`, …).
    pub fn new(url: &str) -> Result<Self> {
        Ok(Self::from_info(ConnectionInfo::parse(url)?))
    }

    /// Uses already parsed connection settings.
    pub fn from_info(info: ConnectionInfo) -> Self {
        ClientConfig {
            info,
            command_timeout: None,
            push_capacity: 1024,
            reconnect_on_readonly: false,
            pool: PoolConfig::default(),
            cache: None,
        }
    }

    /// Default timeout of every command, connecting included (default: none). A command
    /// that times out fails with [`Error::Timeout`]; its reply is discarded when it comes.
    pub fn command_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.command_timeout = timeout;
        self
    }

    /// Health checks (default: the URL's `health_check_interval`, else none):
    /// - when the shared connection has been idle longer than this, the next command is
    ///   preceded by a PING; if that is not answered within
    ///   [`health_check_timeout`](Self::health_check_timeout), the command goes to a
    ///   fresh connection;
    /// - when replies are due on the shared connection and nothing at all has been read
    ///   from it for this long, the peer is presumed dead (a paused process, a half-open
    ///   connection, a partition that sends no RST): every waiting caller gets a
    ///   connection error at once and the next command reconnects. So keep the interval
    ///   above the slowest command you run on the shared connection;
    /// - a dedicated connection idle in the pool for longer than this is PINGed before it
    ///   is handed out, and a subscription ([`Client::subscribe`]) that has read nothing
    ///   for this long sends a PING, reconnecting and subscribing again when it is not
    ///   answered within the timeout.
    ///
    /// Without health checks, a silent peer is only noticed when the operating system
    /// reports the connection broken: commands time out (with a
    /// [`command_timeout`](Self::command_timeout)) but the connection stays.
    pub fn health_check_interval(mut self, interval: Option<Duration>) -> Self {
        self.info = self.info.health_check_interval(interval);
        self
    }

    /// How long the health-check PING may take (default: the URL's
    /// `health_check_timeout`, else 2 s).
    pub fn health_check_timeout(mut self, timeout: Duration) -> Self {
        self.info = self.info.health_check_timeout(timeout);
        self
    }

    /// Limits of the reply decoder (default: [`Limits::default`], or the URL's
    /// `max_frame_bytes`, `max_bulk_len`, … options). A reply over a limit fails its
    /// command with [`Error::Protocol`] and closes the connection; the error names the
    /// limit to raise.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.info = self.info.limits(limits);
        self
    }

    /// How many RESP3 push frames may wait for slow [`Client::push_messages`] receivers
    /// before the oldest are dropped (default: 1024).
    pub fn push_capacity(mut self, capacity: usize) -> Self {
        self.push_capacity = capacity;
        self
    }

    /// How many multiplexed connections the client opens (default: the URL's
    /// `connections`, else 1; at most
    /// [`MAX_CONNECTIONS`](crate::connection::MAX_CONNECTIONS)). Each command joins a
    /// batch forming on one of them (up to 32 commands in flight there), else goes to
    /// the one with the fewest commands in flight; each batches what is queued for it,
    /// and a pipeline or transaction goes whole to one. Each connection reconnects and is
    /// health-checked on its own; clones share them all, and the dedicated connections'
    /// pool is one for all. More than one helps when one connection is the bottleneck
    /// (large values, many cores, a slow command delaying the others behind it).
    ///
    /// `WAIT` and `WAITAOF` then run on every connection and answer the smallest count:
    /// how many replicas acknowledged every write the client sent before, whichever
    /// connection carried it.
    pub fn connections(mut self, n: usize) -> Self {
        self.info.connections = n.clamp(1, crate::connection::MAX_CONNECTIONS);
        self
    }

    /// Maximum number of dedicated connections (default: 16).
    pub fn pool_max_size(mut self, size: usize) -> Self {
        self.pool.max_size = size.max(1);
        self
    }

    /// Idle dedicated connections older than this are closed (default: 60 s).
    pub fn pool_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.pool.idle_timeout = timeout;
        self
    }

    /// When a write is refused with `READONLY` (the node was demoted to a replica),
    /// close the connection so the next command reconnects — and, with a resolver
    /// (Sentinel), finds the new master. Off by default.
    pub fn reconnect_on_readonly(mut self, yes: bool) -> Self {
        self.reconnect_on_readonly = yes;
        self
    }

    /// Client-side caching (default: off): the replies of cacheable reads
    /// ([`CommandMeta::cacheable`]: `GET`, `HGETALL`, `SMEMBERS`, `ZRANGE`, … as the
    /// generated tables say) are kept, keyed by the whole command, and served without
    /// touching the connection until the server says the key changed. Every multiplexed
    /// connection runs `CLIENT TRACKING ON` in its handshake (so again after each
    /// reconnect); the invalidations it pushes evict the key's entries, a flush or a
    /// lost connection everything. A read in flight when its key is invalidated returns
    /// its reply without keeping it.
    ///
    /// Only single commands sent through the client (generated methods, [`Client::cmd`],
    /// [`Client::send`]) use the cache; pipelines, transactions, dedicated connections and
    /// blocking commands bypass it. Needs RESP3: connecting with `protocol=2`, or to a
    /// server without RESP3, fails with [`Error::Usage`] ([`UsageKind::InvalidConfig`](crate::error::UsageKind)).
    pub fn cache(mut self, cache: CacheConfig) -> Self {
        self.cache = Some(cache);
        self
    }

    /// The connection settings.
    pub fn connection_info(&self) -> &ConnectionInfo {
        &self.info
    }

    /// The same settings with other connection settings (e.g. a resolved address).
    pub(crate) fn connection(mut self, info: ConnectionInfo) -> Self {
        self.info = info;
        self
    }
}

/// A Redis / Valkey client: one multiplexed connection shared by every clone and task (or
/// several: [`ClientConfig::connections`]), plus a small pool of dedicated connections.
///
/// Cloning is cheap (an `Arc`); all clones share the connection. Commands from concurrent
/// tasks are written in batches and their replies routed back in order. A command whose
/// future is dropped or times out never shifts replies onto another caller. When the
/// connection is lost, every waiting command fails with a connection error and the next
/// command reconnects.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

/// A [`Client`] handle that does not keep it alive (for background watchers).
pub(crate) struct WeakClient(std::sync::Weak<Inner>);

impl WeakClient {
    /// The client, if it still exists.
    pub(crate) fn upgrade(&self) -> Option<Client> {
        self.0.upgrade().map(|inner| Client { inner })
    }
}

struct Inner {
    /// The multiplexed connections: one unless configured otherwise.
    muxes: Box<[Arc<Mux>]>,
    /// Holds new commands on every connection (Sentinel failovers).
    hold: Arc<Hold>,
    pool: Pool,
    command_timeout: Option<Duration>,
    reconnect_on_readonly: bool,
    /// The client-side cache, if configured.
    cache: Option<Arc<Cache>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The reader and writer tasks hold the `Mux`; stop them with the last handle.
        for mux in self.muxes.iter() {
            mux.shutdown();
        }
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("info", &self.inner.mux().config().info)
            .field("connections", &self.inner.muxes.len())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Connects to the server at `url` (`redis://host:port/db`, `rediss://…`,
    /// `unix:///path`). Fails if the first connection cannot be made.
    pub async fn connect(url: &str) -> Result<Client> {
        Client::with_config(ClientConfig::new(url)?).await
    }

    /// Connects with explicit settings.
    pub async fn with_config(config: ClientConfig) -> Result<Client> {
        let n = config
            .info
            .connections
            .clamp(1, crate::connection::MAX_CONNECTIONS);
        let cache = config.cache.clone().map(|c| Arc::new(Cache::new(c)));
        let mut info = config.info.clone();
        // Only the multiplexed connections serve cached reads: only they track.
        info.tracking = cache.is_some();
        let mux_config = MuxConfig {
            info,
            health_check_interval: config.info.health_check_interval,
            health_check_timeout: config.info.health_check_timeout,
            track_load: n > 1,
            cache: cache.clone(),
        };
        let hold = Arc::new(Hold::default());
        // One channel for every connection's pushes: `push_messages` sees them all.
        let (push_tx, _) = broadcast::channel(config.push_capacity.max(1));
        let muxes: Box<[Arc<Mux>]> = (0..n)
            .map(|_| Mux::new(mux_config.clone(), hold.clone(), push_tx.clone()))
            .collect();
        // Every connection is opened now, so that a wrong address or password fails
        // here; one at a time, as each also serializes its own attempts.
        for mux in muxes.iter() {
            if let Err(e) = mux.connect().await {
                for m in muxes.iter() {
                    m.shutdown();
                }
                return Err(e);
            }
        }
        Ok(Client {
            inner: Arc::new(Inner {
                muxes,
                hold,
                pool: Pool::new(config.info.clone(), config.pool.clone()),
                reconnect_on_readonly: config.reconnect_on_readonly,
                command_timeout: config.command_timeout,
                cache,
            }),
        })
    }

    /// Starts a raw command: `client.cmd("OBJECT").arg("ENCODING").arg("k").await`.
    /// Awaiting it yields the [`Value`]; `.decode::<T>()` converts to any
    /// [`FromValue`] type instead. An error reply becomes `Err(Error::Server)`.
    ///
    /// Raw commands always go to the shared connection: a blocking command (`BLPOP`,
    /// `XREAD BLOCK`, …) sent this way holds up every other caller until it returns.
    /// Send those on a [`Client::dedicated`] connection instead. A command that changes
    /// the state of the connection (`SELECT`, `CLIENT REPLY`, `MULTI`, `SUBSCRIBE`, …)
    /// fails with [`Error::SharedConnection`] without being sent; it works on
    /// [`Client::dedicated`].
    ///
    /// ```no_run
    /// # async fn f(client: &typedis::Client) -> typedis::Result<()> {
    /// let err = client.cmd("SELECT").arg(1).await.unwrap_err();
    /// assert!(err.is_shared_connection());
    /// let conn = client.dedicated().await?;
    /// conn.send(client.cmd("SELECT").arg(1).as_args()).await?;
    /// # Ok(()) }
    /// ```
    pub fn cmd(&self, name: &str) -> Cmd<&Client> {
        Handle::cmd(self, name)
    }

    /// A pipeline: commands sent together, in one write, replies decoded into a tuple
    /// (see [`Pipeline`]).
    ///
    /// ```no_run
    /// # async fn f(client: &typedis::Client) -> typedis::Result<()> {
    /// use typedis::prelude::*;
    /// let (set, value) = client.pipeline().set("a", "1").get("a").execute().await?;
    /// # let _: (bool, Option<typedis::Bytes>) = (set, value);
    /// # Ok(()) }
    /// ```
    pub fn pipeline(&self) -> Pipeline<'_, ()> {
        Pipeline::new(self)
    }

    /// A transaction: like [`pipeline`](Self::pipeline), wrapped in `MULTI … EXEC`.
    pub fn transaction(&self) -> Pipeline<'_, ()> {
        Pipeline::transaction(self)
    }

    /// Sends already encoded arguments, with the client's default timeout. Refuses
    /// connection-state commands as [`cmd`](Self::cmd) does.
    pub fn send(&self, mut args: Args) -> ExecFuture<'_> {
        refuse_on_shared(&mut args, None);
        ExecFuture {
            exec: Exec::new(self, args, None, self.inner.command_timeout),
        }
    }

    /// Sends several commands back to back and returns their replies in order. The
    /// commands are contiguous on the shared connection (no other caller's command comes
    /// between them) and go out in one write. Error replies stay in the vector as
    /// [`Value::Error`]; `Err` means the batch as a whole failed (connection lost,
    /// timeout with the client's default timeout), or it held a command that changes
    /// the connection's state ([`Error::SharedConnection`], nothing sent: a
    /// `MULTI … EXEC` is [`Client::transaction`]).
    pub async fn send_batch(&self, commands: &[Args]) -> Result<Vec<Value>> {
        for c in commands {
            crate::meta::check_shared(None, c)?;
        }
        self.send_batch_unchecked(commands).await
    }

    /// [`send_batch`](Self::send_batch) for batches the runtime built itself and
    /// vouches for: a transaction's `MULTI … EXEC` around checked commands, a cluster
    /// redirection's `ASKING` before its command. Contiguity makes those safe on the
    /// shared connection.
    pub(crate) async fn send_batch_unchecked(&self, commands: &[Args]) -> Result<Vec<Value>> {
        crate::cmd::check_batch(commands)?;
        let mut op = observe::Op::batch(self.site(), commands);
        let batch = self.inner.mux().send_batch(commands);
        let replies = match self.inner.command_timeout {
            Some(d) => tokio::time::timeout(d, batch)
                .await
                .unwrap_or(Err(Error::timeout(TimeoutKind::Command, d))),
            None => batch.await,
        };
        op.end(self.site(), &replies);
        replies
    }

    /// RESP3 push frames the server sent on the shared connection (client-side caching
    /// invalidations, …). They never reach command callers. Frames sent before this is
    /// called are not seen; a receiver that falls behind by more than the configured
    /// capacity loses the oldest frames.
    pub fn push_messages(&self) -> broadcast::Receiver<Value> {
        self.inner.muxes[0].subscribe_pushes()
    }

    /// What the client-side cache did since the client was created (hits, misses,
    /// evictions, invalidations, …), or `None` without [`ClientConfig::cache`].
    pub fn cache_stats(&self) -> Option<crate::cache::CacheStats> {
        self.inner.cache.as_ref().map(|c| c.stats())
    }

    /// Empties the client-side cache, if any (a cluster slot of this node moved).
    pub(crate) fn clear_cache(&self) {
        if let Some(c) = &self.inner.cache {
            c.clear();
        }
    }

    /// The pool of dedicated connections (for blocking commands, WATCH, PubSub).
    pub fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    /// Closes the shared connections now (e.g. Sentinel announced a new master); waiting
    /// callers get a connection error and the next command reconnects. Idle dedicated
    /// connections are closed too, so none is reused on the old node.
    pub(crate) fn drop_connection(&self, reason: &str) {
        for mux in self.inner.muxes.iter() {
            mux.drop_connection(Error::ConnectionClosed(reason.to_owned()));
        }
        self.inner.pool.clear_idle();
    }

    /// What spans and metrics name the shared connections (their endpoint).
    pub(crate) fn site(&self) -> &crate::observe::Site {
        self.inner.muxes[0].site()
    }

    /// The gate that holds new commands back on every connection (Sentinel failovers).
    pub(crate) fn hold(&self) -> &Hold {
        &self.inner.hold
    }

    /// A handle that does not keep the client alive.
    pub(crate) fn downgrade(&self) -> WeakClient {
        WeakClient(Arc::downgrade(&self.inner))
    }

    #[cfg(test)]
    pub(crate) fn mux(&self) -> &Arc<Mux> {
        &self.inner.muxes[0]
    }
}

impl Inner {
    /// The connection the next command goes to: the only one, or the one with the fewest
    /// commands in flight. With one connection this is a length check: no lock, no
    /// atomic, no allocation on the fast path.
    #[inline]
    fn mux(&self) -> &Arc<Mux> {
        match &*self.muxes {
            [only] => only,
            muxes => least_loaded(muxes),
        }
    }
}

/// A connection whose batch is forming takes more commands, up to this many in flight,
/// before the least loaded is preferred.
const JOIN_BATCH: usize = 32;

/// The connection the next command goes to, among several. A connection where a batch
/// is forming (commands queued, not yet taken by its writer) is preferred while it has
/// fewer than [`JOIN_BATCH`] commands in flight: the command then shares that write,
/// so the callers one batch of replies woke stay together as the next batch, instead of
/// spreading over every connection one write each (syscalls and wake-ups per command).
/// Otherwise the connection with the fewest commands in flight. Ties are broken by a
/// per-thread rotation, so that an idle client does not pile onto the first connection;
/// a connection that just failed to connect (`mux::UNAVAILABLE`) is picked only when
/// every one did.
fn least_loaded(muxes: &[Arc<Mux>]) -> &Arc<Mux> {
    thread_local! {
        static NEXT: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }
    let start = NEXT.with(|n| {
        let v = n.get();
        n.set(v.wrapping_add(1));
        v
    });
    let len = muxes.len();
    let mut best = start % len;
    let mut best_score = usize::MAX;
    for i in 0..len {
        let j = (start + i) % len;
        let score = match Load::of(muxes[j].load()) {
            None => continue,
            Some(l) if l.forming && l.in_flight < JOIN_BATCH => 0,
            Some(l) => l.in_flight + 1,
        };
        if score < best_score {
            best = j;
            best_score = score;
            if score == 0 {
                break;
            }
        }
    }
    &muxes[best]
}

impl<'a> Handle for &'a Client {
    type Future = ExecFuture<'a>;

    fn execute(self, args: Args, meta: Option<&'static CommandMeta>) -> ExecFuture<'a> {
        ExecFuture {
            exec: self.exec(args, meta, None),
        }
    }

    fn execute_with_timeout(
        self,
        args: Args,
        meta: Option<&'static CommandMeta>,
        timeout: Option<Duration>,
    ) -> ExecFuture<'a> {
        ExecFuture {
            exec: self.exec(args, meta, Some(timeout)),
        }
    }

    type Typed<R: FromValue> = TypedFuture<'a, R>;

    #[inline]
    fn execute_typed<R: FromValue>(
        self,
        args: Args,
        meta: &'static CommandMeta,
    ) -> TypedFuture<'a, R> {
        TypedFuture {
            notes: args.notes_handle(),
            exec: self.exec(args, Some(meta), None),
            _reply: PhantomData,
        }
    }

    fn execute_batch<'s>(self, batch: Batch) -> BatchFuture<'s>
    where
        Self: 's,
    {
        // The pipeline checked every command against a shared connection; the
        // transaction's own MULTI … EXEC is contiguous, so safe on it.
        Box::pin(async move { self.send_batch_unchecked(&batch.into_commands()).await })
    }

    fn shares_connection(self) -> bool {
        true
    }

    fn send_detached(self, args: Args) {
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let client = self.clone();
            rt.spawn(async move {
                let _ = client.send(args).await;
            });
        }
    }
}

impl Client {
    /// The state machine of one command: on the shared connection, or on a dedicated
    /// one for a blocking command. `timeout` is the caller's own (`Cmd::timeout`), if
    /// it set one.
    #[inline]
    fn exec(
        &self,
        mut args: Args,
        meta: Option<&'static CommandMeta>,
        timeout: Option<Option<Duration>>,
    ) -> Exec<'_> {
        refuse_on_shared(&mut args, meta);
        let Some(meta) = meta else {
            let timeout = timeout.unwrap_or(self.inner.command_timeout);
            return Exec::new(self, args, None, timeout);
        };
        let blocking = meta.is_blocking();
        // A blocking command's own timeout argument bounds how long it waits; the
        // client's default command timeout (meant for ordinary commands) would cut it
        // short, so it does not apply. A per-call timeout still can (`Cmd::timeout`).
        let timeout = match timeout {
            Some(t) => t,
            None if blocking => None,
            None => self.inner.command_timeout,
        };
        // A command that may block (BLPOP, XREAD …) would hold up every caller of the
        // shared connection: the generated tables say so, and it goes to a dedicated
        // connection from the pool instead. Unless the tables say it belongs on the
        // connection that carried the caller's writes (WAIT): then it stays, and the
        // silent-peer watchdog is told how long the server may take.
        let dedicated = meta.runs_dedicated();
        let server_wait = match meta.dispatch {
            Dispatch::Shared { timeout: Some(t) } if blocking => t.of(&args),
            _ => None,
        };
        let mut exec = Exec::new(self, args, Some(meta), timeout);
        exec.dedicated = dedicated;
        exec.server_wait = server_wait;
        // With several connections, the caller's writes may have gone out on any of
        // them: such a command runs on each, and the replies are combined by the
        // command's response policy (`WAIT`: the smallest count).
        exec.every_connection =
            matches!(meta.dispatch, Dispatch::Shared { .. }) && self.inner.muxes.len() > 1;
        exec.policy = meta.response_policy;
        exec
    }
}

/// Sends one command on a client's shared connection and yields its raw reply (a top-level
/// error reply as `Err(Error::Server)`). The command is queued on first poll; dropping
/// the future afterwards discards the reply when it arrives.
#[must_use = "futures do nothing unless awaited"]
pub struct ExecFuture<'a> {
    exec: Exec<'a>,
}

impl ExecFuture<'_> {
    /// Overrides the timeout (`None`: wait forever). Only effective before the first poll.
    pub fn timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.exec.timeout = timeout.into();
        self
    }
}

impl Future for ExecFuture<'_> {
    type Output = Result<Value>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Reply> {
        self.get_mut().exec.poll_reply(cx)
    }
}

/// The future of an awaited generated command builder on a [`Client`]: sends the
/// command as [`ExecFuture`] does, then decodes the reply into `R` on the caller's task
/// (an error reply, also one nested in RESP3 attributes, as `Err(Error::Server)`).
#[must_use = "futures do nothing unless awaited"]
pub struct TypedFuture<'a, R> {
    exec: Exec<'a>,
    /// Notes of arguments not every server accepts, for the server's error.
    notes: crate::cmd::Notes,
    _reply: PhantomData<fn() -> R>,
}

impl<R: FromValue> Future for TypedFuture<'_, R> {
    type Output = Result<R>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<R>> {
        let this = self.get_mut();
        this.exec
            .poll_reply(cx)
            .map(|r| decode(r, &this.notes, false))
    }
}

/// One command's way through the client: queued on first poll, then its reply awaited.
struct Exec<'a> {
    client: &'a Client,
    state: ExecState<'a>,
    timeout: Option<Duration>,
    /// Send on a dedicated connection from the pool rather than the shared one.
    dedicated: bool,
    /// How long the server may take to answer, as the command's timeout argument says.
    server_wait: Option<ServerWait>,
    /// Send on every shared connection and combine the replies by `policy`.
    every_connection: bool,
    policy: ResponsePolicy,
    // Boxed because `Sleep` is `!Unpin` and the crate has no unsafe pin projection; the
    // allocation only happens for commands that have a timeout.
    deadline: Option<Pin<Box<Sleep>>>,
    /// Its span and timing (zero-sized without the observability features).
    op: observe::Op,
    /// Its metadata, when the caller had it.
    meta: Option<&'static CommandMeta>,
    /// A cacheable read that missed: where to keep its reply.
    fill: Option<Box<Fill>>,
}

/// A read that missed the cache: its command and key, and its ticket (see `cache`).
struct Fill {
    command: Box<[u8]>,
    key: Box<[u8]>,
    ticket: Ticket,
}

enum ExecState<'a> {
    Start(Args),
    Wait(ReplyWait<'a>),
    Slow(Pin<Box<dyn Future<Output = Reply> + Send + 'a>>),
    Done,
}

impl<'a> Exec<'a> {
    #[inline]
    fn new(
        client: &'a Client,
        args: Args,
        meta: Option<&'static CommandMeta>,
        timeout: Option<Duration>,
    ) -> Self {
        Exec {
            client,
            op: observe::Op::command(client.site(), meta, &args),
            state: ExecState::Start(args),
            timeout,
            dedicated: false,
            server_wait: None,
            every_connection: false,
            policy: ResponsePolicy::Default,
            deadline: None,
            meta,
            fill: None,
        }
    }

    /// With a cache, for a cacheable command on the shared connection: its cached reply,
    /// or, on a miss, the ticket taken now, before the command is queued.
    #[inline]
    fn look_up(
        cache: &Cache,
        meta: Option<&'static CommandMeta>,
        args: &Args,
    ) -> Option<std::result::Result<Value, Box<Fill>>> {
        let meta = match meta {
            Some(m) => m,
            None => {
                let mut it = args.iter();
                crate::meta::lookup(it.next()?, it.next())?
            }
        };
        if !meta.cacheable {
            return None;
        }
        let crate::meta::BeginSearch::Index(pos) = meta.key_specs.first()?.begin_search else {
            return None;
        };
        let key = args.iter().nth(usize::try_from(pos).ok()?)?;
        Some(cache.get(args.body(), key).map_err(|ticket| {
            Box::new(Fill {
                command: args.body().into(),
                key: key.into(),
                ticket,
            })
        }))
    }

    /// Keeps a cacheable read's reply (if its ticket still holds).
    #[inline]
    fn keep(&mut self, reply: &Reply) {
        if let (Some(fill), Ok(v), Some(cache)) =
            (self.fill.take(), reply, &self.client.inner.cache)
        {
            cache.store(fill.ticket, &fill.command, &fill.key, v);
        }
    }
}

/// Marks a command that changes the state of the connection it runs on as failed
/// ([`Error::SharedConnection`]), so that it is refused unsent: the client's connection
/// is shared. `meta` when the caller has it, else looked up by name.
#[inline]
fn refuse_on_shared(args: &mut Args, meta: Option<&'static CommandMeta>) {
    if let Err(e) = crate::meta::check_shared(meta, args) {
        args.fail(e);
    }
}

/// Awaits every future, concurrently, and returns their outputs in order.
async fn join_all<F: Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, out) in futures.iter_mut().zip(outputs.iter_mut()) {
            if out.is_none() {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => *out = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// The replies of one command sent on every connection, as one: the first error, else
/// combined by the command's response policy (`AGG_MIN`: the smallest, element by
/// element for arrays such as `WAITAOF`'s; otherwise the first reply).
fn combine(replies: Vec<Reply>, policy: ResponsePolicy) -> Reply {
    let mut acc: Option<Value> = None;
    for r in replies {
        let v = top_level(r)?;
        acc = Some(match acc {
            None => v,
            Some(a) if policy == ResponsePolicy::AggMin => smaller(a, v),
            Some(a) => a,
        });
    }
    acc.ok_or_else(|| Error::usage(UsageKind::Closed, "a command sent on no connection"))
}

fn smaller(a: Value, b: Value) -> Value {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Value::Int(x.min(y)),
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            Value::Array(x.into_iter().zip(y).map(|(a, b)| smaller(a, b)).collect())
        }
        (a, _) => a,
    }
}

fn top_level(reply: Reply) -> Reply {
    match reply {
        Ok(Value::Error(e)) => Err(Error::Server(e)),
        other => other,
    }
}

impl Exec<'_> {
    #[inline]
    fn poll_reply(&mut self, cx: &mut Context<'_>) -> Poll<Reply> {
        let reply = self.poll_step(cx);
        if let Poll::Ready(r) = &reply {
            self.op.end(self.client.site(), r);
        }
        reply
    }

    #[inline]
    fn poll_step(&mut self, cx: &mut Context<'_>) -> Poll<Reply> {
        let this = self;
        loop {
            match &mut this.state {
                ExecState::Start(args) => {
                    if let Some(e) = args.take_error() {
                        // An argument could not be encoded: nothing is sent.
                        this.state = ExecState::Done;
                        return Poll::Ready(Err(e));
                    }
                    if args.is_empty() {
                        this.state = ExecState::Done;
                        return Poll::Ready(Err(Error::usage(
                            UsageKind::EmptyCommand,
                            "empty command",
                        )));
                    }
                    if let (Some(cache), false, false) = (
                        &this.client.inner.cache,
                        this.dedicated,
                        this.every_connection,
                    ) {
                        match Exec::look_up(cache, this.meta, args) {
                            // A hit never touches the connection.
                            Some(Ok(v)) => {
                                this.state = ExecState::Done;
                                return Poll::Ready(Ok(v));
                            }
                            Some(Err(fill)) => this.fill = Some(fill),
                            None => {}
                        }
                    }
                    if let Some(d) = this.timeout {
                        this.deadline = Some(Box::pin(tokio::time::sleep(d)));
                    }
                    if this.dedicated {
                        let args = std::mem::take(args);
                        let client = this.client;
                        this.state = ExecState::Slow(Box::pin(async move {
                            // Server errors keep the connection reusable; anything else
                            // (including this future being dropped) discards it. Held
                            // like the shared connection during a Sentinel failover.
                            client.hold().wait().await;
                            client.pool().get().await?.send(&args).await
                        }));
                        continue;
                    }
                    if this.every_connection {
                        let args = std::mem::take(args);
                        let (muxes, wait) = (&this.client.inner.muxes, this.server_wait);
                        let policy = this.policy;
                        this.state = ExecState::Slow(Box::pin(async move {
                            let sends = muxes.iter().map(|m| m.send_slow(args.clone(), wait));
                            combine(join_all(sends).await, policy)
                        }));
                        continue;
                    }
                    let mux = this.client.inner.mux();
                    match mux.try_send(args, cx.waker(), this.server_wait) {
                        Some(wait) => {
                            // The waker is in the reply cell already: nothing to poll
                            // until it is woken. (Replaced rather than assigned: the
                            // arguments are dropped as `Args`, not through every state.)
                            if let ExecState::Start(args) =
                                std::mem::replace(&mut this.state, ExecState::Wait(wait))
                            {
                                drop(args);
                            }
                            break;
                        }
                        None => {
                            let args = std::mem::take(args);
                            this.state =
                                ExecState::Slow(Box::pin(mux.send_slow(args, this.server_wait)));
                        }
                    }
                }
                ExecState::Wait(wait) => {
                    if let Poll::Ready(r) = Pin::new(wait).poll(cx) {
                        // The wait is finished (its drop does nothing): dropped as such.
                        if let ExecState::Wait(wait) =
                            std::mem::replace(&mut this.state, ExecState::Done)
                        {
                            drop(wait);
                        }
                        let r = top_level(r);
                        this.keep(&r);
                        if this.client.inner.reconnect_on_readonly
                            && matches!(&r, Err(e) if e.server_kind() == Some(crate::ServerErrorKind::ReadOnly))
                        {
                            this.client
                                .drop_connection("the node is read-only now (demoted master)");
                        }
                        return Poll::Ready(r);
                    }
                    break;
                }
                ExecState::Slow(f) => {
                    if let Poll::Ready(r) = f.as_mut().poll(cx) {
                        this.state = ExecState::Done;
                        let r = top_level(r);
                        this.keep(&r);
                        return Poll::Ready(r);
                    }
                    break;
                }
                ExecState::Done => {
                    return Poll::Ready(Err(Error::usage(
                        UsageKind::PolledAfterCompletion,
                        "command future polled after completion",
                    )))
                }
            }
        }
        if let (Some(deadline), Some(d)) = (&mut this.deadline, this.timeout) {
            if deadline.as_mut().poll(cx).is_ready() {
                // Dropping the wait abandons the reply cell: the reply is read and
                // discarded when it comes.
                this.state = ExecState::Done;
                return Poll::Ready(Err(Error::timeout(TimeoutKind::Command, d)));
            }
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>() {}
    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn health_check_interval_comes_from_the_url_and_can_be_overridden() {
        let c = ClientConfig::new("redis://127.0.0.1:6379/0?health_check_interval=1").unwrap();
        assert_eq!(c.info.health_check_interval, Some(Duration::from_secs(1)));
        let c = c.health_check_interval(None);
        assert_eq!(c.info.health_check_interval, None);
        let c = ClientConfig::new("redis://127.0.0.1:6379").unwrap();
        assert_eq!(c.info.health_check_interval, None);
        assert_eq!(c.command_timeout, None);
        let limits = Limits {
            max_frame_bytes: 1 << 20,
            ..Limits::default()
        };
        let c = c
            .limits(limits)
            .health_check_timeout(Duration::from_millis(300));
        assert_eq!(c.info.limits.max_frame_bytes, 1 << 20);
        assert_eq!(c.info.health_check_timeout, Duration::from_millis(300));
    }

    #[test]
    fn handles_and_futures_are_thread_safe() {
        assert_send_sync::<Client>();
        assert_send::<ExecFuture<'static>>();
        assert_send::<TypedFuture<'static, Value>>();
        assert_send::<CmdFuture<ExecFuture<'static>, Value>>();
        assert_send::<Cmd<&'static Client, Value>>();
    }
}
