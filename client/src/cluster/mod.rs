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
//! ([`ClusterClient::send_to_nodes`], [`Executor::execute`]) refuse them with
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

mod pipeline;
mod pubsub;
mod topology;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::client::{Client, ClientConfig};
use crate::cmd::Args;
use crate::connection::{Addr, ConnectionInfo};
use crate::error::{Error, Result};
use crate::exec::Executor;
use crate::keys::{command_keys, key_slot, keys_with_meta};
use crate::meta::{CommandMeta, RequestPolicy, ResponsePolicy};
use crate::value::{FromValue, ToArg, Value};

pub use pubsub::ShardSubscription;
use topology::{join_addr, Topology};
pub use topology::{Shard, SLOTS};

/// How long one node may take to answer `CLUSTER SHARDS` during a refresh before the
/// next node is asked.
const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(2);

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
            return Err(Error::Usage(
                "a cluster client needs at least one startup node".into(),
            ));
        }
        if let Some(u) = startup.iter().find(|i| !matches!(i.addr, Addr::Tcp { .. })) {
            return Err(Error::Usage(format!(
                "cluster nodes are reached over TCP; `{u}` is not a TCP address"
            )));
        }
        if let Some(u) = startup.iter().find(|i| i.db != 0) {
            return Err(Error::Usage(format!(
                "a cluster has only database 0; `{u}` selects another"
            )));
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

/// Where a command goes.
#[derive(Debug, Clone)]
enum Route {
    /// The node serving the slot; `read` allows a replica when replica reads are on.
    Slot { slot: u16, read: bool },
    /// The default node.
    Default,
    /// One node, named by the caller (no redirections followed).
    Node(String),
}

/// Nodes named by the caller with [`ClusterClient::on`], as redis-py's `target_nodes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nodes<'a> {
    /// Every primary.
    Primaries,
    /// Every replica.
    Replicas,
    /// Every node.
    All,
    /// One node picked at random.
    Random,
    /// The default node ([`ClusterClient::default_node`]).
    Default,
    /// One node, as `host:port`.
    Node(&'a str),
}

/// A [`ClusterClient`] whose commands go to the named nodes; see [`ClusterClient::on`].
#[derive(Debug, Clone, Copy)]
pub struct OnNodes<'a> {
    cluster: &'a ClusterClient,
    nodes: Nodes<'a>,
}

/// Multi-key commands answering a count, split by slot and summed.
macro_rules! count_helpers {
    ($($(#[$doc:meta])* $name:ident => $verb:literal;)*) => {$(
        $(#[$doc])*
        pub async fn $name<I, K>(&self, keys: I) -> Result<i64>
        where
            I: IntoIterator<Item = K>,
            K: ToArg,
        {
            self.count_per_slot($verb, keys).await
        }
    )*};
}

/// Keys without values, for [`ClusterClient::per_slot`].
fn keys_only<I: IntoIterator>(keys: I) -> impl Iterator<Item = (I::Item, Option<&'static [u8]>)> {
    keys.into_iter().map(|k| (k, None))
}

impl ClusterClient {
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

    fn startup_addrs(&self) -> Vec<String> {
        self.inner
            .config
            .startup
            .iter()
            .map(|i| i.addr.to_string())
            .collect()
    }

    /// The connection to a node (`host:port`), created on first use. Node connections
    /// are in `READONLY` mode, so replicas serve reads.
    pub async fn node(&self, addr: &str) -> Result<Client> {
        if let Some(c) = self.inner.nodes.lock().map_err(|_| poisoned())?.get(addr) {
            return Ok(c.clone());
        }
        let (host, port) = split_addr(addr)?;
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

    /// Reloads the slot map from any known node (startup nodes first), with
    /// `CLUSTER SHARDS`, or `CLUSTER SLOTS` where the server lacks it.
    pub async fn refresh(&self) -> Result<()> {
        let asked = Instant::now();
        let _one_at_a_time = self.inner.refresh_lock.lock().await;
        // Callers that waited for a refresh started after they asked share its outcome,
        // failed or not: a failing cluster is not asked once per waiting command.
        if let Some((at, outcome)) = self.inner.last_attempt.lock().ok().and_then(|l| l.clone()) {
            if at > asked {
                return match outcome {
                    None => Ok(()),
                    Some(e) => Err(Error::Cluster(e)),
                };
            }
        }
        let result = self.discover().await;
        if let Ok(mut l) = self.inner.last_attempt.lock() {
            *l = Some((Instant::now(), result.as_ref().err().map(|e| e.to_string())));
        }
        result
    }

    async fn discover(&self) -> Result<()> {
        let mut tried = Vec::new();
        // The nodes of the current map know the cluster as it is now; startup nodes
        // come last (a node removed from the cluster may still answer with an old map).
        let mut candidates = Vec::new();
        if let Ok(t) = self.inner.topology.read() {
            candidates.extend(t.shards.iter().map(|s| s.primary.clone()));
            for s in &t.shards {
                candidates.extend(s.replicas.iter().cloned());
            }
        }
        candidates.extend(self.startup_addrs());
        let mut seen = std::collections::HashSet::new();
        candidates.retain(|a| seen.insert(a.clone()));
        for addr in candidates {
            // A node that accepts connections but does not answer (stopped, overloaded)
            // must not hold up the refresh (and every command waiting for it).
            let asked = tokio::time::timeout(DISCOVERY_TIMEOUT, self.discover_from(&addr));
            match asked
                .await
                .unwrap_or(Err(Error::Timeout(DISCOVERY_TIMEOUT)))
            {
                Ok(topo) => {
                    // Connections to nodes that left the cluster are closed (callers
                    // still holding one finish with it).
                    let mut keep: std::collections::HashSet<String> =
                        self.startup_addrs().into_iter().collect();
                    for s in &topo.shards {
                        keep.insert(s.primary.clone());
                        keep.extend(s.replicas.iter().cloned());
                    }
                    if let Ok(mut nodes) = self.inner.nodes.lock() {
                        nodes.retain(|addr, _| keep.contains(addr));
                    }
                    crate::observe::map_refreshed(keep.len(), &addr);
                    let lost = {
                        let mut t = self.inner.topology.write().map_err(|_| poisoned())?;
                        let lost = match self.inner.config.cache {
                            Some(_) => (0..topology::SLOTS as u16)
                                .filter(|&s| primary(&t, s) != primary(&topo, s))
                                .flat_map(|s| losers(&t, s))
                                .collect::<std::collections::BTreeSet<_>>(),
                            None => Default::default(),
                        };
                        *t = topo;
                        lost
                    };
                    self.clear_caches(lost.into_iter().collect());
                    if let Ok(mut l) = self.inner.last_refresh.lock() {
                        *l = Some(Instant::now());
                    }
                    return Ok(());
                }
                Err(e) => tried.push(format!("{addr} ({e})")),
            }
        }
        let err = Error::Cluster(format!(
            "no node answered CLUSTER SHARDS or CLUSTER SLOTS with a usable map; tried: {}",
            tried.join(", ")
        ));
        crate::observe::map_refresh_failed(&err);
        Err(err)
    }

    async fn discover_from(&self, addr: &str) -> Result<Topology> {
        let node = self.node(addr).await?;
        let host = split_addr(addr)?.0.to_owned();
        let topo = match node.cmd("CLUSTER").arg("SHARDS").await {
            Ok(reply) => {
                topology::parse_shards(reply, &host, self.inner.config.startup[0].tls.is_some())?
            }
            // Servers before 7.0 do not know CLUSTER SHARDS.
            Err(e) if e.server_error().is_some() => {
                let reply = node.cmd("CLUSTER").arg("SLOTS").await?;
                topology::parse_slots(reply, &host)?
            }
            Err(e) => return Err(e),
        };
        if topo.shards.is_empty() {
            return Err(Error::Cluster(format!("{addr} serves no slots")));
        }
        Ok(topo)
    }

    /// Refreshes the map in the background, at most once every 250 ms.
    fn schedule_refresh(&self) {
        let recent = self
            .inner
            .last_refresh
            .lock()
            .ok()
            .and_then(|l| *l)
            .is_some_and(|t| t.elapsed() < Duration::from_millis(250));
        if recent || self.inner.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            let _ = this.refresh().await;
            this.inner.refreshing.store(false, Ordering::Release);
        });
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
            return Err(Error::Usage(format!(
                "`{addr}` is not a node of this cluster (known: {})",
                self.all_nodes().join(", ")
            )));
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

    fn all_nodes(&self) -> Vec<String> {
        let mut v = Vec::new();
        for s in self.shards() {
            v.push(s.primary);
            v.extend(s.replicas);
        }
        v
    }

    /// Commands on this value go to `nodes` instead of being routed by key; with several
    /// nodes the replies are combined by the command's `response_policy` (arrays
    /// concatenated when it has none). [`send_to_nodes`](Self::send_to_nodes) gives
    /// each node's reply.
    ///
    /// ```no_run
    /// # async fn f(cluster: &typedis::cluster::ClusterClient) -> typedis::Result<()> {
    /// use typedis::prelude::*;
    /// use typedis::cluster::Nodes;
    /// cluster.on(Nodes::All).config_set([("maxmemory-policy", "allkeys-lru")]).await?;
    /// let keys: Vec<typedis::Bytes> = cluster.on(Nodes::Replicas).keys("user:*").await?;
    /// # Ok(()) }
    /// ```
    pub fn on<'a>(&'a self, nodes: Nodes<'a>) -> OnNodes<'a> {
        OnNodes {
            cluster: self,
            nodes,
        }
    }

    fn resolve_nodes(&self, nodes: Nodes<'_>) -> Result<Vec<String>> {
        let v = match nodes {
            Nodes::Primaries => self.primaries(),
            Nodes::Replicas => self.replicas(),
            Nodes::All => self.all_nodes(),
            Nodes::Random => {
                let all = self.all_nodes();
                let i = random_index(all.len());
                all.into_iter().nth(i).into_iter().collect()
            }
            Nodes::Default => self.default_node().into_iter().collect(),
            Nodes::Node(a) => vec![a.to_owned()],
        };
        if v.is_empty() {
            return Err(Error::Cluster(format!(
                "no node matches {nodes:?} in the current slot map"
            )));
        }
        Ok(v)
    }

    /// Sends one raw command to each of `nodes`, in parallel; returns every node's reply
    /// (server errors included as [`Value::Error`]).
    ///
    /// Node connections are shared: a command that changes the state of the connection
    /// it runs on (`SELECT`, `READONLY`, `SUBSCRIBE`, …) fails with
    /// [`Error::SharedConnection`] without being sent; send it on
    /// `cluster.node(addr).await?.dedicated().await?`.
    pub async fn send_to_nodes(
        &self,
        nodes: Nodes<'_>,
        args: Args,
    ) -> Result<Vec<(String, Value)>> {
        let meta = meta_of(&args);
        crate::meta::check_shared(meta, &args)?;
        self.send_each(nodes, args, meta).await
    }

    async fn send_each(
        &self,
        nodes: Nodes<'_>,
        args: Args,
        meta: Option<&'static CommandMeta>,
    ) -> Result<Vec<(String, Value)>> {
        // Every connection first: an unreachable node fails the call before the command
        // runs anywhere.
        let mut targets = Vec::new();
        for a in self.resolve_nodes(nodes)? {
            let node = self.node(&a).await?;
            targets.push((a, node));
        }
        let mut tasks = Vec::new();
        for (a, node) in targets {
            let args = args.clone();
            tasks.push(tokio::spawn(async move {
                let r = match Executor::execute(&node, args, meta).await {
                    Ok(v) => v,
                    Err(Error::Server(e)) => Value::Error(e),
                    Err(e) => return Err(e),
                };
                Ok((a, r))
            }));
        }
        join(tasks).await
    }

    fn target_of(&self, route: &Route, prefer_primary: bool) -> Result<String> {
        match route {
            Route::Node(a) => Ok(a.clone()),
            Route::Default => self
                .default_node()
                .ok_or_else(|| Error::Cluster("the slot map is empty".into())),
            Route::Slot { slot, read } => {
                let t = self.inner.topology.read().map_err(|_| poisoned())?;
                let shard = t.shard_of(*slot).ok_or_else(|| {
                    Error::Cluster(format!(
                        "no node serves slot {slot} (the cluster is not fully covered)"
                    ))
                })?;
                if *read
                    && !prefer_primary
                    && self.reads_from_replicas()
                    && !shard.replicas.is_empty()
                {
                    let n = self.inner.round_robin.fetch_add(1, Ordering::Relaxed)
                        % (shard.replicas.len() + 1);
                    if n > 0 {
                        return Ok(shard.replicas[n - 1].clone());
                    }
                }
                Ok(shard.primary.clone())
            }
        }
    }

    fn moved(&self, slot: u16, to: &str) {
        let mut lost = Vec::new();
        if let Ok(mut t) = self.inner.topology.write() {
            if self.inner.config.cache.is_some() {
                lost = losers(&t, slot);
            }
            t.set_owner(slot, to);
        }
        self.clear_caches(lost);
        self.schedule_refresh();
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

    /// Sends one command along `route`, following redirections and retrying transient
    /// errors within the attempt budget.
    async fn send_routed(
        &self,
        route: Route,
        args: Args,
        meta: Option<&'static CommandMeta>,
    ) -> Result<Value> {
        // Blocking commands go to a dedicated connection of the node (the node client
        // decides from the metadata), so they never stall its shared connection.
        let meta = meta.or_else(|| meta_of(&args));
        let mut redirect: Option<(String, bool)> = None;
        let mut transient = 0u32;
        let mut last_err = None;
        for _ in 0..self.inner.config.max_attempts {
            let (addr, asking) = match redirect.take() {
                Some(r) => r,
                None => match self.target_of(&route, transient > 0) {
                    Ok(a) => (a, false),
                    Err(e) => {
                        last_err = Some(e);
                        transient += 1;
                        backoff(transient).await;
                        let _ = self.refresh().await;
                        continue;
                    }
                },
            };
            let result = async {
                let node = self.node(&addr).await?;
                if asking {
                    let mut ask = Args::new();
                    ask.push_bytes(b"ASKING");
                    // ASKING and its command are contiguous on the node's shared
                    // connection, so the flag cannot reach another caller's command.
                    let mut replies = node.send_batch_unchecked(&[ask, args.clone()]).await?;
                    replies.pop().unwrap_or(Value::Nil).into_result()
                } else {
                    Executor::execute(&node, args.clone(), meta).await
                }
            }
            .await;
            let e = match result {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            let follow = !matches!(route, Route::Node(_));
            if let Some((slot, to)) = e
                .server_error()
                .and_then(|se| se.redirect())
                .filter(|_| follow)
            {
                let to = fill_host(to, &addr);
                crate::observe::redirected(if e.is_moved() { "MOVED" } else { "ASK" }, slot, &to);
                if e.is_moved() {
                    self.moved(slot, &to);
                    redirect = Some((to, false));
                } else {
                    redirect = Some((to, true));
                }
            } else if e.is_retryable() {
                transient += 1;
                backoff(transient).await;
                let _ = self.refresh().await;
            } else {
                return Err(e);
            }
            last_err = Some(e);
        }
        Err(last_err.unwrap_or_else(|| Error::Cluster("retries exhausted".into())))
    }

    /// The single slot of a command's keys; `Err(CrossSlot)` when they span slots.
    fn slot_of(args: &Args, meta: Option<&'static CommandMeta>) -> Result<Option<u16>> {
        let argv: Vec<&[u8]> = args.iter().collect();
        let keys = match meta {
            Some(m) => keys_with_meta(m, &argv)?,
            None => command_keys(&argv).unwrap_or_default(),
        };
        let mut slots: Vec<u16> = keys.iter().map(|&i| key_slot(argv[i])).collect();
        slots.sort_unstable();
        slots.dedup();
        if slots.len() > 1 {
            return Err(Error::CrossSlot {
                command: meta.map(|m| m.name.to_owned()).unwrap_or_else(|| {
                    String::from_utf8_lossy(argv.first().copied().unwrap_or_default()).into_owned()
                }),
                slots,
            });
        }
        Ok(slots.first().copied())
    }

    async fn route(&self, args: Args, meta: Option<&'static CommandMeta>) -> Result<Value> {
        // Node connections are shared by every caller: no connection-state command.
        crate::meta::check_shared(meta, &args)?;
        let slot = ClusterClient::slot_of(&args, meta)?;
        let read = meta.is_some_and(CommandMeta::is_readonly);
        match (slot, meta.map(|m| m.request_policy)) {
            (Some(slot), _) => {
                self.send_routed(Route::Slot { slot, read }, args, meta)
                    .await
            }
            (None, Some(RequestPolicy::AllShards)) => {
                self.fan_out(Nodes::Primaries, args, meta).await
            }
            (None, Some(RequestPolicy::AllNodes)) => self.fan_out(Nodes::All, args, meta).await,
            (None, _) => self.send_routed(Route::Default, args, meta).await,
        }
    }

    async fn fan_out(
        &self,
        nodes: Nodes<'_>,
        args: Args,
        meta: Option<&'static CommandMeta>,
    ) -> Result<Value> {
        let response = meta.map_or(ResponsePolicy::Default, |m| m.response_policy);
        let mut replies = Vec::new();
        let mut errors = Vec::new();
        for (addr, v) in self.send_each(nodes, args, meta).await? {
            match v {
                Value::Error(e) => errors.push((addr, e)),
                v => replies.push(v),
            }
        }
        if let Some((_, e)) = errors.first() {
            if response != ResponsePolicy::OneSucceeded || replies.is_empty() {
                return Err(Error::Server(e.clone()));
            }
        }
        combine(replies, response)
    }

    /// `MGET` across slots: one `MGET` per slot, in parallel, values in the caller's order.
    pub async fn mget_nonatomic<I, K>(&self, keys: I) -> Result<Vec<Option<Bytes>>>
    where
        I: IntoIterator<Item = K>,
        K: ToArg,
    {
        let replies = self.per_slot(b"MGET", keys_only(keys)).await?;
        let mut out = Vec::new();
        for (idx, v) in replies {
            let values = Vec::<Option<Bytes>>::from_value(v)?;
            if values.len() != idx.len() {
                return Err(Error::Protocol(format!(
                    "MGET of {} keys answered {} values",
                    idx.len(),
                    values.len()
                )));
            }
            for (i, v) in idx.into_iter().zip(values) {
                if out.len() <= i {
                    out.resize(i + 1, None);
                }
                out[i] = v;
            }
        }
        Ok(out)
    }

    count_helpers! {
        /// `DEL` across slots (not atomic as a whole); the number of keys removed.
        del_nonatomic => b"DEL";
        /// `UNLINK` across slots (not atomic as a whole); the number of keys removed.
        unlink_nonatomic => b"UNLINK";
        /// `EXISTS` across slots; how many of the keys exist (repeats counted).
        exists_nonatomic => b"EXISTS";
        /// `TOUCH` across slots; how many of the keys exist.
        touch_nonatomic => b"TOUCH";
    }

    async fn count_per_slot<I, K>(&self, verb: &'static [u8], keys: I) -> Result<i64>
    where
        I: IntoIterator<Item = K>,
        K: ToArg,
    {
        let mut n = 0;
        for (_, v) in self.per_slot(verb, keys_only(keys)).await? {
            n += i64::from_value(v)?;
        }
        Ok(n)
    }

    /// Sends `verb key [value] …` once per slot, in parallel; each reply with the
    /// positions of its keys in the caller's order.
    async fn per_slot<I, K, V>(
        &self,
        verb: &'static [u8],
        items: I,
    ) -> Result<Vec<(Vec<usize>, Value)>>
    where
        I: IntoIterator<Item = (K, Option<V>)>,
        K: ToArg,
        V: ToArg,
    {
        let mut by_slot: HashMap<u16, (Vec<usize>, Args)> = HashMap::new();
        for (i, (k, v)) in items.into_iter().enumerate() {
            let mut key = Args::new();
            k.write_arg(&mut key);
            if let Some(e) = key.take_error() {
                return Err(e);
            }
            let slot = key_slot(key.iter().next().unwrap_or_default());
            let (idx, args) = by_slot.entry(slot).or_insert_with(|| {
                let mut a = Args::new();
                a.push_bytes(verb);
                (Vec::new(), a)
            });
            idx.push(i);
            args.extend_from(&key);
            if let Some(v) = v {
                v.write_arg(args);
                if let Some(e) = args.take_error() {
                    return Err(e);
                }
            }
        }
        let mut tasks = Vec::new();
        for (slot, (idx, args)) in by_slot {
            let this = self.clone();
            tasks.push(tokio::spawn(async move {
                let v = this
                    .send_routed(Route::Slot { slot, read: false }, args, None)
                    .await?;
                Ok((idx, v))
            }));
        }
        join(tasks).await
    }

    /// `MSET` across slots: one `MSET` per slot, in parallel (not atomic as a whole).
    pub async fn mset_nonatomic<I, K, V>(&self, pairs: I) -> Result<()>
    where
        I: IntoIterator<Item = (K, V)>,
        K: ToArg,
        V: ToArg,
    {
        let items = pairs.into_iter().map(|(k, v)| (k, Some(v)));
        self.per_slot(b"MSET", items).await?;
        Ok(())
    }
}

/// The metadata of a raw command, from its name.
fn meta_of(args: &Args) -> Option<&'static CommandMeta> {
    let mut it = args.iter();
    crate::meta::lookup(it.next()?, it.next())
}

fn split_addr(addr: &str) -> Result<(&str, u16)> {
    addr.rsplit_once(':')
        .and_then(|(h, p)| {
            Some((
                h.trim_matches(|c| c == '[' || c == ']'),
                p.parse::<u16>().ok()?,
            ))
        })
        .ok_or_else(|| Error::Cluster(format!("bad node address `{addr}` (expected host:port)")))
}

/// A redirection to `:port` (a node that does not know its address) means the host of
/// the node that answered.
fn fill_host(to: &str, from: &str) -> String {
    match (to.strip_prefix(':'), split_addr(from)) {
        (Some(port), Ok((host, _))) => join_addr(host, port.parse().unwrap_or(0)),
        _ => to.to_owned(),
    }
}

async fn backoff(attempt: u32) {
    let ms = (25u64 << attempt.min(6)).min(1000);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

fn random_index(len: usize) -> usize {
    use std::hash::{BuildHasher, Hasher};
    if len == 0 {
        return 0;
    }
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(Instant::now().elapsed().as_nanos() as u64);
    (h.finish() % len as u64) as usize
}

async fn join<T>(tasks: Vec<tokio::task::JoinHandle<Result<T>>>) -> Result<Vec<T>> {
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(
            t.await
                .map_err(|e| Error::Cluster(format!("a cluster sub-request failed: {e}")))??,
        );
    }
    Ok(out)
}

fn poisoned() -> Error {
    Error::Cluster("internal lock poisoned by a panic".into())
}

/// Combines the replies of a fan-out according to the command's response policy.
fn combine(replies: Vec<Value>, policy: ResponsePolicy) -> Result<Value> {
    let ints = |rs: &[Value]| {
        rs.iter()
            .map(|v| i64::from_value(v.clone()))
            .collect::<Result<Vec<_>>>()
    };
    Ok(match policy {
        ResponsePolicy::AggSum => Value::Int(ints(&replies)?.iter().sum()),
        ResponsePolicy::AggMin => Value::Int(ints(&replies)?.into_iter().min().unwrap_or(0)),
        ResponsePolicy::AggMax => Value::Int(ints(&replies)?.into_iter().max().unwrap_or(0)),
        ResponsePolicy::AggLogicalAnd => Value::Int(ints(&replies)?.iter().all(|n| *n != 0) as i64),
        ResponsePolicy::AggLogicalOr => Value::Int(ints(&replies)?.iter().any(|n| *n != 0) as i64),
        ResponsePolicy::AllSucceeded | ResponsePolicy::OneSucceeded | ResponsePolicy::Special => {
            replies.into_iter().next().unwrap_or(Value::Nil)
        }
        ResponsePolicy::Default => {
            // Keyless fan-outs without a policy (KEYS, …): concatenate arrays.
            if replies.len() > 1
                && replies
                    .iter()
                    .all(|r| matches!(r, Value::Array(_) | Value::Set(_)))
            {
                Value::Array(
                    replies
                        .into_iter()
                        .flat_map(|r| match r {
                            Value::Array(i) | Value::Set(i) => i,
                            _ => Vec::new(),
                        })
                        .collect(),
                )
            } else {
                replies.into_iter().next().unwrap_or(Value::Nil)
            }
        }
    })
}

impl<'a> Executor for &'a ClusterClient {
    type Future = Pin<Box<dyn Future<Output = Result<Value>> + Send + 'a>>;

    fn execute(self, args: Args, meta: Option<&'static CommandMeta>) -> Self::Future {
        Box::pin(self.route(args, meta))
    }
    type Typed<R: FromValue> = crate::__private::Pending<Self::Future, R>;

    fn execute_typed<R: FromValue>(self, args: Args, meta: &'static CommandMeta) -> Self::Typed<R> {
        crate::__private::Pending::new(self, args, meta)
    }
}

impl crate::commands::Commands for &ClusterClient {}

impl<'a> Executor for OnNodes<'a> {
    type Future = Pin<Box<dyn Future<Output = Result<Value>> + Send + 'a>>;

    fn execute(self, args: Args, meta: Option<&'static CommandMeta>) -> Self::Future {
        Box::pin(async move {
            crate::meta::check_shared(meta, &args)?;
            match self.nodes {
                Nodes::Node(a) => {
                    self.cluster
                        .send_routed(Route::Node(a.to_owned()), args, meta)
                        .await
                }
                nodes => self.cluster.fan_out(nodes, args, meta).await,
            }
        })
    }
    type Typed<R: FromValue> = crate::__private::Pending<Self::Future, R>;

    fn execute_typed<R: FromValue>(self, args: Args, meta: &'static CommandMeta) -> Self::Typed<R> {
        crate::__private::Pending::new(self, args, meta)
    }
}

impl crate::commands::Commands for OnNodes<'_> {}

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
