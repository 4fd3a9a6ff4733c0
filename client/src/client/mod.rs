//! [`Client`]: the handle applications use — making one (every connection opened at
//! once, so a wrong address or password fails at `connect`), what it holds (its
//! multiplexed connections, the hold of Sentinel failovers, the pool of dedicated
//! connections, the client-side cache) and its accessors.
//!
//! The rest of the client is in its parts: `config` ([`ClientConfig`]), `handle` (how
//! `&Client` sends one command: the [`Handle`] impl, [`ExecFuture`] and [`TypedFuture`],
//! the command's state machine and its choice of connection: a dedicated one for
//! blocking commands, else the shared one), `connections` (with several connections:
//! the least loaded, or every one for `WAIT`). Does not own: the connection machinery
//! (see `mux`), dedicated connections (see [`crate::pool`] and [`crate::dedicated`]) or
//! typed decoding (see [`FromValue`](crate::FromValue)).
//!
//! The shared connection takes no command that changes the state of the connection it
//! runs on (`SELECT`, `CLIENT REPLY`, `MULTI`, `SUBSCRIBE`, …: the generated tables'
//! `connection_state`). Generated methods for them do not compile on `&Client`; the raw
//! paths ([`Client::cmd`], [`Client::send`], [`Client::send_batch`], and
//! [`Handle::execute`] with or without metadata) refuse them before sending, with
//! [`Error::SharedConnection`].

mod config;
mod connections;
mod handle;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;

use crate::cache::Cache;
use crate::error::{Error, Result};
use crate::exec::Handle;
use crate::hold::Hold;
use crate::mux::{Mux, MuxConfig};
use crate::pipeline::Pipeline;
use crate::pool::Pool;
use crate::value::Value;

pub use self::config::ClientConfig;
pub use self::handle::{ExecFuture, TypedFuture};
pub use crate::exec::{Cmd, CmdFuture};

/// A Redis / Valkey client: one multiplexed connection shared by every clone and task (or
/// several: [`ClientConfig::connections`]), plus a small pool of dedicated connections.
///
/// Cloning is cheap (an `Arc`); all clones share the connection. Commands from concurrent
/// tasks are written in batches and their replies routed back in order. A command whose
/// future is dropped or times out never shifts replies onto another caller. When the
/// connection is lost, every waiting command fails with a connection error and the next
/// command reconnects.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

/// A [`Client`] handle that does not keep it alive (for background watchers).
pub(crate) struct WeakClient(std::sync::Weak<Inner>);

impl WeakClient {
    /// The client, if it still exists.
    pub(crate) fn upgrade(&self) -> Option<Client> {
        self.0.upgrade().map(|inner| Client { inner })
    }
}

struct Inner {
    /// The multiplexed connections: one unless configured otherwise.
    muxes: Box<[Arc<Mux>]>,
    /// Holds new commands on every connection (Sentinel failovers).
    hold: Arc<Hold>,
    pool: Pool,
    command_timeout: Option<Duration>,
    reconnect_on_readonly: bool,
    /// The client-side cache, if configured.
    cache: Option<Arc<Cache>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The reader and writer tasks hold the `Mux`; stop them with the last handle.
        for mux in self.muxes.iter() {
            mux.shutdown();
        }
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("info", &self.inner.mux().config().info)
            .field("connections", &self.inner.muxes.len())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Connects to the server at `url` (`redis://host:port/db`, `rediss://…`,
    /// `unix:///path`). Fails if the first connection cannot be made.
    pub async fn connect(url: &str) -> Result<Client> {
        Client::with_config(ClientConfig::new(url)?).await
    }

    /// Connects with explicit settings.
    pub async fn with_config(config: ClientConfig) -> Result<Client> {
        let n = config
            .info
            .connections
            .clamp(1, crate::connection::MAX_CONNECTIONS);
        let cache = config.cache.clone().map(|c| Arc::new(Cache::new(c)));
        let mut info = config.info.clone();
        // Only the multiplexed connections serve cached reads: only they track.
        info.tracking = cache.is_some();
        let mux_config = MuxConfig {
            info,
            health_check_interval: config.info.health_check_interval,
            health_check_timeout: config.info.health_check_timeout,
            track_load: n > 1,
            cache: cache.clone(),
        };
        let hold = Arc::new(Hold::default());
        // One channel for every connection's pushes: `push_messages` sees them all.
        let (push_tx, _) = broadcast::channel(config.push_capacity.max(1));
        let muxes: Box<[Arc<Mux>]> = (0..n)
            .map(|_| Mux::new(mux_config.clone(), hold.clone(), push_tx.clone()))
            .collect();
        // Every connection is opened now, so that a wrong address or password fails
        // here; one at a time, as each also serializes its own attempts.
        for mux in muxes.iter() {
            if let Err(e) = mux.connect().await {
                for m in muxes.iter() {
                    m.shutdown();
                }
                return Err(e);
            }
        }
        Ok(Client {
            inner: Arc::new(Inner {
                muxes,
                hold,
                pool: Pool::new(config.info.clone(), config.pool.clone()),
                reconnect_on_readonly: config.reconnect_on_readonly,
                command_timeout: config.command_timeout,
                cache,
            }),
        })
    }

    /// Starts a raw command: `client.cmd("OBJECT").arg("ENCODING").arg("k").await`.
    /// Awaiting it yields the [`Value`]; `.decode::<T>()` converts to any
    /// [`FromValue`](crate::FromValue) type instead. An error reply becomes `Err(Error::Server)`.
    ///
    /// Raw commands always go to the shared connection: a blocking command (`BLPOP`,
    /// `XREAD BLOCK`, …) sent this way holds up every other caller until it returns.
    /// Send those on a [`Client::dedicated`] connection instead. A command that changes
    /// the state of the connection (`SELECT`, `CLIENT REPLY`, `MULTI`, `SUBSCRIBE`, …)
    /// fails with [`Error::SharedConnection`] without being sent; it works on
    /// [`Client::dedicated`].
    ///
    /// ```no_run
    /// # async fn f(client: &typedis::Client) -> typedis::Result<()> {
    /// let err = client.cmd("SELECT").arg(1).await.unwrap_err();
    /// assert!(err.is_shared_connection());
    /// let conn = client.dedicated().await?;
    /// conn.send(client.cmd("SELECT").arg(1).as_args()).await?;
    /// # Ok(()) }
    /// ```
    pub fn cmd(&self, name: &str) -> Cmd<&Client> {
        Handle::cmd(self, name)
    }

    /// A pipeline: commands sent together, in one write, replies decoded into a tuple
    /// (see [`Pipeline`]).
    ///
    /// ```no_run
    /// # async fn f(client: &typedis::Client) -> typedis::Result<()> {
    /// use typedis::prelude::*;
    /// let (set, value) = client.pipeline().set("a", "1").get("a").execute().await?;
    /// # let _: (bool, Option<typedis::Bytes>) = (set, value);
    /// # Ok(()) }
    /// ```
    pub fn pipeline(&self) -> Pipeline<'_, ()> {
        Pipeline::new(self)
    }

    /// A transaction: like [`pipeline`](Self::pipeline), wrapped in `MULTI … EXEC`.
    pub fn transaction(&self) -> Pipeline<'_, ()> {
        Pipeline::transaction(self)
    }

    /// RESP3 push frames the server sent on the shared connection (client-side caching
    /// invalidations, …). They never reach command callers. Frames sent before this is
    /// called are not seen; a receiver that falls behind by more than the configured
    /// capacity loses the oldest frames.
    pub fn push_messages(&self) -> broadcast::Receiver<Value> {
        self.inner.muxes[0].subscribe_pushes()
    }

    /// What the client-side cache did since the client was created (hits, misses,
    /// evictions, invalidations, …), or `None` without [`ClientConfig::cache`].
    pub fn cache_stats(&self) -> Option<crate::cache::CacheStats> {
        self.inner.cache.as_ref().map(|c| c.stats())
    }

    /// Empties the client-side cache, if any (a cluster slot of this node moved).
    pub(crate) fn clear_cache(&self) {
        if let Some(c) = &self.inner.cache {
            c.clear();
        }
    }

    /// The pool of dedicated connections (for blocking commands, WATCH, PubSub).
    pub fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    /// Closes the shared connections now (e.g. Sentinel announced a new master); waiting
    /// callers get a connection error and the next command reconnects. Idle dedicated
    /// connections are closed too, so none is reused on the old node.
    pub(crate) fn drop_connection(&self, reason: &str) {
        for mux in self.inner.muxes.iter() {
            mux.drop_connection(Error::ConnectionClosed(reason.to_owned()));
        }
        self.inner.pool.clear_idle();
    }

    /// What spans and metrics name the shared connections (their endpoint).
    pub(crate) fn site(&self) -> &crate::observe::Site {
        self.inner.muxes[0].site()
    }

    /// The gate that holds new commands back on every connection (Sentinel failovers).
    pub(crate) fn hold(&self) -> &Hold {
        &self.inner.hold
    }

    /// A handle that does not keep the client alive.
    pub(crate) fn downgrade(&self) -> WeakClient {
        WeakClient(Arc::downgrade(&self.inner))
    }

    #[cfg(test)]
    pub(crate) fn mux(&self) -> &Arc<Mux> {
        &self.inner.muxes[0]
    }
}
