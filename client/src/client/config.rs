//! [`ClientConfig`]: how a [`Client`](crate::Client) connects and behaves — the
//! connection settings (from a URL), timeouts, health checks, decoder limits, the number
//! of multiplexed connections, the dedicated connections' pool and the client-side cache.
//! Does not own what the settings do (see the client, `mux`, [`crate::pool`] and
//! [`crate::cache`]).

use std::time::Duration;

use crate::cache::CacheConfig;
use crate::connection::ConnectionInfo;
use crate::error::Result;
use crate::pool::PoolConfig;
use crate::resp::Limits;
#[cfg(doc)]
use crate::{error::Error, meta::CommandMeta, Client};

/// How a [`Client`] connects and behaves. Built from a URL, then adjusted:
///
/// ```no_run
/// # async fn f() -> typedis::Result<()> {
/// use std::time::Duration;
/// let config = typedis::ClientConfig::new("redis://127.0.0.1:6379/0")?
///     .command_timeout(Some(Duration::from_secs(5)))
///     .health_check_interval(Some(Duration::from_secs(30)));
/// let client = typedis::Client::with_config(config).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub(super) info: ConnectionInfo,
    pub(super) command_timeout: Option<Duration>,
    pub(super) push_capacity: usize,
    pub(super) pool: PoolConfig,
    pub(super) reconnect_on_readonly: bool,
    pub(super) cache: Option<CacheConfig>,
}

impl ClientConfig {
    /// Parses a connection URL (`redis://[user:pass@]host:port[/db][?protocol=2]`, …).
    pub fn new(url: &str) -> Result<Self> {
        Ok(Self::from_info(ConnectionInfo::parse(url)?))
    }

    /// Uses already parsed connection settings.
    pub fn from_info(info: ConnectionInfo) -> Self {
        ClientConfig {
            info,
            command_timeout: None,
            push_capacity: 1024,
            reconnect_on_readonly: false,
            pool: PoolConfig::default(),
            cache: None,
        }
    }

    /// Default timeout of every command, connecting included (default: none). A command
    /// that times out fails with [`Error::Timeout`]; its reply is discarded when it comes.
    pub fn command_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.command_timeout = timeout;
        self
    }

    /// Health checks (default: the URL's `health_check_interval`, else none):
    /// - when the shared connection has been idle longer than this, the next command is
    ///   preceded by a PING; if that is not answered within
    ///   [`health_check_timeout`](Self::health_check_timeout), the command goes to a
    ///   fresh connection;
    /// - when replies are due on the shared connection and nothing at all has been read
    ///   from it for this long, the peer is presumed dead (a paused process, a half-open
    ///   connection, a partition that sends no RST): every waiting caller gets a
    ///   connection error at once and the next command reconnects. So keep the interval
    ///   above the slowest command you run on the shared connection;
    /// - a dedicated connection idle in the pool for longer than this is PINGed before it
    ///   is handed out, and a subscription ([`Client::subscribe`]) that has read nothing
    ///   for this long sends a PING, reconnecting and subscribing again when it is not
    ///   answered within the timeout.
    ///
    /// Without health checks, a silent peer is only noticed when the operating system
    /// reports the connection broken: commands time out (with a
    /// [`command_timeout`](Self::command_timeout)) but the connection stays.
    pub fn health_check_interval(mut self, interval: Option<Duration>) -> Self {
        self.info = self.info.health_check_interval(interval);
        self
    }

    /// How long the health-check PING may take (default: the URL's
    /// `health_check_timeout`, else 2 s).
    pub fn health_check_timeout(mut self, timeout: Duration) -> Self {
        self.info = self.info.health_check_timeout(timeout);
        self
    }

    /// Limits of the reply decoder (default: [`Limits::default`], or the URL's
    /// `max_frame_bytes`, `max_bulk_len`, … options). A reply over a limit fails its
    /// command with [`Error::Protocol`] and closes the connection; the error names the
    /// limit to raise.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.info = self.info.limits(limits);
        self
    }

    /// How many RESP3 push frames may wait for slow [`Client::push_messages`] receivers
    /// before the oldest are dropped (default: 1024).
    pub fn push_capacity(mut self, capacity: usize) -> Self {
        self.push_capacity = capacity;
        self
    }

    /// How many multiplexed connections the client opens (default: the URL's
    /// `connections`, else 1; at most
    /// [`MAX_CONNECTIONS`](crate::connection::MAX_CONNECTIONS)). Each command joins a
    /// batch forming on one of them (up to 32 commands in flight there), else goes to
    /// the one with the fewest commands in flight; each batches what is queued for it,
    /// and a pipeline or transaction goes whole to one. Each connection reconnects and is
    /// health-checked on its own; clones share them all, and the dedicated connections'
    /// pool is one for all. More than one helps when one connection is the bottleneck
    /// (large values, many cores, a slow command delaying the others behind it).
    ///
    /// `WAIT` and `WAITAOF` then run on every connection and answer the smallest count:
    /// how many replicas acknowledged every write the client sent before, whichever
    /// connection carried it.
    pub fn connections(mut self, n: usize) -> Self {
        self.info.connections = n.clamp(1, crate::connection::MAX_CONNECTIONS);
        self
    }

    /// Maximum number of dedicated connections (default: 16).
    pub fn pool_max_size(mut self, size: usize) -> Self {
        self.pool.max_size = size.max(1);
        self
    }

    /// Idle dedicated connections older than this are closed (default: 60 s).
    pub fn pool_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.pool.idle_timeout = timeout;
        self
    }

    /// When a write is refused with `READONLY` (the node was demoted to a replica),
    /// close the connection so the next command reconnects — and, with a resolver
    /// (Sentinel), finds the new master. Off by default.
    pub fn reconnect_on_readonly(mut self, yes: bool) -> Self {
        self.reconnect_on_readonly = yes;
        self
    }

    /// Client-side caching (default: off): the replies of cacheable reads
    /// ([`CommandMeta::cacheable`]: `GET`, `HGETALL`, `SMEMBERS`, `ZRANGE`, … as the
    /// generated tables say) are kept, keyed by the whole command, and served without
    /// touching the connection until the server says the key changed. Every multiplexed
    /// connection runs `CLIENT TRACKING ON` in its handshake (so again after each
    /// reconnect); the invalidations it pushes evict the key's entries, a flush or a
    /// lost connection everything. A read in flight when its key is invalidated returns
    /// its reply without keeping it.
    ///
    /// Only single commands sent through the client (generated methods, [`Client::cmd`],
    /// [`Client::send`]) use the cache; pipelines, transactions, dedicated connections and
    /// blocking commands bypass it. Needs RESP3: connecting with `protocol=2`, or to a
    /// server without RESP3, fails with [`Error::Usage`] ([`UsageKind::InvalidConfig`](crate::error::UsageKind)).
    pub fn cache(mut self, cache: CacheConfig) -> Self {
        self.cache = Some(cache);
        self
    }

    /// The connection settings.
    pub fn connection_info(&self) -> &ConnectionInfo {
        &self.info
    }

    /// The same settings with other connection settings (e.g. a resolved address).
    pub(crate) fn connection(mut self, info: ConnectionInfo) -> Self {
        self.info = info;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_check_interval_comes_from_the_url_and_can_be_overridden() {
        let c = ClientConfig::new("redis://127.0.0.1:6379/0?health_check_interval=1").unwrap();
        assert_eq!(c.info.health_check_interval, Some(Duration::from_secs(1)));
        let c = c.health_check_interval(None);
        assert_eq!(c.info.health_check_interval, None);
        let c = ClientConfig::new("redis://127.0.0.1:6379").unwrap();
        assert_eq!(c.info.health_check_interval, None);
        assert_eq!(c.command_timeout, None);
        let limits = Limits {
            max_frame_bytes: 1 << 20,
            ..Limits::default()
        };
        let c = c
            .limits(limits)
            .health_check_timeout(Duration::from_millis(300));
        assert_eq!(c.info.limits.max_frame_bytes, 1 << 20);
        assert_eq!(c.info.health_check_timeout, Duration::from_millis(300));
    }
}
