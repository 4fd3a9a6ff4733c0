//! The seam between generated command builders and the runtime.
//!
//! A generated builder (e.g. `Set<S, R>`) holds a *sink* `S` and its encoded [`Args`].
//! When the sink is an [`Executor`] (a `&Client`, a cluster client, a WATCH session),
//! awaiting the builder is awaiting [`Executor::execute_typed`]: the command is sent and
//! the reply decoded into `R`. Other sinks (pipelines, transactions) collect the commands
//! instead. [`OwnsConnection`] marks the executors that own their connection, which
//! the generated methods of connection-state commands require. Nothing here knows about
//! individual commands.

use std::future::Future;

use crate::cmd::Args;
use crate::error::Result;
use crate::meta::CommandMeta;
use crate::value::{FromValue, Value};

/// Something that can send one command and return its reply.
///
/// Implemented for references to clients (`&Client`), so builders borrow the client.
pub trait Executor: Copy + Send + Sync {
    /// The future returned by [`Executor::execute`].
    type Future: Future<Output = Result<Value>> + Send;

    /// Sends one command. `meta` is the command's entry in the generated tables when the
    /// command is known (flags, key specs, routing tips), `None` for unknown raw commands.
    fn execute(self, args: Args, meta: Option<&'static CommandMeta>) -> Self::Future;

    /// The future returned by [`Executor::execute_typed`].
    type Typed<R: FromValue>: Future<Output = Result<R>> + Send;

    /// Sends one known command and decodes its reply into `R` (an error reply, also one
    /// nested in RESP3 attributes, as `Err`). This is what awaiting a generated builder
    /// does; the client's own future does it without an extra layer.
    fn execute_typed<R: FromValue>(self, args: Args, meta: &'static CommandMeta) -> Self::Typed<R>;
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
