//! The blocking [`ClusterClient`]: the async
//! [`ClusterClient`](crate::cluster::ClusterClient) (routing by the generated key specs,
//! redirections, retries, fan-out) on a runtime of its own.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;

use super::{blocking_sink, Client, Runtime};
use crate::cluster::{ClusterConfig, Nodes};
use crate::cmd::Args;
use crate::error::Result;
use crate::value::{ToArg, Value};

/// A blocking cluster client; `Clone + Send + Sync`, clones share the node connections
/// and the runtime. Every generated command routes as on the async client:
/// `cluster.set("k", "v").run()?`.
#[derive(Clone)]
pub struct ClusterClient {
    pub(crate) inner: crate::cluster::ClusterClient,
    pub(crate) rt: Arc<Runtime>,
}

impl fmt::Debug for ClusterClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("blocking::ClusterClient")
            .field(&self.inner)
            .finish()
    }
}

blocking_sink!(ClusterClient, |c| &c.inner);

impl ClusterClient {
    /// Discovers the cluster through the first reachable startup node (URLs).
    pub fn connect<I, S>(startup: I) -> Result<ClusterClient>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        ClusterClient::with_config(ClusterConfig::new(startup)?)
    }

    /// Connects with explicit settings.
    pub fn with_config(config: ClusterConfig) -> Result<ClusterClient> {
        let rt = Runtime::new()?;
        let inner = rt.block_on(crate::cluster::ClusterClient::with_config(config))?;
        Ok(ClusterClient { inner, rt })
    }

    /// The async client inside (see [`Client::as_async`]).
    pub fn as_async(&self) -> &crate::cluster::ClusterClient {
        &self.inner
    }

    /// The client of one node (`host:port`), sharing this client's runtime.
    pub fn node(&self, addr: &str) -> Result<Client> {
        let node = self.rt.block_on(self.inner.node(addr))?;
        Ok(Client::on(&self.rt, node))
    }

    /// Reloads the slot map now.
    pub fn refresh(&self) -> Result<()> {
        self.rt.block_on(self.inner.refresh())
    }

    /// The primaries' addresses in the current slot map.
    pub fn primaries(&self) -> Vec<String> {
        self.inner.primaries()
    }

    /// The replicas' addresses in the current slot map.
    pub fn replicas(&self) -> Vec<String> {
        self.inner.replicas()
    }

    /// Sends one raw command to each of `nodes`, in parallel; every node's reply (as
    /// [`crate::cluster::ClusterClient::send_to_nodes`]).
    pub fn send_to_nodes(&self, nodes: Nodes<'_>, args: Args) -> Result<Vec<(String, Value)>> {
        self.rt.block_on(self.inner.send_to_nodes(nodes, args))
    }

    /// `MGET` across slots, values in the caller's order.
    pub fn mget_nonatomic<I, K>(&self, keys: I) -> Result<Vec<Option<Bytes>>>
    where
        I: IntoIterator<Item = K>,
        K: ToArg,
    {
        self.rt.block_on(self.inner.mget_nonatomic(keys))
    }

    /// `MSET` across slots (not atomic as a whole).
    pub fn mset_nonatomic<I, K, V>(&self, pairs: I) -> Result<()>
    where
        I: IntoIterator<Item = (K, V)>,
        K: ToArg,
        V: ToArg,
    {
        self.rt.block_on(self.inner.mset_nonatomic(pairs))
    }
}
