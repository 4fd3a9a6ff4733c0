//! A blocking (synchronous) API over the same generated commands, for programs that do
//! not run an async runtime: CLIs, build tools, batch jobs, tests, thread-based code.
//! Feature `blocking`.
//!
//! ```no_run
//! use typedis::blocking::Client;
//! use typedis::prelude::*;                      // the command traits and `Run`
//!
//! # fn main() -> typedis::Result<()> {
//! let client = Client::connect("redis://127.0.0.1:6379/0")?;   // Clone + Send + Sync
//! client.set("k", "v").ex(60).run()?;           // the same builders; `.run()` for `.await`
//! let v: Option<String> = client.get("k").decode().run()?;
//! let (n, top) = client.pipeline().incr("n").zrange("board", 0, -1).execute()?;
//! # let _: (i64, Vec<typedis::Bytes>) = (n, top);
//! # let _ = v; Ok(()) }
//! ```
//!
//! # How it works
//! A blocking handle wraps the async one and a small Tokio runtime of its own (a
//! current-thread runtime and one thread, `typedis-blocking`), shared by its clones and
//! by everything made from it (pipelines, subscriptions, node clients of a cluster). A
//! call builds exactly the future the async API would build — the generated builders
//! are generic over where their command goes, and [`Run::run`] ends one on a blocking
//! handle — and the calling thread waits for it, running the runtime itself while no
//! other caller does (so a lone caller's reply is read on its own thread, without a hop);
//! the runtime's thread drives it only when no caller has been there for a millisecond,
//! for the background work between calls (reconnects, health checks, PubSub). So every
//! thread's commands are multiplexed onto the one connection of the async client, with
//! the same auto-pipelining, timeouts, reconnects and routing; nothing here is a second
//! copy of a command.
//!
//! Every generated command, option and reply type is there: commands on [`Client`],
//! [`ClusterClient`], [`Pipeline`]s and transactions, a [`WatchSession`], a
//! [`DedicatedConnection`] (where the connection-state commands compile, as in the async
//! API); [`Script`](crate::Script)s with `script.key(k).invoke(&client).run()`,
//! [`Lock`], scan [`ScanIter`]ators, PubSub ([`Subscription`]: an `Iterator` of
//! messages, `get_message(timeout)`, handlers run by a [`HandlerThread`]), [`Monitor`]
//! and clients resolved through [`Sentinel`].
//!
//! As in the async API, the commands that change the state of their connection compile
//! only on a handle that owns it (`client.dedicated()?`, a [`WatchSession`]), and a
//! builder made on a blocking handle is run, never awaited:
//!
//! ```compile_fail
//! # fn f(client: &typedis::blocking::Client) -> typedis::Result<()> {
//! use typedis::prelude::*;
//! client.select(1).run()?;   // error: `&blocking::Client` does not own its connection
//! # Ok(()) }
//! ```
//!
//! ```compile_fail
//! # async fn f(client: &typedis::blocking::Client) -> typedis::Result<()> {
//! use typedis::prelude::*;
//! client.get("k").await?;    // error: not a future; `.run()` it (or use `as_async()`)
//! # Ok(()) }
//! ```
//!
//! ```no_run
//! # fn f(client: &typedis::blocking::Client) -> typedis::Result<()> {
//! use typedis::prelude::*;
//! let conn = client.dedicated()?;
//! conn.select(1).run()?;     // this connection only; reset before it is pooled again
//! # Ok(()) }
//! ```
//!
//! # Inside an async runtime
//! A blocking call made on a thread inside a Tokio runtime (an async task, `block_on`,
//! a `spawn_blocking` closure, a thread that entered a runtime's handle) would stall the
//! runtime's thread, and deadlock it if the runtime is the one doing the I/O. It fails
//! instead, before anything is sent, with [`Error::BlockingInRuntime`]: there, use the
//! async client ([`Client::as_async`]), or make the call from a thread of your own
//! (`std::thread::spawn`). Connecting there fails the same way; dropping a blocking
//! handle is safe anywhere.
//!
//! Owns: the runtime of blocking handles, waiting for futures on it, and the blocking
//! forms of the async API's handles. Does not own: anything about commands (the async
//! runtime does all the work).

mod client;
mod cluster;
mod lock;
mod pipeline;
mod pubsub;
mod scan;
mod script;
mod sentinel;

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::cmd::Args;
use crate::error::{Error, Result};
use crate::meta::CommandMeta;
use crate::private::Builder;
use crate::value::FromValue;

pub use client::{Client, Cmd, DedicatedConnection};
pub use cluster::ClusterClient;
pub use lock::{Lock, LockGuard};
pub use pipeline::{Pipeline, WatchSession};
pub use pubsub::{HandlerThread, Monitor, Subscription};
pub use scan::ScanIter;
pub use script::Invocation;
pub use sentinel::Sentinel;

/// Ends a command builder on a blocking handle: sends the command and waits for its
/// reply, decoded into the builder's reply type — what `.await` is in the async API.
///
/// Implemented for every generated builder made on a blocking handle
/// (`client.get("k")`, `client.set("k", "v").ex(60)`, `.decode::<T>()` on either); in
/// the prelude.
///
/// ```no_run
/// # fn f(client: &typedis::blocking::Client) -> typedis::Result<()> {
/// use typedis::prelude::*;
/// let added: bool = client.sadd("s", ["a"]).run()? > 0;
/// let members: Vec<String> = client.smembers("s").decode().run()?;
/// # let _ = (added, members); Ok(()) }
/// ```
pub trait Run {
    /// The decoded reply.
    type Output;

    /// Sends the command and blocks until its reply has come and been decoded.
    ///
    /// Fails with [`Error::BlockingInRuntime`] on a thread inside a Tokio runtime (see
    /// the [module docs](self)); otherwise as awaiting the same builder on the async
    /// client does.
    fn run(self) -> Result<Self::Output>;
}

impl<B> Run for B
where
    B: Builder,
    B::Sink: BlockingSink,
    B::Reply: FromValue,
{
    type Output = B::Reply;

    fn run(self) -> Result<B::Reply> {
        let (sink, args, meta) = self.into_parts();
        sink.run_typed(args, meta)
    }
}

/// The blocking handles that run a builder: each forwards to its async handle on its
/// runtime. Sealed (hidden): implemented by this module's handles only.
#[doc(hidden)]
pub trait BlockingSink: Copy {
    /// Sends one known command and decodes its reply, waiting on the handle's runtime.
    fn run_typed<R: FromValue>(self, args: Args, meta: &'static CommandMeta) -> Result<R>;
}

/// The handle types of this module get the generated command methods: a method returns
/// the builder, as on the async handles (set options, then `.run()`).
macro_rules! blocking_sink {
    ($ty:ty, |$this:ident| $exec:expr) => {
        impl<'a> $crate::private::Sink for &'a $ty {
            type Output<B>
                = B
            where
                B: $crate::private::Builder<Sink = Self>;

            fn wrap<B>(builder: B) -> B
            where
                B: $crate::private::Builder<Sink = Self>,
            {
                builder
            }
        }

        impl<'a> $crate::blocking::BlockingSink for &'a $ty {
            fn run_typed<R: $crate::FromValue>(
                self,
                args: $crate::Args,
                meta: &'static $crate::meta::CommandMeta,
            ) -> $crate::Result<R> {
                let $this = self;
                $this
                    .rt
                    .block_on($crate::exec::Executor::execute_typed($exec, args, meta))
            }
        }
    };
}
pub(crate) use blocking_sink;

/// How long nobody must have waited on a runtime before its driver thread drives it.
const IDLE: std::time::Duration = std::time::Duration::from_millis(1);

/// The runtime of a blocking handle and everything made from it: a current-thread Tokio
/// runtime driven by the callers themselves, and by a driver thread while none is there.
///
/// A thread waiting in [`block_on`](Self::block_on) takes the runtime's core when it is
/// free and runs the connections' tasks and I/O itself, so a lone caller's command costs
/// no hop to another thread (its reply is read on its own thread); callers arriving
/// meanwhile wait for their futures, woken by whoever holds the core, and take it over
/// when it is released. When no caller has been there for [`IDLE`], the driver thread
/// takes the core, so background work (reconnects, health checks, PubSub reading,
/// Sentinel's failover watcher, a dropped lock's release) goes on between calls; a
/// caller's arrival makes it let go.
pub(crate) struct Runtime {
    // `Some` until dropped.
    rt: Option<Arc<tokio::runtime::Runtime>>,
    shared: Arc<Shared>,
    driver: Option<std::thread::JoinHandle<()>>,
}

/// What the callers and the driver thread share.
struct Shared {
    /// Callers waiting in `block_on` now.
    callers: AtomicUsize,
    /// Callers that ever entered: the driver sees whether one came during its wait.
    entries: AtomicU64,
    /// Told when a caller arrives (or the runtime is dropped): the driver lets go.
    arrived: tokio::sync::Notify,
    stop: AtomicBool,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("callers", &self.shared.callers.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Starts a runtime and its driver thread (refused on a thread inside a runtime,
    /// like every call).
    pub(crate) fn new() -> Result<Arc<Runtime>> {
        outside_runtime()?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::io("starting the runtime of a blocking client", e))?;
        let rt = Arc::new(rt);
        let shared = Arc::new(Shared {
            callers: AtomicUsize::new(0),
            entries: AtomicU64::new(0),
            arrived: tokio::sync::Notify::new(),
            stop: AtomicBool::new(false),
        });
        let driver = {
            let rt = rt.clone();
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("typedis-blocking".into())
                .spawn(move || drive(&rt, &shared))
                .map_err(|e| Error::io("starting the thread of a blocking client", e))?
        };
        Ok(Arc::new(Runtime {
            rt: Some(rt),
            shared,
            driver: Some(driver),
        }))
    }

    fn tokio(&self) -> &tokio::runtime::Runtime {
        // Only `Drop` takes it out.
        self.rt
            .as_ref()
            .expect("the runtime lives as long as its handles")
    }

    /// Waits on the calling thread for `fut`, driving the runtime while its core is free
    /// (see the type's docs).
    pub(crate) fn block_on<T>(&self, fut: impl Future<Output = Result<T>>) -> Result<T> {
        outside_runtime()?;
        let _caller = Caller::enter(&self.shared);
        self.tokio().block_on(fut)
    }

    /// Enters the runtime's context, for drops that hand work to it (resetting a
    /// dedicated connection before it is pooled again, releasing a dropped lock).
    pub(crate) fn enter(&self) -> tokio::runtime::EnterGuard<'_> {
        self.tokio().enter()
    }
}

/// A caller inside `block_on`, counted while it is there.
struct Caller<'a>(&'a Shared);

impl<'a> Caller<'a> {
    fn enter(shared: &'a Shared) -> Caller<'a> {
        shared.callers.fetch_add(1, Ordering::SeqCst);
        shared.entries.fetch_add(1, Ordering::SeqCst);
        // A permit if the driver is not waiting yet: it lets go as soon as it takes over.
        shared.arrived.notify_one();
        Caller(shared)
    }
}

impl Drop for Caller<'_> {
    fn drop(&mut self) {
        self.0.callers.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The driver thread: drives the runtime whenever no caller has come for [`IDLE`].
fn drive(rt: &tokio::runtime::Runtime, shared: &Shared) {
    while !shared.stop.load(Ordering::SeqCst) {
        let seen = shared.entries.load(Ordering::SeqCst);
        std::thread::park_timeout(IDLE);
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        if shared.callers.load(Ordering::SeqCst) == 0
            && shared.entries.load(Ordering::SeqCst) == seen
        {
            rt.block_on(shared.arrived.notified());
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.arrived.notify_one();
        if let Some(driver) = self.driver.take() {
            driver.thread().unpark();
            // It lets go of the runtime at once (told above) and ends.
            let _ = driver.join();
        }
        // Not waiting for tasks: the last handle may be dropped anywhere, even on a
        // thread of another runtime, where waiting would panic.
        if let Some(rt) = self.rt.take().and_then(|rt| Arc::try_unwrap(rt).ok()) {
            rt.shutdown_background();
        }
    }
}

/// Refuses to block a thread that is inside a Tokio runtime (see the module docs).
fn outside_runtime() -> Result<()> {
    match tokio::runtime::Handle::try_current() {
        Ok(_) => Err(Error::BlockingInRuntime),
        Err(_) => Ok(()),
    }
}

/// Drops `value` inside `rt`'s context, so that its `Drop` can hand work to the runtime.
pub(crate) fn drop_in<T>(rt: &Runtime, value: T) {
    let _guard = rt.enter();
    drop(value);
}
