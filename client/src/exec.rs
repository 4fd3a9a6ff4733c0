//! The seam between generated command builders and the runtime.
//!
//! A generated builder (e.g. `Set<S, R>`) holds a *sink* `S` and its encoded [`Args`].
//! When the sink is an [`Executor`] (a `&Client`, later a cluster or sentinel client),
//! awaiting the builder sends the command through [`Executor::execute`] and decodes the
//! reply into `R`. Other sinks (pipelines, transactions) collect the commands instead.
//! Nothing here knows about individual commands.

use std::future::Future;

use crate::cmd::Args;
use crate::error::Result;
use crate::meta::CommandMeta;
use crate::value::Value;

/// Something that can send one command and return its reply.
///
/// Implemented for references to clients (`&Client`), so builders borrow the client.
pub trait Executor: Copy + Send + Sync {
    /// The future returned by [`Executor::execute`].
    type Future: Future<Output = Result<Value>> + Send;

    /// Sends one command. `meta` is the command's entry in the generated tables when the
    /// command is known (flags, key specs, routing tips), `None` for unknown raw commands.
    fn execute(self, args: Args, meta: Option<&'static CommandMeta>) -> Self::Future;
}
