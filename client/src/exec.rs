//! The seam between generated command builders and the runtime.
//!
//! A generated builder (e.g. `Set<S, R>`) holds a *sink* `S` and its encoded [`Args`].
//! When the sink is an [`Executor`] (a `&Client`, a cluster client, a WATCH session),
//! awaiting the builder is awaiting [`Executor::execute_typed`]: the command is sent and
//! the reply decoded into `R`. Other sinks (pipelines, transactions) collect the commands
//! instead. Nothing here knows about individual commands.

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
