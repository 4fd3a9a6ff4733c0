//! Redis Cluster: a [`ClusterClient`] that routes every generated command to the node
//! owning its keys' slot, using the generated key specs and routing tips (no `COMMAND`
//! round trip at start-up), and follows `MOVED` / `ASK` redirections.
//!
//! Owns: the slot map (16384 slots → shard, from `CLUSTER SHARDS`, or `CLUSTER SLOTS` on
//! servers without it), one multiplexed [`Client`] per node, routing (key slot, replica
//! reads, target nodes, the default node), fan-out for keyless commands
//! (`request_policy` / `response_policy` tips), redirections and bounded retries,
//! non-atomic multi-key helpers, cluster pipelines and transactions
//! ([`ClusterClient::pipeline`]), SCAN over every primary, and cluster PubSub
//! ([`ClusterClient::subscribe`], [`ClusterClient::ssubscribe`]). Does not own:
//! connections (each node is an ordinary `Client`).
//!
//! Node connections are shared by every caller, as a `Client`'s: the commands that
//! change the state of the connection they run on (`SELECT`, `READONLY`, `ASKING`,
//! `MULTI`, `SUBSCRIBE`, …) do not compile on a `ClusterClient`, on
//! [`ClusterClient::on`] or on cluster pipelines, and the raw paths
//! ([`ClusterClient::send_to_nodes`], [`Handle::execute`]) refuse them with
//! [`Error::SharedConnection`]. Send them on a node's own connection:
//! `cluster.node(addr).await?.dedicated().await?`. The client sets `READONLY` on its
//! node connections itself, and sends `ASKING` right before the command it belongs to.
//!
//! ```no_run
//! # async fn f() -> typedis::Result<()> {
//! use typedis::prelude::*;
//! use typedis::cluster::{ClusterClient, Nodes};
//! let cluster = ClusterClient::connect(["redis://127.0.0.1:7000", "redis://127.0.0.1:7001"]).await?;
//! cluster.set("{user1}:name", "ann").await?;
//! let n: i64 = cluster.dbsize().await?;          // summed over the primaries
//! let values = cluster.mget_nonatomic(["a", "b", "c"]).await?;   // split by slot
//! cluster.on(Nodes::Primaries).flushall().await?;                  // named target nodes
//! let (a, b) = cluster.pipeline().get("a").incr("b").execute().await?;  // grouped by node
//! # let _: (Option<typedis::Bytes>, i64) = (a, b);
//! # Ok(()) }
//! ```
//!
//! # Faults
//! `MOVED` updates the slot's owner at once and schedules a full map refresh (at most one
//! every 250 ms); `ASK` sends `ASKING` and the command to the importing node;
//! `TRYAGAIN`, `CLUSTERDOWN`, `LOADING` and connection errors are retried with a
//! backoff (25 ms doubling up to 1 s) after refreshing the map, at most
//! [`ClusterConfig::max_attempts`] times in all. A command retried after a connection
//! error may have run once already: keep retried writes idempotent, or set
//! `max_attempts(1)`.

mod discovery;
mod fanout;
mod handle;
mod pipeline;
mod pubsub;
mod retry;
mod routing;
mod topology;
mod watch;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::client::{Client, ClientConfig};
use crate::connection::{Addr, ConnectionInfo};
use crate::error::{Error, Result, UsageKind};
use crate::exec::{Cmd, Handle};

pub use pubsub::ShardSubscription;
pub use routing::{Nodes, OnNodes};
use topology::Topology;
pub use topology::{Shard, SLOTS};

/// Settings of a [`ClusterClient`].
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    startup: Vec<ConnectionInfo>,
    read_from_replicas: bool,
    max_attempts: usize,
    command_timeout: Option<Duration>,
    refresh_interval: Option<Duration>,
    cache: Option<crate::cache::CacheConfig>,
}

impl ClusterConfig {
    /// Settings from startup node URLs (`redis://…` or `rediss://…`). Credentials, TLS,
    /// protocol and timeouts of the first URL apply to every node.
    pub fn new<I, S>(startup: I) -> Result<ClusterConfig>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let startup = startup
            .into_iter()
            .map(|u| ConnectionInfo::parse(u.as_ref()))
            .collect::<Result<Vec<_>>>()?;
        ClusterConfig::from_infos(startup)
    }

    /// Settings from parsed startup nodes.
    pub fn from_infos(startup: Vec<ConnectionInfo>) -> Result<ClusterConfig> {
        if startup.is_empty() {
            return Err(Error::usage(
                UsageKind::MissingArgument,
                "a cluster client needs at least one startup node",
            ));
        }
        if let Some(u) = startup.iter().find(|i| !matches!(i.addr, Addr::Tcp { .. })) {
            return Err(Error::usage(
                UsageKind::InvalidConfig,
                format!("cluster nodes are reached over TCP; `{u}` is not a TCP address"),
            ));
        }
        if let Some(u) = startup.iter().find(|i| i.db != 0) {
            return Err(Error::usage(
                UsageKind::InvalidConfig,
                format!("a cluster has only database 0; `{u}` selects another"),
            ));
        }
        Ok(ClusterConfig {
            startup,
            read_from_replicas: false,
            max_attempts: 12,
            command_timeout: Some(Duration::from_secs(10)),
            refresh_interval: Some(Duration::from_secs(30)),
            cache: None,
        })
    }

    /// Sends commands flagged `readonly` round-robin to a slot's primary and replicas
    /// (default: off; switch at run time with [`ClusterClient::readonly`]).
    pub fn read_from_replicas(mut self, yes: bool) -> Self {
        self.read_from_replicas = yes;
        self
    }

    /// How many times one command is sent at most, redirections and retries included
    /// (default 12; at least 1).
    pub fn max_attempts(mut self, attempts: usize) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Client-side caching on every node
    /// ([`ClientConfig::cache`](crate::ClientConfig::cache)): each node's client has
    /// a cache of its own with these bounds, fed and invalidated (`CLIENT TRACKING`) by
    /// its own connections, so a key that moves is invalidated by the node it leaves.
    pub fn cache(mut self, cache: crate::cache::CacheConfig) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Client-side timeout of each attempt (default 10 s; `None` waits forever).
    pub fn command_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.command_timeout = timeout;
        self
    }

    /// Health checks of every node connection (default: the first URL's
    /// `health_check_interval`, else none); see
    /// [`ClientConfig::health_check_interval`](crate::ClientConfig::health_check_interval).
    pub fn health_check_interval(mut self, interval: Option<Duration>) -> Self {
        self.startup = self
            .startup
            .into_iter()
            .map(|i| i.health_check_interval(interval))
            .collect();
        self
    }

    /// How long a health-check PING may take (default: the first URL's
    /// `health_check_timeout`, else 2 s).
    pub fn health_check_timeout(mut self, timeout: Duration) -> Self {
        self.startup = self
            .startup
            .into_iter()
            .map(|i| i.health_check_timeout(timeout))
            .collect();
        self
    }

    /// Limits of the reply decoder on every node connection (default: the first URL's
    /// `max_frame_bytes`, … options, else [`Limits::default`](crate::resp::Limits)).
    pub fn limits(mut self, limits: crate::resp::Limits) -> Self {
        self.startup = self.startup.into_iter().map(|i| i.limits(limits)).collect();
        self
    }

    /// Reloads the slot map in the background this often, so replicas that joined and
    /// failovers that happened while the client was idle are seen before the first
    /// redirection (default 30 s; `None`: only on redirections and errors).
    pub fn refresh_interval(mut self, interval: Option<Duration>) -> Self {
        self.refresh_interval = interval.filter(|d| !d.is_zero());
        self
    }
}

struct Inner {
    config: ClusterConfig,
    topology: RwLock<Topology>,
    nodes: Mutex<HashMap<String, Client>>,
    default_node: RwLock<Option<String>>,
    read_from_replicas: AtomicBool,
    round_robin: AtomicUsize,
    refreshing: AtomicBool,
    last_refresh: Mutex<Option<Instant>>,
    /// When the last refresh ended, and its error if it failed.
    last_attempt: Mutex<Option<(Instant, Option<String>)>>,
    refresh_lock: tokio::sync::Mutex<()>,
}

/// A client for a Redis Cluster; cheap to clone. Every generated command works on it.
#[derive(Clone)]
pub struct ClusterClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ClusterClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterClient")
            .field("startup", &self.startup_addrs())
            .field("shards", &self.shards().len())
            .finish_non_exhaustive()
    }
}

impl ClusterClient {
    /// Starts a raw command, routed as a generated one (by its keys' slot, else by its
    /// routing tips): `cluster.cmd("OBJECT").arg("ENCODING").arg("k").await`; see
    /// [`Handle::cmd`].
    pub fn cmd(&self, name: &str) -> Cmd<&ClusterClient> {
        Handle::cmd(self, name)
    }

    /// Discovers the cluster through the first reachable startup node. Fails with an
    /// error naming every node tried when none answers.
    pub async fn connect<I, S>(startup: I) -> Result<ClusterClient>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        ClusterClient::with_config(ClusterConfig::new(startup)?).await
    }

    /// Connects with explicit settings.
    pub async fn with_config(config: ClusterConfig) -> Result<ClusterClient> {
        let read = config.read_from_replicas;
        let client = ClusterClient {
            inner: Arc::new(Inner {
                config,
                topology: RwLock::new(Topology::empty()),
                nodes: Mutex::new(HashMap::new()),
                default_node: RwLock::new(None),
                read_from_replicas: AtomicBool::new(read),
                round_robin: AtomicUsize::new(0),
                refreshing: AtomicBool::new(false),
                last_refresh: Mutex::new(None),
                last_attempt: Mutex::new(None),
                refresh_lock: tokio::sync::Mutex::new(()),
            }),
        };
        client.refresh().await?;
        if let Some(every) = client.inner.config.refresh_interval {
            // Holds only a weak reference: the task ends with the last clone.
            let weak = Arc::downgrade(&client.inner);
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    let Some(inner) = weak.upgrade() else { return };
                    let _ = ClusterClient { inner }.refresh().await;
                }
            });
        }
        Ok(client)
    }

    /// The connection to a node (`host:port`), created on first use. Node connections
    /// are in `READONLY` mode, so replicas serve reads.
    pub async fn node(&self, addr: &str) -> Result<Client> {
        if let Some(c) = self.inner.nodes.lock().map_err(|_| poisoned())?.get(addr) {
            return Ok(c.clone());
        }
        let (host, port) = discovery::split_addr(addr)?;
        let mut info = self.inner.config.startup[0].clone();
        info.addr = Addr::Tcp {
            host: host.to_owned(),
            port,
        };
        info.readonly = true;
        let mut config =
            ClientConfig::from_info(info).command_timeout(self.inner.config.command_timeout);
        if let Some(cache) = &self.inner.config.cache {
            config = config.cache(cache.clone());
        }
        let c = Client::with_config(config).await?;
        Ok(self
            .inner
            .nodes
            .lock()
            .map_err(|_| poisoned())?
            .entry(addr.to_owned())
            .or_insert(c)
            .clone())
    }

    /// Empties the client-side caches of `nodes`: they served a slot that moved, and a
    /// read they cached in it (a key that did not exist there, say) would be invalidated
    /// by nobody now that its writes go elsewhere.
    fn clear_caches(&self, nodes: Vec<String>) {
        if nodes.is_empty() {
            return;
        }
        if let Ok(clients) = self.inner.nodes.lock() {
            for addr in nodes {
                if let Some(c) = clients.get(&addr) {
                    c.clear_cache();
                }
            }
        }
    }

    /// What every node's client-side cache did (summed over the nodes connected now),
    /// or `None` without [`ClusterConfig::cache`].
    pub fn cache_stats(&self) -> Option<crate::cache::CacheStats> {
        self.inner.config.cache.as_ref()?;
        let mut total = crate::cache::CacheStats::default();
        if let Ok(clients) = self.inner.nodes.lock() {
            for s in clients.values().filter_map(Client::cache_stats) {
                total.hits += s.hits;
                total.misses += s.misses;
                total.evictions += s.evictions;
                total.invalidations += s.invalidations;
                total.flushes += s.flushes;
                total.raced += s.raced;
                total.entries += s.entries;
            }
        }
        Some(total)
    }

    /// The shards, as the client knows them.
    pub fn shards(&self) -> Vec<Shard> {
        self.inner
            .topology
            .read()
            .map(|t| t.live_shards())
            .unwrap_or_default()
    }

    /// Every primary's address.
    pub fn primaries(&self) -> Vec<String> {
        self.shards().into_iter().map(|s| s.primary).collect()
    }

    /// Every replica's address.
    pub fn replicas(&self) -> Vec<String> {
        self.shards().into_iter().flat_map(|s| s.replicas).collect()
    }

    /// The primary serving `slot`, as the client knows it.
    pub fn primary_of(&self, slot: u16) -> Option<String> {
        let t = self.inner.topology.read().ok()?;
        t.shard_of(slot).map(|s| s.primary.clone())
    }

    /// The node keyless commands without a routing tip go to (redis-py's default node):
    /// the one set with [`set_default_node`](Self::set_default_node), else the first
    /// primary.
    pub fn default_node(&self) -> Option<String> {
        if let Some(n) = self.inner.default_node.read().ok().and_then(|d| d.clone()) {
            return Some(n);
        }
        self.primaries().into_iter().next()
    }

    /// Sets the default node; it must be a node of the cluster.
    pub fn set_default_node(&self, addr: &str) -> Result<()> {
        let known = self
            .shards()
            .iter()
            .any(|s| s.primary == addr || s.replicas.iter().any(|r| r == addr));
        if !known {
            return Err(Error::usage(
                UsageKind::InvalidConfig,
                format!(
                    "`{addr}` is not a node of this cluster (known: {})",
                    self.all_nodes().join(", ")
                ),
            ));
        }
        *self.inner.default_node.write().map_err(|_| poisoned())? = Some(addr.to_owned());
        Ok(())
    }

    /// Sends commands flagged `readonly` to replicas too (round-robin with the primary).
    pub fn readonly(&self) {
        self.inner.read_from_replicas.store(true, Ordering::Relaxed);
    }

    /// Sends every command to primaries again.
    pub fn readwrite(&self) {
        self.inner
            .read_from_replicas
            .store(false, Ordering::Relaxed);
    }

    /// Whether replica reads are on.
    pub fn reads_from_replicas(&self) -> bool {
        self.inner.read_from_replicas.load(Ordering::Relaxed)
    }
}

pub(super) fn poisoned() -> Error {
    Error::Cluster("internal lock poisoned by a panic".into())
}

/// The primary of `slot` in `t`, if any.
fn primary(t: &Topology, slot: u16) -> Option<&str> {
    t.shards
        .get(usize::from(t.slots[usize::from(slot)]))
        .map(|s| s.primary.as_str())
}

/// The nodes (primary and replicas) serving `slot` in `t`: those whose caches hold its
/// keys.
fn losers(t: &Topology, slot: u16) -> Vec<String> {
    t.shards
        .get(usize::from(t.slots[usize::from(slot)]))
        .map(|s| {
            std::iter::once(s.primary.clone())
                .chain(s.replicas.iter().cloned())
                .collect()
        })
        .unwrap_or_default()
}
