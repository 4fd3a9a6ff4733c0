//! The slot map: discovery through any known node (`CLUSTER SHARDS`, or `CLUSTER SLOTS`
//! on servers without it), serialized refreshes whose outcome waiting callers share, the
//! rate-limited refresh a `MOVED` schedules, and node addresses.
//!
//! Owns: when and from where the map is reloaded. Does not own: parsing the replies
//! ([`super::topology`]) or what a stale map costs a command ([`super::retry`]).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::topology::{self, join_addr, Topology};
use super::{losers, poisoned, primary, ClusterClient};
use crate::error::{Error, Result, TimeoutKind};

/// How long one node may take to answer `CLUSTER SHARDS` during a refresh before the
/// next node is asked.
const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(2);

impl ClusterClient {
    pub(super) fn startup_addrs(&self) -> Vec<String> {
        self.inner
            .config
            .startup
            .iter()
            .map(|i| i.addr.to_string())
            .collect()
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

    pub(super) async fn discover(&self) -> Result<()> {
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
            match asked.await.unwrap_or(Err(Error::timeout(
                TimeoutKind::ClusterDiscovery,
                DISCOVERY_TIMEOUT,
            ))) {
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

    pub(super) async fn discover_from(&self, addr: &str) -> Result<Topology> {
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
    pub(super) fn schedule_refresh(&self) {
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
}

pub(super) fn split_addr(addr: &str) -> Result<(&str, u16)> {
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
pub(super) fn fill_host(to: &str, from: &str) -> String {
    match (to.strip_prefix(':'), split_addr(from)) {
        (Some(port), Ok((host, _))) => join_addr(host, port.parse().unwrap_or(0)),
        _ => to.to_owned(),
    }
}
