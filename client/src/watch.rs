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
//! borrower.
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

use crate::client::Client;
use crate::cmd::Args;
use crate::dedicated::DedicatedConnection;
use crate::error::{Error, Result, UsageKind};
use crate::exec::Executor;
use crate::meta::CommandMeta;
use crate::pipeline::{Pipeline, Target};
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

impl Client {
    /// Starts a `WATCH` on `keys` on a dedicated connection.
    pub async fn watch<I, K>(&self, keys: I) -> Result<WatchSession>
    where
        I: IntoIterator<Item = K>,
        K: ToArg,
    {
        let mut args = Args::new();
        args.push_bytes(b"WATCH");
        for k in keys {
            k.write_arg(&mut args);
        }
        if args.len() < 2 {
            return Err(Error::usage(
                UsageKind::MissingArgument,
                "WATCH needs at least one key",
            ));
        }
        let conn = self.dedicated().await?;
        // The connection follows the WATCH state from the generated tables: left open,
        // it is reset before the pool hands the connection out again.
        conn.send(&args).await?;
        Ok(WatchSession { conn })
    }

    /// Runs `body` in a `WATCH` session on `keys`, again (with a fresh session) whenever
    /// its transaction is aborted by a conflicting write, at most `max_attempts` times.
    /// `body` reads through the session and ends with
    /// `session.transaction()….execute()`.
    pub async fn watch_transaction<I, K, F, Fut, T>(
        &self,
        keys: I,
        max_attempts: usize,
        mut body: F,
    ) -> Result<T>
    where
        I: IntoIterator<Item = K>,
        K: ToArg,
        F: FnMut(WatchSession) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let keys: Vec<crate::record::Encoded> = keys
            .into_iter()
            .map(|k| crate::record::Encoded::new(&k))
            .collect();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let session = self.watch(keys.iter()).await?;
            match body(session).await {
                Err(Error::Watch) if attempt < max_attempts.max(1) => continue,
                Err(Error::Watch) => return Err(conflicts(attempt)),
                other => return other,
            }
        }
    }
}

/// The error of a `watch_transaction` whose every attempt met a conflicting write.
pub(crate) fn conflicts(attempts: usize) -> Error {
    Error::Lock(format!(
        "the transaction was aborted by conflicting writes {attempts} times in a row"
    ))
}

impl WatchSession {
    /// The transaction that ends the session: queue commands, then `execute()`.
    pub fn transaction(&self) -> Pipeline<'_, ()> {
        Pipeline::new(Target::Watch(self), true)
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
impl<'a> Executor for &'a WatchSession {
    type Future = <&'a DedicatedConnection as Executor>::Future;

    fn execute(self, args: Args, meta: Option<&'static CommandMeta>) -> Self::Future {
        self.conn.execute(args, meta)
    }
    type Typed<R: FromValue> = crate::__private::Pending<Self::Future, R>;

    fn execute_typed<R: FromValue>(self, args: Args, meta: &'static CommandMeta) -> Self::Typed<R> {
        crate::__private::Pending::new(self, args, meta)
    }
}

impl crate::exec::sealed::Sealed for &WatchSession {}
impl crate::exec::OwnsConnection for &WatchSession {}
impl crate::commands::Commands for &WatchSession {}
