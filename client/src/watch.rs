//! Optimistic locking: `WATCH` sessions and the retry helper (redis-py's
//! `transaction(func, *watches)`).
//!
//! A [`WatchSession`] holds a [`DedicatedConnection`] from the pool from `WATCH` until
//! its transaction ran (or it is dropped). Reads go through it (every generated command
//! works on `&session`, the connection-state ones included: the session owns its
//! connection), then `session.transaction()` queues the writes and `EXEC` fails with
//! [`Error::Watch`] if a watched key changed meanwhile. A session that ends without
//! `EXEC`, `DISCARD` or `UNWATCH` has its connection reset (`RESET` forgets the watched
//! keys) before the pool hands it out again, so no `WATCH` state can leak to the next
//! borrower. On a cluster, `cluster.watch(keys)` (keys in one slot) opens the session on
//! the slot owner's connection, or, while the slot migrates and its owner answers `ASK`,
//! on the importing node's, where every command of the session follows `ASKING`. A
//! session's command redirected away from its node fails with [`Error::WatchSlotMoved`]
//! (the node no longer watches where the keys are; a transaction is refused whole by the
//! server then, and never re-sent elsewhere), which `watch_transaction` answers with a
//! fresh session.
//!
//! ```no_run
//! # async fn f(client: &typedis::Client) -> typedis::Result<()> {
//! use typedis::prelude::*;
//! // Increment a counter with GET + SET, retrying on conflicts (at most 100 times).
//! let new: i64 = client
//!     .watch_transaction(["counter"], 100, |session| async move {
//!         let n: i64 = session.get("counter").decode::<Option<i64>>().await?.unwrap_or(0);
//!         session.transaction().set("counter", n + 1).execute().await?;
//!         Ok(n + 1)
//!     })
//!     .await?;
//! # Ok(()) }
//! ```

use std::future::Future;

use crate::batch::{Batch, BatchFuture};
use crate::client::Client;
use crate::cmd::Args;
use crate::dedicated::DedicatedConnection;
use crate::error::{Error, Result, UsageKind};
use crate::exec::Handle;
use crate::meta::CommandMeta;
use crate::pipeline::Pipeline;
use crate::record::Encoded;
use crate::value::{ToArg, Value};

/// `ASKING`: the next command may use a slot this node imports.
fn asking() -> Args {
    let mut a = Args::new();
    a.push_bytes(b"ASKING");
    a
}

/// A dedicated connection with `WATCH` in force. See the [module docs](self).
pub struct WatchSession {
    conn: DedicatedConnection,
    /// On a cluster: the slot of the watched keys.
    slot: Option<u16>,
    /// The node imports the slot (its owner answered `ASK`): each command goes right
    /// after `ASKING`, a transaction's `MULTI … EXEC` after one.
    asking: bool,
}

impl std::fmt::Debug for WatchSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchSession").finish_non_exhaustive()
    }
}

/// `WATCH key …`, or a usage error without keys.
pub(crate) fn watch_command<I, K>(keys: I) -> Result<Args>
where
    I: IntoIterator<Item = K>,
    K: ToArg,
{
    let mut args = Args::new();
    args.push_bytes(b"WATCH");
    for k in keys {
        k.write_arg(&mut args);
    }
    if let Some(e) = args.take_error() {
        return Err(e);
    }
    if args.len() < 2 {
        return Err(Error::usage(
            UsageKind::MissingArgument,
            "WATCH needs at least one key",
        ));
    }
    Ok(args)
}

/// Runs `body` in a session `open` starts, again with a fresh session whenever its
/// transaction is aborted by a conflicting write, at most `max_attempts` times: the loop
/// of every handle's `watch_transaction`.
pub(crate) async fn retry<O, OFut, F, Fut, T>(
    max_attempts: usize,
    mut open: O,
    mut body: F,
) -> Result<T>
where
    O: FnMut() -> OFut,
    OFut: Future<Output = Result<WatchSession>>,
    F: FnMut(WatchSession) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        let session = open().await?;
        match body(session).await {
            Err(Error::Watch | Error::WatchSlotMoved { .. }) if attempt < max_attempts.max(1) => {
                continue
            }
            Err(Error::Watch) => return Err(Error::WatchRetriesExhausted { attempts: attempt }),
            other => return other,
        }
    }
}

/// `watch_transaction(keys, max_attempts, body)` on a handle type with a `watch(keys)`
/// method (`Client`, `ClusterClient`), its docs given: the keys encoded once, then the
/// [`retry`] loop over sessions from `watch`.
macro_rules! watch_transaction {
    ($(#[$doc:meta])*) => {
        $(#[$doc])*
        pub async fn watch_transaction<I, K, F, Fut, T>(
            &self,
            keys: I,
            max_attempts: usize,
            body: F,
        ) -> $crate::error::Result<T>
        where
            I: IntoIterator<Item = K>,
            K: $crate::value::ToArg,
            F: FnMut($crate::watch::WatchSession) -> Fut,
            Fut: ::std::future::Future<Output = $crate::error::Result<T>>,
        {
            let keys = $crate::watch::encode_keys(keys);
            $crate::watch::retry(max_attempts, || self.watch(keys.iter()), body).await
        }
    };
}
pub(crate) use watch_transaction;

/// The keys of a `watch_transaction`, encoded once for all its attempts.
pub(crate) fn encode_keys<I, K>(keys: I) -> Vec<Encoded>
where
    I: IntoIterator<Item = K>,
    K: ToArg,
{
    keys.into_iter().map(|k| Encoded::new(&k)).collect()
}

impl Client {
    /// Starts a `WATCH` on `keys` on a dedicated connection.
    pub async fn watch<I, K>(&self, keys: I) -> Result<WatchSession>
    where
        I: IntoIterator<Item = K>,
        K: ToArg,
    {
        let args = watch_command(keys)?;
        WatchSession::start(self.dedicated().await?, &args).await
    }

    watch_transaction! {
        /// Runs `body` in a `WATCH` session on `keys`, again (with a fresh session)
        /// whenever its transaction is aborted by a conflicting write, at most
        /// `max_attempts` times (then [`Error::WatchRetriesExhausted`]). `body` reads
        /// through the session and ends with `session.transaction()….execute()`.
    }
}

impl WatchSession {
    /// Sends `WATCH …` (`args`) on `conn`, which becomes the session's. The connection
    /// follows the WATCH state from the generated tables: left open, it is reset before
    /// the pool hands the connection out again.
    pub(crate) async fn start(conn: DedicatedConnection, args: &Args) -> Result<WatchSession> {
        conn.send(args).await?;
        Ok(WatchSession {
            conn,
            slot: None,
            asking: false,
        })
    }

    /// [`start`](Self::start) on a cluster node for the watched keys' `slot`; `asking`:
    /// the node imports the slot, so `WATCH` and every later command go after `ASKING`.
    /// The `WATCH`'s own redirection is returned as the server's error, for the cluster
    /// to follow.
    pub(crate) async fn start_on_slot(
        conn: DedicatedConnection,
        args: &Args,
        slot: u16,
        asking: bool,
    ) -> Result<WatchSession> {
        if asking {
            let mut replies = conn.send_many(&[self::asking(), args.clone()]).await?;
            replies.pop().unwrap_or(Value::Nil).into_result()?;
        } else {
            conn.send(args).await?;
        }
        Ok(WatchSession {
            conn,
            slot: Some(slot),
            asking,
        })
    }

    /// Sends one command, after `ASKING` on an importing node.
    async fn send_one(&self, args: Args, meta: Option<&'static CommandMeta>) -> Result<Value> {
        let reply = if self.asking {
            let mut replies = self.conn.send_many(&[asking(), args]).await?;
            replies.pop().unwrap_or(Value::Nil).into_result()
        } else {
            self.conn.execute(args, meta).await
        };
        reply.map_err(|e| self.moved(e))
    }

    /// Sends a batch: on an importing node a transaction after one `ASKING` (the flag
    /// lasts until `EXEC` ends the transaction), other commands each after one. On a
    /// cluster, a transaction refused by a redirection fails with
    /// [`Error::WatchSlotMoved`].
    async fn send_batch(&self, batch: Batch) -> Result<Vec<Value>> {
        let transaction = batch.is_transaction();
        let (preloads, commands) = batch.into_parts();
        let pre = preloads.len();
        let mut all = preloads;
        let mut asked = Vec::new();
        for (i, c) in commands.into_iter().enumerate() {
            if self.asking && (i == 0 || !transaction) {
                asked.push(all.len());
                all.push(asking());
            }
            all.push(c);
        }
        let mut replies = self.conn.send_many(&all).await?;
        for i in asked.into_iter().rev() {
            replies.remove(i);
        }
        if transaction {
            if let Some(e) = replies[pre..].iter().find_map(|r| match r {
                Value::Error(e) if self.slot.is_some() && e.redirect().is_some() => Some(e),
                _ => None,
            }) {
                return Err(self.moved(Error::Server(e.clone())));
            }
        }
        Ok(replies)
    }

    /// `e`, or [`Error::WatchSlotMoved`] when it redirects a cluster session's command.
    fn moved(&self, e: Error) -> Error {
        match (self.slot, e) {
            (Some(slot), Error::Server(source)) if source.redirect().is_some() => {
                Error::WatchSlotMoved { slot, source }
            }
            (_, e) => e,
        }
    }

    /// The transaction that ends the session: queue commands, then `execute()`.
    pub fn transaction(&self) -> Pipeline<'_, ()> {
        Pipeline::transaction(self)
    }

    /// Gives up the session without a transaction (`UNWATCH`).
    pub async fn unwatch(self) -> Result<()> {
        let mut a = Args::new();
        a.push_bytes(b"UNWATCH");
        self.conn.send(&a).await.map(|_| ())
    }

    /// The session's connection.
    pub fn connection(&self) -> &DedicatedConnection {
        &self.conn
    }
}

/// Reads (and any other command) through the session's connection.
impl<'a> Handle for &'a WatchSession {
    crate::exec::boxed_handle!('a);

    fn execute(self, args: Args, meta: Option<&'static CommandMeta>) -> Self::Future {
        if self.slot.is_none() {
            return self.conn.execute(args, meta);
        }
        Box::pin(self.send_one(args, meta))
    }

    fn execute_batch<'s>(self, batch: Batch) -> BatchFuture<'s>
    where
        Self: 's,
    {
        Box::pin(self.send_batch(batch))
    }

    fn shares_connection(self) -> bool {
        false
    }
}

impl crate::exec::sealed::Sealed for &WatchSession {}
impl crate::exec::OwnsConnection for &WatchSession {}
