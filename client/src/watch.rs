//! Optimistic locking: `WATCH` sessions and the retry helper (redis-py's
//! `transaction(func, *watches)`).
//!
//! A [`WatchSession`] holds a dedicated connection from the pool from `WATCH` until its
//! transaction ran (or it is dropped). Reads go through it (every generated command
//! works on `&session`), then `session.transaction()` queues the writes and `EXEC`
//! fails with [`Error::Watch`] if a watched key changed meanwhile. A session that ends
//! any other way closes its connection instead of returning it to the pool, so no
//! `WATCH` state can leak to the next borrower.
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

use tokio::sync::Mutex;

use crate::client::Client;
use crate::cmd::Args;
use crate::error::{Error, Result};
use crate::exec::Executor;
use crate::meta::CommandMeta;
use crate::pipeline::{Pipeline, Target};
use crate::pool::PooledConnection;
use crate::value::{FromValue, ToArg, Value};

/// A dedicated connection with `WATCH` in force. See the [module docs](self).
pub struct WatchSession {
    conn: Mutex<PooledConnection>,
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
        let mut conn = self.dedicated().await?;
        let mut args = Args::new();
        args.push_bytes(b"WATCH");
        for k in keys {
            k.write_arg(&mut args);
        }
        if args.len() < 2 {
            return Err(Error::Usage("WATCH needs at least one key".into()));
        }
        // Until EXEC, the connection holds WATCH state: never hand it back to the pool.
        conn.discard();
        conn.send(&args).await?;
        Ok(WatchSession {
            conn: Mutex::new(conn),
        })
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
                Err(Error::Watch) => {
                    return Err(Error::Lock(format!(
                        "the transaction was aborted by conflicting writes {attempt} times in a row"
                    )))
                }
                other => return other,
            }
        }
    }
}

impl WatchSession {
    /// The transaction that ends the session: queue commands, then `execute()`.
    pub fn transaction(&self) -> Pipeline<'_, ()> {
        Pipeline::new(Target::Watch(self), true)
    }

    /// Sends commands on the session's connection, replies in order.
    pub(crate) async fn send_batch(&self, commands: &[Args]) -> Result<Vec<Value>> {
        let mut conn = self.conn.lock().await;
        let replies = conn.send_many(commands).await?;
        // After EXEC (or DISCARD/UNWATCH) the connection is clean again.
        let ends = commands
            .last()
            .and_then(|a| a.iter().next())
            .is_some_and(|name| {
                name.eq_ignore_ascii_case(b"EXEC")
                    || name.eq_ignore_ascii_case(b"DISCARD")
                    || name.eq_ignore_ascii_case(b"UNWATCH")
            });
        if ends {
            conn.keep();
        }
        Ok(replies)
    }

    /// Gives up the session without a transaction (`UNWATCH`).
    pub async fn unwatch(self) -> Result<()> {
        let mut a = Args::new();
        a.push_bytes(b"UNWATCH");
        self.send_batch(&[a]).await.map(|_| ())
    }
}

/// Reads (and any other command) through the session's connection.
impl<'a> Executor for &'a WatchSession {
    type Future = Pin<Box<dyn Future<Output = Result<Value>> + Send + 'a>>;

    fn execute(self, args: Args, _meta: Option<&'static CommandMeta>) -> Self::Future {
        Box::pin(async move {
            let mut conn = self.conn.lock().await;
            conn.send(&args).await
        })
    }
    type Typed<R: FromValue> = crate::__private::Pending<Self::Future, R>;

    fn execute_typed<R: FromValue>(self, args: Args, meta: &'static CommandMeta) -> Self::Typed<R> {
        crate::__private::Pending::new(self, args, meta)
    }
}

impl crate::commands::Commands for &WatchSession {}
