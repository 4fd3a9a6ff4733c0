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
//! the slot owner's connection.
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
use std::pin::Pin;
use std::time::Duration;

use crate::batch::{Batch, BatchFuture};
use crate::client::Client;
use crate::cmd::Args;
use crate::dedicated::DedicatedConnection;
use crate::error::{Error, Result, UsageKind};
use crate::exec::Handle;
use crate::meta::CommandMeta;
use crate::pipeline::Pipeline;
use crate::record::Encoded;
use crate::value::{FromValue, ToArg, Value};

/// A dedicated connection with `WATCH` in force. See the [module docs](self).
pub struct WatchSession {
    conn: DedicatedConnection,
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
            Err(Error::Watch) if attempt < max_attempts.max(1) => continue,
            Err(Error::Watch) => return Err(Error::WatchRetriesExhausted { attempts: attempt }),
            other => return other,
        }
    }
}

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

    /// Runs `body` in a `WATCH` session on `keys`, again (with a fresh session) whenever
    /// its transaction is aborted by a conflicting write, at most `max_attempts` times
    /// (then [`Error::WatchRetriesExhausted`]). `body` reads through the session and
    /// ends with `session.transaction()….execute()`.
    pub async fn watch_transaction<I, K, F, Fut, T>(
        &self,
        keys: I,
        max_attempts: usize,
        body: F,
    ) -> Result<T>
    where
        I: IntoIterator<Item = K>,
        K: ToArg,
        F: FnMut(WatchSession) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let keys = encode_keys(keys);
        retry(max_attempts, || self.watch(keys.iter()), body).await
    }
}

impl WatchSession {
    /// Sends `WATCH …` (`args`) on `conn`, which becomes the session's. The connection
    /// follows the WATCH state from the generated tables: left open, it is reset before
    /// the pool hands the connection out again.
    pub(crate) async fn start(conn: DedicatedConnection, args: &Args) -> Result<WatchSession> {
        conn.send(args).await?;
        Ok(WatchSession { conn })
    }

    /// The transaction that ends the session: queue commands, then `execute()`.
    pub fn transaction(&self) -> Pipeline<'_, ()> {
        Pipeline::transaction(self)
    }

    /// Sends commands on the session's connection, replies in order.
    pub(crate) async fn send_batch(&self, commands: &[Args]) -> Result<Vec<Value>> {
        self.conn.send_many(commands).await
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
    type Future = Pin<Box<dyn Future<Output = Result<Value>> + Send + 'a>>;

    fn execute(self, args: Args, meta: Option<&'static CommandMeta>) -> Self::Future {
        self.conn.execute(args, meta)
    }

    fn execute_with_timeout(
        self,
        args: Args,
        meta: Option<&'static CommandMeta>,
        timeout: Option<Duration>,
    ) -> Self::Future {
        self.conn.execute_with_timeout(args, meta, timeout)
    }

    type Typed<R: FromValue> = crate::__private::Pending<Self::Future, R>;

    fn execute_typed<R: FromValue>(self, args: Args, meta: &'static CommandMeta) -> Self::Typed<R> {
        crate::__private::Pending::new(self, args, meta)
    }

    fn execute_batch<'s>(self, batch: Batch) -> BatchFuture<'s>
    where
        Self: 's,
    {
        Box::pin(async move { self.send_batch(&batch.into_commands()).await })
    }

    fn shares_connection(self) -> bool {
        false
    }
}

impl crate::exec::sealed::Sealed for &WatchSession {}
impl crate::exec::OwnsConnection for &WatchSession {}
