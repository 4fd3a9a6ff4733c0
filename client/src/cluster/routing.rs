//! Where a command goes: the node serving its keys' slot (a replica for reads when
//! replica reads are on), else the nodes its routing tip names (`request_policy`), else
//! the default node; and the nodes a caller names with [`ClusterClient::on`]. Decided from
//! the generated key specs and tips alone.
//!
//! Owns: the routing decisions. Does not own: sending and retrying ([`super::retry`]),
//! fan-out and combining replies ([`super::fanout`]).

use std::sync::atomic::Ordering;
use std::time::Instant;

use super::{poisoned, ClusterClient};
use crate::cmd::Args;
use crate::error::{Error, Result};
use crate::keys::{command_keys, key_slot, keys_with_meta};
use crate::meta::{CommandMeta, RequestPolicy};
use crate::value::Value;

/// Where a command goes.
#[derive(Debug, Clone)]
pub(super) enum Route {
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
    pub(super) cluster: &'a ClusterClient,
    pub(super) nodes: Nodes<'a>,
}

/// The metadata of a raw command, from its name.
pub(super) fn meta_of(args: &Args) -> Option<&'static CommandMeta> {
    let mut it = args.iter();
    crate::meta::lookup(it.next()?, it.next())
}

pub(super) fn random_index(len: usize) -> usize {
    use std::hash::{BuildHasher, Hasher};
    if len == 0 {
        return 0;
    }
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(Instant::now().elapsed().as_nanos() as u64);
    (h.finish() % len as u64) as usize
}

impl ClusterClient {
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

    pub(super) fn resolve_nodes(&self, nodes: Nodes<'_>) -> Result<Vec<String>> {
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

    pub(super) fn all_nodes(&self) -> Vec<String> {
        let mut v = Vec::new();
        for s in self.shards() {
            v.push(s.primary);
            v.extend(s.replicas);
        }
        v
    }

    pub(super) fn target_of(&self, route: &Route, prefer_primary: bool) -> Result<String> {
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

    /// The single slot of a command's keys; `Err(CrossSlot)` when they span slots.
    pub(super) fn slot_of(args: &Args, meta: Option<&'static CommandMeta>) -> Result<Option<u16>> {
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

    pub(super) async fn route(
        &self,
        args: Args,
        meta: Option<&'static CommandMeta>,
    ) -> Result<Value> {
        // A raw command routes as its generated form would, by its entry in the tables.
        let meta = meta.or_else(|| meta_of(&args));
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(parts: &[&str]) -> Args {
        let mut a = Args::new();
        for p in parts {
            a.push_bytes(p.as_bytes());
        }
        a
    }

    fn slot(parts: &[&str]) -> Result<Option<u16>> {
        let a = args(parts);
        ClusterClient::slot_of(&a, meta_of(&a))
    }

    #[test]
    fn a_command_goes_to_its_keys_slot() {
        assert_eq!(slot(&["GET", "k"]).unwrap(), Some(key_slot(b"k")));
        // Hash tags keep keys together.
        let s = slot(&["MSET", "{u1}:a", "1", "{u1}:b", "2"]).unwrap();
        assert_eq!(s, Some(key_slot(b"u1")));
        // Raw commands are keyed by their table entry too: EVALSHA's keys by numkeys.
        let s = slot(&["EVALSHA", "abc", "1", "{t}:k", "not-a-key"]).unwrap();
        assert_eq!(s, Some(key_slot(b"t")));
        // Keyless commands have no slot (their tips decide).
        assert_eq!(slot(&["DBSIZE"]).unwrap(), None);
        assert_eq!(slot(&["EVALSHA", "abc", "0", "arg"]).unwrap(), None);
    }

    #[test]
    fn keys_of_several_slots_are_refused_with_them() {
        let err = slot(&["MGET", "a", "b"]).unwrap_err();
        match err {
            Error::CrossSlot { command, slots } => {
                assert_eq!(command, "MGET");
                let mut want = vec![key_slot(b"a"), key_slot(b"b")];
                want.sort_unstable();
                assert_eq!(slots, want);
            }
            other => panic!("{other:?}"),
        }
        // A repeated key is one slot.
        assert_eq!(slot(&["MGET", "a", "a"]).unwrap(), Some(key_slot(b"a")));
    }

    #[test]
    fn keyless_commands_follow_their_request_policy() {
        let policy = |parts: &[&str]| meta_of(&args(parts)).map(|m| m.request_policy);
        assert_eq!(policy(&["DBSIZE"]), Some(RequestPolicy::AllShards));
        assert_eq!(
            policy(&["SCRIPT", "LOAD", "x"]),
            Some(RequestPolicy::AllNodes)
        );
        assert!(policy(&["PING"]).is_some());
        assert_eq!(policy(&["NOSUCHCOMMAND"]), None);
    }

    #[test]
    fn a_random_index_stays_in_range() {
        for len in [0, 1, 2, 7] {
            for _ in 0..50 {
                let i = random_index(len);
                assert!(i < len.max(1), "{i} of {len}");
            }
        }
    }
}
