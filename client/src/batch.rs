//! What pipelines, transactions and scans hand to a [`Handle`](crate::Handle): a
//! [`Batch`] of commands, and the erased form of a handle they hold (`Target`), so that
//! they work on every handle without a type parameter of their own.
//!
//! Owns: the shape of a batch (script loads first, then the commands; a transaction's
//! `MULTI … EXEC` included) and of its replies (one per command sent, in order), and
//! [`Keyspace`], the servers a scan of every key visits in turn. Does not own: sending
//! (each handle's [`execute_batch`](crate::Handle::execute_batch)) or decoding (the
//! pipeline's).

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use crate::cmd::Args;
use crate::error::Result;
use crate::value::Value;

/// The future of [`Handle::execute_batch`](crate::Handle::execute_batch).
pub type BatchFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<Value>>> + Send + 'a>>;

/// The future of one command sent through an erased handle.
pub(crate) type ReplyFuture<'a> = Pin<Box<dyn Future<Output = Result<Value>> + Send + 'a>>;

/// The commands of a pipeline or transaction, as a handle sends them: the `preloads`
/// (script loads, whose replies the pipeline checks and drops) first, then the
/// `commands`; for a transaction these are `MULTI`, the queued commands and `EXEC`. The
/// handle answers one reply per command sent, preloads included, in order; error replies
/// stay in the vector as [`Value::Error`]. Made only by typedis' pipelines, which have
/// checked every command against the handle (see [`crate::pipeline`]).
pub struct Batch {
    preloads: Vec<Args>,
    commands: Vec<Args>,
    transaction: bool,
}

impl fmt::Debug for Batch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batch")
            .field("preloads", &self.preloads.len())
            .field("commands", &self.commands)
            .field("transaction", &self.transaction)
            .finish()
    }
}

impl Batch {
    pub(crate) fn new(preloads: Vec<Args>, commands: Vec<Args>, transaction: bool) -> Batch {
        Batch {
            preloads,
            commands,
            transaction,
        }
    }

    /// The commands sent first, whose replies are checked and dropped (script loads).
    pub fn preloads(&self) -> &[Args] {
        &self.preloads
    }

    /// The commands after the preloads; for a transaction `MULTI … EXEC`.
    pub fn commands(&self) -> &[Args] {
        &self.commands
    }

    /// Whether the commands are a transaction (`MULTI … EXEC`), which must run whole
    /// on one server.
    pub fn is_transaction(&self) -> bool {
        self.transaction
    }

    /// The preloads and the commands, apart.
    pub fn into_parts(self) -> (Vec<Args>, Vec<Args>) {
        (self.preloads, self.commands)
    }

    /// Everything in the order it is sent: preloads, then commands.
    pub fn into_commands(self) -> Vec<Args> {
        let mut all = self.preloads;
        all.extend(self.commands);
        all
    }
}

/// A handle with its type erased: what a pipeline or a scan holds. Implemented for every
/// [`Handle`](crate::Handle) (in `exec`), and for the cluster's single nodes.
pub(crate) trait Target: Send + Sync {
    /// Sends one raw command (its metadata looked up by name).
    fn send(&self, args: Args) -> ReplyFuture<'_>;
    /// Sends a batch.
    fn send_batch(&self, batch: Batch) -> BatchFuture<'_>;
    /// Whether other callers send on the same connection.
    fn shares_connection(&self) -> bool;
}

/// The servers a scan over every key ([`ScanStream::keys`](crate::scan::ScanStream::keys))
/// visits, one after the other: the handle itself on one server, each primary of a
/// cluster.
pub struct Keyspace<'a> {
    pub(crate) parts: Vec<Box<dyn Target + 'a>>,
}

impl fmt::Debug for Keyspace<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyspace")
            .field("parts", &self.parts.len())
            .finish()
    }
}
