//! The blocking [`Client`], its raw commands ([`Cmd`]) and its dedicated connections.
//!
//! Owns: connecting on a new runtime and waiting for the async client's futures. Does not
//! own: the connection (the async [`crate::Client`] inside does everything).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::{blocking_sink, Runtime};
use crate::client::ClientConfig;
use crate::cmd::Args;
use crate::error::Result;
use crate::value::{FromValue, ToArg, Value};

/// A blocking client: the async [`Client`](crate::Client) behind a small runtime of its
/// own. `Clone + Send + Sync`; clones share the connection and the runtime, so any
/// number of threads can use one client, their commands multiplexed onto its one
/// connection. See the [module docs](super).
#[derive(Clone)]
pub struct Client {
    // Dropped before the runtime: the client's last drop may still hand work to it.
    pub(crate) inner: crate::Client,
    pub(crate) rt: Arc<Runtime>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("blocking::Client")
            .field(&self.inner)
            .finish()
    }
}

blocking_sink!(Client, |c| &c.inner);

impl Client {
    /// Connects to `url` (the URLs of [`crate::Client::connect`]), on a new runtime.
    pub fn connect(url: &str) -> Result<Client> {
        Client::with_config(ClientConfig::new(url)?)
    }

    /// Connects with settings (timeouts, health checks, limits, pool size).
    pub fn with_config(config: ClientConfig) -> Result<Client> {
        let rt = Runtime::new()?;
        let inner = rt.block_on(crate::Client::with_config(config))?;
        Ok(Client { inner, rt })
    }

    /// A client on the runtime of this one (sentinel and cluster node clients).
    pub(crate) fn on(rt: &Arc<Runtime>, inner: crate::Client) -> Client {
        Client {
            inner,
            rt: rt.clone(),
        }
    }

    /// The async client inside, for async code in the same program (its futures may be
    /// awaited on any runtime; the I/O stays on this client's runtime).
    pub fn as_async(&self) -> &crate::Client {
        &self.inner
    }

    /// A raw command, the escape hatch (as [`crate::Client::cmd`]): add arguments, then
    /// [`run`](Cmd::run).
    pub fn cmd(&self, name: &str) -> Cmd<'_> {
        Cmd {
            inner: self.inner.cmd(name),
            rt: &self.rt,
        }
    }

    /// Sends already encoded arguments (as [`crate::Client::send`]).
    pub fn send(&self, args: Args) -> Result<Value> {
        self.rt.block_on(self.inner.send(args))
    }

    /// Sends several commands back to back, replies in order (as
    /// [`crate::Client::send_batch`]).
    pub fn send_batch(&self, commands: &[Args]) -> Result<Vec<Value>> {
        self.rt.block_on(self.inner.send_batch(commands))
    }

    /// A connection of this caller's own from the pool (as
    /// [`crate::Client::dedicated`]), where the connection-state commands compile too.
    pub fn dedicated(&self) -> Result<DedicatedConnection> {
        let conn = self.rt.block_on(self.inner.dedicated())?;
        Ok(DedicatedConnection {
            inner: Some(conn),
            rt: self.rt.clone(),
        })
    }
}

/// A raw command being built; see [`Client::cmd`]. `T` is what [`run`](Self::run)
/// returns.
#[must_use = "a command does nothing until it is run"]
pub struct Cmd<'a, T = Value> {
    inner: crate::Cmd<&'a crate::Client, T>,
    rt: &'a Runtime,
}

impl<T> fmt::Debug for Cmd<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("blocking::Cmd")
            .field("args", self.inner.as_args())
            .finish_non_exhaustive()
    }
}

impl<'a, T> Cmd<'a, T> {
    /// Appends one argument.
    pub fn arg<A: ToArg>(self, arg: A) -> Self {
        Cmd {
            inner: self.inner.arg(arg),
            rt: self.rt,
        }
    }

    /// Appends several arguments.
    pub fn args<I>(self, args: I) -> Self
    where
        I: IntoIterator,
        I::Item: ToArg,
    {
        Cmd {
            inner: self.inner.args(args),
            rt: self.rt,
        }
    }

    /// Overrides the client's default timeout for this command (`None`: wait forever).
    pub fn timeout(self, timeout: impl Into<Option<Duration>>) -> Self {
        Cmd {
            inner: self.inner.timeout(timeout),
            rt: self.rt,
        }
    }

    /// Decodes the reply into `U` instead.
    pub fn decode<U: FromValue>(self) -> Cmd<'a, U> {
        Cmd {
            inner: self.inner.decode(),
            rt: self.rt,
        }
    }

    /// The encoded arguments so far.
    pub fn as_args(&self) -> &Args {
        self.inner.as_args()
    }
}

impl<T: FromValue> Cmd<'_, T> {
    /// Sends the command and waits for its reply, decoded into `T`.
    pub fn run(self) -> Result<T> {
        self.rt
            .block_on(std::future::IntoFuture::into_future(self.inner))
    }
}

/// A pooled connection this caller owns (see
/// [`crate::DedicatedConnection`]): every generated command works on it, the
/// connection-state ones included (`conn.select(1).run()`); it is reset before the pool
/// hands it out again.
pub struct DedicatedConnection {
    // `Some` until dropped (inside the runtime, which resets it).
    inner: Option<crate::DedicatedConnection>,
    pub(crate) rt: Arc<Runtime>,
}

impl fmt::Debug for DedicatedConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("blocking::DedicatedConnection")
            .finish_non_exhaustive()
    }
}

impl Drop for DedicatedConnection {
    fn drop(&mut self) {
        super::drop_in(&self.rt, self.inner.take());
    }
}

impl DedicatedConnection {
    pub(crate) fn conn(&self) -> &crate::DedicatedConnection {
        self.inner.as_ref().expect("taken only by drop")
    }

    /// Sends one raw command on this connection.
    pub fn send(&self, args: &Args) -> Result<Value> {
        self.rt.block_on(self.conn().send(args))
    }

    /// Waits for the next frame the server sends on this connection (after `SUBSCRIBE`,
    /// `MONITOR`, `CLIENT REPLY OFF`…).
    pub fn next_frame(&self) -> Result<Value> {
        self.rt.block_on(self.conn().next_frame())
    }
}

blocking_sink!(DedicatedConnection, |c| c.conn());
impl crate::exec::sealed::Sealed for &DedicatedConnection {}
// Not listed among the handles that own their connection in the async API's errors.
#[diagnostic::do_not_recommend]
impl crate::exec::OwnsConnection for &DedicatedConnection {}
