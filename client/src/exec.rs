//! [`Handle`]: the one trait of everything typedis sends commands through — a
//! [`Client`](crate::Client) (also one resolved through Sentinel), a
//! [`ClusterClient`](crate::cluster::ClusterClient) and its
//! [`on(nodes)`](crate::cluster::ClusterClient::on) form, a
//! [`DedicatedConnection`](crate::DedicatedConnection), a
//! [`WatchSession`](crate::watch::WatchSession) — and the raw command builder [`Cmd`]
//! that works on any of them.
//!
//! A generated builder (e.g. `Set<S, R>`) holds a *sink* `S` and its encoded [`Args`].
//! When the sink is a handle, awaiting the builder is awaiting
//! [`Handle::execute_typed`]: the command is sent and the reply decoded into `R`.
//! Pipelines, transactions, scans, scripts, locks and WATCH sessions are built on the
//! same trait, so code written against it runs unchanged on one server or a cluster.
//! [`OwnsConnection`] marks the handles that own their connection, which the generated
//! methods of connection-state commands require. Nothing here knows about individual
//! commands.

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::batch::{Batch, BatchFuture, Keyspace, ReplyFuture, Target};
use crate::cmd::{Args, Notes};
use crate::error::Result;
use crate::meta::CommandMeta;
use crate::value::{decode, FromValue, ToArg, Value};

/// A typedis handle: something every generated command, pipeline, transaction, scan,
/// [`Script`](crate::Script), [`Lock`](crate::lock::Lock) and raw [`Cmd`] can be sent
/// through. Implemented for `&Client` (also a Sentinel-backed one), `&ClusterClient`,
/// `OnNodes`, `&DedicatedConnection` and `&WatchSession`; every handle has the command
/// methods ([`Commands`](crate::commands::Commands)).
///
/// Write code once for a single server and a cluster:
///
/// ```no_run
/// use typedis::prelude::*;
/// use typedis::pipeline::Pipeline;
/// use typedis::{Handle, Script};
///
/// async fn visit<H: Handle>(h: H, page: &str) -> typedis::Result<i64> {
///     h.set(page, 0).nx().await?;                      // a generated command
///     let (n, _) = Pipeline::new(h).incr(page).expire(page, 3600).execute().await?;
///     let raw: Value = h.cmd("OBJECT").arg("ENCODING").arg(page).await?;
///     let bump = Script::new("return redis.call('INCRBY', KEYS[1], ARGV[1])");
///     let m: i64 = bump.key(page).arg(10).invoke(h).decode().await?;
///     # let _ = (raw, m);
///     Ok(n)
/// }
///
/// # async fn f() -> typedis::Result<()> {
/// let client = typedis::Client::connect("redis://127.0.0.1:6379").await?;
/// visit(&client, "home").await?;
/// let cluster = typedis::cluster::ClusterClient::connect(["redis://127.0.0.1:7000"]).await?;
/// visit(&cluster, "home").await?;               // routed by the key's slot
/// # Ok(()) }
/// ```
///
/// A handle is a cheap `Copy` reference; it is what builders and pipelines borrow.
pub trait Handle: Copy + Send + Sync + std::fmt::Debug {
    /// The future returned by [`Handle::execute`].
    type Future: Future<Output = Result<Value>> + Send + Unpin;

    /// Sends one command, with the handle's default timeout. `meta` is the command's
    /// entry in the generated tables when the command is known (flags, key specs,
    /// routing tips), `None` for raw commands (looked up by name where it matters). A
    /// top-level error reply is `Err(Error::Server)`.
    fn execute(self, args: Args, meta: Option<&'static CommandMeta>) -> Self::Future;

    /// [`execute`](Self::execute) with this timeout instead of the handle's default
    /// (`None`: wait forever); what [`Cmd::timeout`] sets.
    fn execute_with_timeout(
        self,
        args: Args,
        meta: Option<&'static CommandMeta>,
        timeout: Option<Duration>,
    ) -> Self::Future;

    /// The future returned by [`Handle::execute_typed`].
    type Typed<R: FromValue>: Future<Output = Result<R>> + Send;

    /// Sends one known command and decodes its reply into `R` (an error reply, also one
    /// nested in RESP3 attributes, as `Err`). This is what awaiting a generated builder
    /// does; the client's own future does it without an extra layer.
    fn execute_typed<R: FromValue>(self, args: Args, meta: &'static CommandMeta) -> Self::Typed<R>;

    /// Sends a pipeline's or transaction's commands (see [`Batch`]): contiguous on one
    /// connection for a single server; grouped by node, or routed whole to the
    /// transaction's slot, on a cluster. One reply per command sent, in order.
    fn execute_batch<'s>(self, batch: Batch) -> BatchFuture<'s>
    where
        Self: 's;

    /// Whether other callers send on the same connection (a client's, a cluster's), so
    /// that no command changing the connection's state may run on it; `false` for the
    /// handles that own their connection ([`OwnsConnection`]).
    fn shares_connection(self) -> bool;

    /// Starts a raw command: `h.cmd("OBJECT").arg("ENCODING").arg("k").await`. Awaiting
    /// it yields the [`Value`]; `.decode::<T>()` converts to any [`FromValue`] type.
    /// On a shared handle, a command that changes the state of the connection fails
    /// with [`Error::SharedConnection`](crate::Error::SharedConnection), unsent.
    fn cmd(self, name: &str) -> Cmd<Self> {
        let mut args = Args::with_capacity(64);
        args.push_bytes(name.as_bytes());
        Cmd::new(self, args)
    }

    /// The servers a scan of every key visits in turn: this handle itself (the
    /// default), or each primary of a cluster.
    #[doc(hidden)]
    fn keyspace<'s>(self) -> Keyspace<'s>
    where
        Self: 's,
    {
        Keyspace {
            parts: vec![Box::new(self)],
        }
    }

    /// Sends `args` in the background, best effort, its reply dropped (a dropped lock
    /// guard's release). Handles that cannot outlive their borrow send nothing: the
    /// lock then expires by its timeout.
    #[doc(hidden)]
    fn send_detached(self, args: Args) {
        let _ = args;
    }
}

/// `future` bounded by `timeout` ([`Error::Timeout`](crate::Error::Timeout) when it
/// passes; the future is dropped): [`Handle::execute_with_timeout`] of the handles whose
/// futures are boxed anyway.
pub(crate) fn bounded<'a>(
    timeout: Option<Duration>,
    future: impl Future<Output = Result<Value>> + Send + 'a,
) -> ReplyFuture<'a> {
    match timeout {
        Some(d) => Box::pin(async move {
            tokio::time::timeout(d, future)
                .await
                .unwrap_or(Err(crate::Error::timeout(
                    crate::error::TimeoutKind::Command,
                    d,
                )))
        }),
        None => Box::pin(future),
    }
}

/// The items alike in every handle whose command futures are boxed (all but `&Client`'s,
/// whose future is its own state machine), expanded inside its `impl Handle`: the
/// `Future` type (for lifetime `$lt`), [`execute_with_timeout`](Handle::execute_with_timeout)
/// as the handle's own future [`bounded`] by the timeout, and
/// [`execute_typed`](Handle::execute_typed) as that future decoded by
/// [`Pending`](crate::__private::Pending). What differs, sending, each handle writes.
macro_rules! boxed_handle {
    ($lt:lifetime) => {
        type Future = ::std::pin::Pin<
            Box<
                dyn ::std::future::Future<Output = $crate::error::Result<$crate::value::Value>>
                    + Send
                    + $lt,
            >,
        >;

        fn execute_with_timeout(
            self,
            args: $crate::cmd::Args,
            meta: Option<&'static $crate::meta::CommandMeta>,
            timeout: Option<::std::time::Duration>,
        ) -> Self::Future {
            // Each send has the connection's own timeout; this one bounds it whole.
            $crate::exec::bounded(timeout, $crate::exec::Handle::execute(self, args, meta))
        }

        type Typed<R: $crate::value::FromValue> = $crate::__private::Pending<Self::Future, R>;

        fn execute_typed<R: $crate::value::FromValue>(
            self,
            args: $crate::cmd::Args,
            meta: &'static $crate::meta::CommandMeta,
        ) -> Self::Typed<R> {
            $crate::__private::Pending::new(self, args, meta)
        }
    };
}
pub(crate) use boxed_handle;

/// The former name of [`Handle`].
pub use Handle as Executor;

/// Every handle, erased, for pipelines and scans.
impl<H: Handle> Target for H {
    fn send(&self, args: Args) -> ReplyFuture<'_> {
        Box::pin(self.execute(args, None))
    }

    fn send_batch(&self, batch: Batch) -> BatchFuture<'_> {
        self.execute_batch(batch)
    }

    fn shares_connection(&self) -> bool {
        Handle::shares_connection(*self)
    }
}

/// Implemented by the handles that own their connection: a
/// [`DedicatedConnection`](crate::dedicated::DedicatedConnection) from
/// [`Client::dedicated`](crate::Client::dedicated), and a
/// [`WatchSession`](crate::watch::WatchSession).
///
/// The generated methods of commands that change the state of the connection they run
/// on (`SELECT`, `CLIENT REPLY`, `MULTI`, the `SUBSCRIBE` family, `HELLO`, `AUTH`, …: the
/// specs' `typedis.connection_state`) require it, so they do not compile on a shared
/// [`Client`](crate::Client), its pipelines and transactions, or a
/// [`ClusterClient`](crate::cluster::ClusterClient), where they would change the
/// connection of every other caller (and be undone silently by the next reconnect).
/// Sealed: it cannot be implemented outside typedis.
///
/// ```compile_fail
/// # async fn f(client: &typedis::Client) -> typedis::Result<()> {
/// use typedis::prelude::*;
/// client.select(1).await?;   // error: `&Client` does not own its connection
/// # Ok(()) }
/// ```
///
/// ```no_run
/// # async fn f(client: &typedis::Client) -> typedis::Result<()> {
/// use typedis::prelude::*;
/// let conn = client.dedicated().await?;
/// conn.select(1).await?;     // this connection only; reset before it is pooled again
/// conn.set("k", "in db 1").await?;
/// # Ok(()) }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not own its connection, and this command changes the state of the connection it runs on",
    label = "connection-state command on a handle whose connection is shared",
    note = "a `Client` and its clones (and its pipelines, and a `ClusterClient`) share their connections: SELECT, CLIENT REPLY, MULTI, SUBSCRIBE, HELLO, AUTH, … would change them for every caller",
    note = "send it on a connection of your own: `let conn = client.dedicated().await?;` then `conn.<command>(…)` (in a cluster: `cluster.node(addr).await?.dedicated().await?`)",
    note = "on a shared client, the database is the URL's `/db` (or use a second client); the safe forms are `client.transaction()`, `client.watch(keys)`, `client.subscribe(..)` and `client.monitor()`"
)]
pub trait OwnsConnection: sealed::Sealed {}

pub(crate) mod sealed {
    /// Keeps [`OwnsConnection`](super::OwnsConnection) to typedis' own handles.
    pub trait Sealed {}
}

/// A raw command being built on a handle `H`; see [`Handle::cmd`] (and
/// [`Client::cmd`](crate::Client::cmd)). `T` is what awaiting it yields.
#[must_use = "a command does nothing until it is awaited"]
pub struct Cmd<H, T = Value> {
    handle: H,
    args: Args,
    /// `Some` when the caller overrode the handle's default timeout.
    timeout: Option<Option<Duration>>,
    _target: PhantomData<fn() -> T>,
}

impl<H, T> std::fmt::Debug for Cmd<H, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cmd").field("args", &self.args).finish()
    }
}

impl<H> Cmd<H> {
    /// A raw command on `handle`, its name already in `args`.
    pub(crate) fn new(handle: H, args: Args) -> Self {
        Cmd {
            handle,
            args,
            timeout: None,
            _target: PhantomData,
        }
    }
}

impl<H, T> Cmd<H, T> {
    /// Appends one argument.
    pub fn arg<A: ToArg>(mut self, arg: A) -> Self {
        arg.write_arg(&mut self.args);
        self
    }

    /// Appends several arguments.
    pub fn args<I>(mut self, args: I) -> Self
    where
        I: IntoIterator,
        I::Item: ToArg,
    {
        for a in args {
            a.write_arg(&mut self.args);
        }
        self
    }

    /// Overrides the handle's default timeout for this command (`None`: wait forever).
    pub fn timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.timeout = Some(timeout.into());
        self
    }

    /// Decodes the reply into `U` instead.
    pub fn decode<U: FromValue>(self) -> Cmd<H, U> {
        Cmd {
            handle: self.handle,
            args: self.args,
            timeout: self.timeout,
            _target: PhantomData,
        }
    }

    /// The encoded arguments so far.
    pub fn as_args(&self) -> &Args {
        &self.args
    }
}

impl<H: Handle, T: FromValue> IntoFuture for Cmd<H, T> {
    type Output = Result<T>;
    type IntoFuture = CmdFuture<H::Future, T>;

    fn into_future(self) -> CmdFuture<H::Future, T> {
        let notes = self.args.notes_handle();
        let inner = match self.timeout {
            None => self.handle.execute(self.args, None),
            Some(t) => self.handle.execute_with_timeout(self.args, None, t),
        };
        CmdFuture {
            inner,
            notes,
            _target: PhantomData,
        }
    }
}

/// The future of an awaited [`Cmd`]: the handle's own future, then the reply decoded
/// on the caller's task.
#[must_use = "futures do nothing unless awaited"]
pub struct CmdFuture<F, T> {
    inner: F,
    notes: Notes,
    _target: PhantomData<fn() -> T>,
}

impl<F, T> std::fmt::Debug for CmdFuture<F, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CmdFuture").finish_non_exhaustive()
    }
}

impl<F: Future<Output = Result<Value>> + Unpin, T: FromValue> Future for CmdFuture<F, T> {
    type Output = Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let this = self.get_mut();
        Pin::new(&mut this.inner)
            .poll(cx)
            .map(|r| decode(r, &this.notes, true))
    }
}
