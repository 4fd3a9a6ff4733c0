//! Blocking pipelines, transactions and WATCH sessions: the async
//! [`Pipeline`](crate::pipeline::Pipeline) and [`WatchSession`](crate::watch::WatchSession),
//! ended on the handle's runtime.
//!
//! Owns: the blocking forms and the retry loop of [`Client::watch_transaction`] (whose
//! body is a plain closure here). Does not own: collecting, sending or decoding (the async
//! pipeline does it).

use std::fmt;
use std::sync::Arc;

use super::{blocking_sink, Client, ClusterClient, DedicatedConnection, Runtime};
use crate::cmd::Args;
use crate::error::{Error, Result};
use crate::pipeline::Replies;
use crate::private::Builder;
use crate::script::ScriptCall;
use crate::value::{FromValue, ToArg, Value};

/// A pipeline or transaction on a blocking handle: the generated command methods append
/// to it (`client.pipeline().set("a", "1").get("a")`), [`execute`](Self::execute) sends
/// them in one write and returns the typed tuple. See
/// [`crate::pipeline`] for the rules (which commands a pipeline refuses, errors).
#[must_use = "a pipeline does nothing until executed"]
pub struct Pipeline<'c, T = ()> {
    inner: crate::pipeline::Pipeline<'c, T>,
    rt: &'c Runtime,
}

impl<T> fmt::Debug for Pipeline<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("blocking::Pipeline")
            .field("commands", &self.inner.len())
            .finish_non_exhaustive()
    }
}

impl<'c, T> Pipeline<'c, T> {
    fn new(inner: crate::pipeline::Pipeline<'c, T>, rt: &'c Runtime) -> Self {
        Pipeline { inner, rt }
    }

    /// Adds any command builder (its reply joins [`query`](Self::query)'s results; the
    /// typed tuple of [`execute`](Self::execute) does not change).
    pub fn add<B: Builder>(&mut self, command: B) -> &mut Self {
        self.inner.add(command);
        self
    }

    /// Adds a raw command.
    pub fn add_args(&mut self, args: Args) -> &mut Self {
        self.inner.add_args(args);
        self
    }

    /// Number of commands queued.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// Adds a command built with options (`client.set("k", "v").ex(60)`), keeping its
    /// reply type in the output tuple.
    pub fn then<B: Builder>(self, command: B) -> Pipeline<'c, (T, B::Reply)> {
        Pipeline::new(self.inner.then(command), self.rt)
    }

    /// Adds a script run (by `EVALSHA`, the script loaded in the same batch first).
    pub fn script(self, call: ScriptCall<'_>) -> Pipeline<'c, (T, Value)> {
        Pipeline::new(self.inner.script(call), self.rt)
    }

    /// Sends everything and returns every reply, error replies included.
    pub fn execute_raw(self) -> Result<Vec<Value>> {
        self.rt.block_on(self.inner.execute_raw())
    }

    /// Sends everything and decodes the replies, as one array, into `U`.
    pub fn query<U: FromValue>(self) -> Result<U> {
        self.rt.block_on(self.inner.query())
    }

    /// Sends the pipeline and decodes each reply into its command's type, as a tuple
    /// ([`Error::Pipeline`] names a command that failed).
    pub fn execute(self) -> Result<T::Flat>
    where
        T: Replies,
    {
        self.rt.block_on(self.inner.execute())
    }
}

/// On a pipeline, a command method adds the command and returns the pipeline, its
/// output tuple one element longer.
impl<'c, T> crate::private::Sink for Pipeline<'c, T> {
    type Output<B>
        = Pipeline<'c, (T, B::Reply)>
    where
        B: Builder<Sink = Self>;

    fn wrap<B>(builder: B) -> Self::Output<B>
    where
        B: Builder<Sink = Self>,
    {
        let (mut p, args, meta) = builder.into_parts();
        p.inner.push(args, Some(meta), true);
        Pipeline::new(p.inner.retype_public(), p.rt)
    }
}

impl Client {
    /// A pipeline: commands sent together, in one write, replies decoded into a tuple.
    pub fn pipeline(&self) -> Pipeline<'_, ()> {
        Pipeline::new(self.inner.pipeline(), &self.rt)
    }

    /// A transaction: like [`pipeline`](Self::pipeline), wrapped in `MULTI … EXEC`.
    pub fn transaction(&self) -> Pipeline<'_, ()> {
        Pipeline::new(self.inner.transaction(), &self.rt)
    }

    /// Starts a `WATCH` on `keys` on a dedicated connection.
    pub fn watch<I, K>(&self, keys: I) -> Result<WatchSession>
    where
        I: IntoIterator<Item = K>,
        K: ToArg,
    {
        let session = self.rt.block_on(self.inner.watch(keys))?;
        Ok(WatchSession {
            inner: Some(session),
            rt: self.rt.clone(),
        })
    }

    /// Runs `body` in a `WATCH` session on `keys`, again (with a fresh session) whenever
    /// its transaction is aborted by a conflicting write, at most `max_attempts` times
    /// (as [`crate::Client::watch_transaction`]). `body` reads through the session and
    /// ends with `session.transaction()….execute()`.
    ///
    /// ```no_run
    /// # fn f(client: &typedis::blocking::Client) -> typedis::Result<()> {
    /// use typedis::prelude::*;
    /// let doubled: i64 = client.watch_transaction(["n"], 10, |session| {
    ///     let n: i64 = session.get("n").decode::<Option<i64>>().run()?.unwrap_or(0);
    ///     let (_set,) = session.transaction().set("n", n * 2).execute()?;
    ///     Ok(n * 2)
    /// })?;
    /// # let _ = doubled; Ok(()) }
    /// ```
    pub fn watch_transaction<I, K, F, T>(
        &self,
        keys: I,
        max_attempts: usize,
        mut body: F,
    ) -> Result<T>
    where
        I: IntoIterator<Item = K>,
        K: ToArg,
        F: FnMut(WatchSession) -> Result<T>,
    {
        let keys = crate::watch::encode_keys(keys);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let session = self.watch(keys.iter())?;
            match body(session) {
                Err(Error::Watch) if attempt < max_attempts.max(1) => continue,
                Err(Error::Watch) => {
                    return Err(Error::WatchRetriesExhausted { attempts: attempt })
                }
                other => return other,
            }
        }
    }
}

impl ClusterClient {
    /// A pipeline grouped by node (as [`crate::cluster::ClusterClient::pipeline`]).
    pub fn pipeline(&self) -> Pipeline<'_, ()> {
        Pipeline::new(self.inner.pipeline(), &self.rt)
    }

    /// A single-slot transaction (as [`crate::cluster::ClusterClient::transaction`]).
    pub fn transaction(&self) -> Pipeline<'_, ()> {
        Pipeline::new(self.inner.transaction(), &self.rt)
    }
}

impl DedicatedConnection {
    /// A pipeline on this connection.
    pub fn pipeline(&self) -> Pipeline<'_, ()> {
        Pipeline::new(self.conn().pipeline(), &self.rt)
    }

    /// A transaction on this connection.
    pub fn transaction(&self) -> Pipeline<'_, ()> {
        Pipeline::new(self.conn().transaction(), &self.rt)
    }
}

/// A dedicated connection with `WATCH` in force (as
/// [`crate::watch::WatchSession`]): read through it with the generated commands, then
/// end it with [`transaction`](Self::transaction) (or [`unwatch`](Self::unwatch)).
pub struct WatchSession {
    // `Some` until dropped (inside the runtime, which resets the connection).
    inner: Option<crate::watch::WatchSession>,
    rt: Arc<Runtime>,
}

impl fmt::Debug for WatchSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("blocking::WatchSession")
            .finish_non_exhaustive()
    }
}

impl Drop for WatchSession {
    fn drop(&mut self) {
        super::drop_in(&self.rt, self.inner.take());
    }
}

impl WatchSession {
    fn session(&self) -> &crate::watch::WatchSession {
        self.inner.as_ref().expect("taken only by drop")
    }

    /// The transaction that ends the session: queue commands, then `execute()`
    /// ([`Error::Watch`] when a watched key changed).
    pub fn transaction(&self) -> Pipeline<'_, ()> {
        Pipeline::new(self.session().transaction(), &self.rt)
    }

    /// Gives up the session without a transaction (`UNWATCH`).
    pub fn unwatch(mut self) -> Result<()> {
        let session = self.inner.take().expect("taken only by drop");
        self.rt.block_on(session.unwatch())
    }
}

blocking_sink!(WatchSession, |w| w.session());
impl crate::exec::sealed::Sealed for &WatchSession {}
// Not listed among the handles that own their connection in the async API's errors.
#[diagnostic::do_not_recommend]
impl crate::exec::OwnsConnection for &WatchSession {}
