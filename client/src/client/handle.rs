//! How `&Client` sends one command: its [`Handle`] implementation (what awaiting a
//! generated builder calls), the raw paths ([`Client::send`], [`Client::send_batch`]),
//! the futures of one command ([`ExecFuture`], [`TypedFuture`]) and the state machine
//! behind them (`Exec`): the refusal of connection-state commands, the client-side
//! cache's lookup, the choice between the shared connection's fast path
//! (`Mux::try_send`), its slow path, a dedicated connection (blocking commands) and
//! every connection (`WAIT` over several), the timeout, and the reply's decoding into
//! the builder's type on the caller's task.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Sleep;

use super::connections::{combine, join_all, least_loaded, top_level};
use super::{Client, Inner};
use crate::batch::{Batch, BatchFuture};
use crate::cache::{Cache, Ticket};
use crate::cmd::Args;
use crate::error::{Error, Result, TimeoutKind, UsageKind};
use crate::exec::Handle;
use crate::meta::{CommandMeta, Dispatch, ResponsePolicy, ServerWait};
use crate::mux::{Mux, Reply, ReplyWait};
use crate::observe;
use crate::value::{decode, FromValue, Value};

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

impl Inner {
    /// The connection the next command goes to: the only one, or the one with the fewest
    /// commands in flight. With one connection this is a length check: no lock, no
    /// atomic, no allocation on the fast path.
    #[inline]
    pub(super) fn mux(&self) -> &Arc<Mux> {
        match &*self.muxes {
            [only] => only,
            muxes => least_loaded(muxes),
        }
    }
}

/// Sends one command on a client's shared connection and yields its raw reply (a top-level
/// error reply as `Err(Error::Server)`). The command is queued on first poll; dropping
/// the future afterwards discards the reply when it arrives.
#[must_use = "futures do nothing unless awaited"]
pub struct ExecFuture<'a> {
    exec: Exec<'a>,
}

impl fmt::Debug for ExecFuture<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.exec.fmt_fields(f.debug_struct("ExecFuture"))
    }
}

impl<R> fmt::Debug for TypedFuture<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.exec.fmt_fields(f.debug_struct("TypedFuture"))
    }
}

impl Exec<'_> {
    /// What a future's `Debug` shows: where it is sent and its timeout (not the
    /// command's arguments, which may hold secrets).
    fn fmt_fields(&self, mut d: fmt::DebugStruct<'_, '_>) -> fmt::Result {
        d.field("timeout", &self.timeout)
            .field("dedicated", &self.dedicated)
            .field("every_connection", &self.every_connection)
            .finish_non_exhaustive()
    }
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
pub(super) fn refuse_on_shared(args: &mut Args, meta: Option<&'static CommandMeta>) {
    if let Err(e) = crate::meta::check_shared(meta, args) {
        args.fail(e);
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
    use crate::exec::{Cmd, CmdFuture};

    fn assert_send<T: Send>() {}
    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn handles_and_futures_are_thread_safe() {
        assert_send_sync::<Client>();
        assert_send::<ExecFuture<'static>>();
        assert_send::<TypedFuture<'static, Value>>();
        assert_send::<CmdFuture<ExecFuture<'static>, Value>>();
        assert_send::<Cmd<&'static Client, Value>>();
    }
}
