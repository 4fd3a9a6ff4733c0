//! Cluster pipelines and single-slot transactions.
//!
//! A [`Pipeline`] on a [`ClusterClient`] groups its commands by the node serving each
//! command's slot, sends the groups in parallel (one write per node), and puts the
//! replies back in the order of the calls. Commands answered with `MOVED` / `ASK` are
//! sent again to the node named, `TRYAGAIN` / `CLUSTERDOWN` / `LOADING` ones after a
//! backoff and a map refresh, within the client's attempt budget. Keyless commands go to
//! the default node. A transaction (`MULTI … EXEC`) needs every key in one slot and is
//! refused before anything is sent otherwise.
//!
//! Owns: grouping, reassembly and per-command redirection of batches. Does not own: the
//! typed pipeline API (shared with single-node clients, see [`crate::pipeline`]).

use std::collections::HashMap;

use super::discovery::fill_host;
use super::retry::backoff;
use super::routing::Route;
use super::ClusterClient;
use crate::cmd::Args;
use crate::error::{Error, Result, ServerErrorKind};
use crate::pipeline::Pipeline;
use crate::value::Value;

/// Why a node's batch failed: before anything was sent, or possibly after.
enum Sent {
    Nothing(Error),
    Maybe(Error),
}

impl ClusterClient {
    /// A pipeline: commands grouped by the node serving each command's slot and sent in
    /// parallel (one write per node); replies decoded into a tuple in call order.
    /// Commands answered with `MOVED` / `ASK` are sent again to the node named,
    /// `TRYAGAIN` / `CLUSTERDOWN` / `LOADING` ones after a backoff and a map refresh,
    /// within the client's attempt budget. Keyless commands go to the default node.
    /// Replies always come back in call order; on the server, a redirected command runs
    /// after the commands that followed it to the same node (they had already run), so
    /// keep commands that must run in order on one key, or use a transaction.
    ///
    /// ```no_run
    /// # async fn f(cluster: &typedis::cluster::ClusterClient) -> typedis::Result<()> {
    /// use typedis::prelude::*;
    /// let (_, n, v) = cluster.pipeline().set("a", 1).incr("b").get("c").execute().await?;
    /// # let _: (bool, i64, Option<typedis::Bytes>) = (true, n, v);
    /// # Ok(()) }
    /// ```
    pub fn pipeline(&self) -> Pipeline<'_, ()> {
        Pipeline::new(self)
    }

    /// A transaction (`MULTI … EXEC`) on the node serving its keys, which must all be in
    /// one slot (use hash tags: `{user1}:a`, `{user1}:b`).
    pub fn transaction(&self) -> Pipeline<'_, ()> {
        Pipeline::transaction(self)
    }

    /// Sends a pipeline's commands: `preloads` first on every node used, then
    /// `commands`; one reply per command, in order.
    pub(crate) async fn send_pipeline(
        &self,
        preloads: &[Args],
        commands: &[Args],
    ) -> Result<Vec<Value>> {
        let slots = commands
            .iter()
            .map(|c| ClusterClient::slot_of(c, None))
            .collect::<Result<Vec<_>>>()?;
        let mut results: Vec<Option<Value>> = vec![None; commands.len()];
        // (command index, redirection: node and whether ASKING goes first)
        let mut todo: Vec<(usize, Option<(String, bool)>)> =
            (0..commands.len()).map(|i| (i, None)).collect();
        let mut transient = 0u32;
        let mut last_err: Option<Error> = None;
        for _ in 0..self.inner.config.max_attempts {
            if todo.is_empty() {
                break;
            }
            let mut groups: HashMap<String, Vec<(usize, bool)>> = HashMap::new();
            let mut unrouted = Vec::new();
            for (i, redirect) in todo.drain(..) {
                let (addr, asking) = match redirect {
                    Some(r) => r,
                    None => {
                        let route = match slots[i] {
                            Some(slot) => Route::Slot { slot, read: false },
                            None => Route::Default,
                        };
                        match self.target_of(&route, true) {
                            Ok(addr) => (addr, false),
                            // No node serves the slot right now (mid-failover): wait
                            // for a fresher map.
                            Err(e) => {
                                unrouted.push((i, None));
                                last_err = Some(e);
                                continue;
                            }
                        }
                    }
                };
                groups.entry(addr).or_default().push((i, asking));
            }
            let mut wait = !unrouted.is_empty();
            todo.append(&mut unrouted);
            let mut tasks = Vec::new();
            for (addr, items) in groups {
                let mut batch: Vec<Args> = preloads.to_vec();
                for &(i, asking) in &items {
                    if asking {
                        let mut a = Args::new();
                        a.push_bytes(b"ASKING");
                        batch.push(a);
                    }
                    batch.push(commands[i].clone());
                }
                let this = self.clone();
                tasks.push(tokio::spawn(async move {
                    let r = match this.node(&addr).await {
                        Err(e) => Err(Sent::Nothing(e)),
                        Ok(node) => node.send_batch_unchecked(&batch).await.map_err(Sent::Maybe),
                    };
                    (addr, items, r)
                }));
            }
            for t in tasks {
                let (addr, items, r) = t
                    .await
                    .map_err(|e| Error::Cluster(format!("a pipeline sub-request failed: {e}")))?;
                let replies = match r {
                    Ok(r) => r,
                    // Could not connect: nothing was sent to this node.
                    Err(Sent::Nothing(e)) => {
                        todo.extend(items.iter().map(|&(i, _)| (i, None)));
                        last_err = Some(e);
                        wait = true;
                        continue;
                    }
                    // Lost mid-batch: retried like single commands (see the module docs).
                    Err(Sent::Maybe(e)) if e.is_retryable() => {
                        todo.extend(items.iter().map(|&(i, _)| (i, None)));
                        last_err = Some(e);
                        wait = true;
                        continue;
                    }
                    Err(Sent::Maybe(e)) => return Err(e),
                };
                let mut it = replies.into_iter();
                for _ in 0..preloads.len() {
                    if let Some(Value::Error(e)) = it.next() {
                        return Err(Error::Server(e));
                    }
                }
                for (i, asking) in items {
                    if asking {
                        it.next();
                    }
                    let reply = it.next().ok_or_else(|| {
                        Error::Protocol("a node answered fewer replies than commands".into())
                    })?;
                    if let Value::Error(e) = &reply {
                        if let Some((slot, to)) = e.redirect() {
                            let to = fill_host(to, &addr);
                            let ask = e.kind() == ServerErrorKind::Ask;
                            crate::observe::redirected(
                                if ask { "ASK" } else { "MOVED" },
                                slot,
                                &to,
                            );
                            if !ask {
                                self.moved(slot, &to);
                            }
                            todo.push((i, Some((to, ask))));
                        } else if Error::Server(e.clone()).is_retryable() {
                            todo.push((i, None));
                            wait = true;
                        }
                    }
                    results[i] = Some(reply);
                }
            }
            if wait {
                transient += 1;
                backoff(transient).await;
                let _ = self.refresh().await;
            }
        }
        if !todo.is_empty() {
            if let Some(e) = last_err {
                return Err(e);
            }
        }
        // Commands still redirected or failing after the budget keep their last error.
        Ok(results
            .into_iter()
            .map(|r| r.unwrap_or(Value::Nil))
            .collect())
    }

    /// Sends `MULTI … EXEC` (with `preloads` before it) to the node serving the
    /// transaction's slot; replies to everything sent, in order.
    pub(crate) async fn send_transaction(
        &self,
        all: &[Args],
        preloads: usize,
    ) -> Result<Vec<Value>> {
        // all = preloads, MULTI, commands…, EXEC
        let body = &all[(preloads + 1).min(all.len())..all.len().saturating_sub(1)];
        let mut slots = Vec::new();
        for c in body {
            if let Some(s) = ClusterClient::slot_of(c, None)? {
                slots.push(s);
            }
        }
        slots.sort_unstable();
        slots.dedup();
        if slots.len() > 1 {
            return Err(Error::CrossSlot {
                command: "MULTI/EXEC transaction".into(),
                slots,
            });
        }
        let route = match slots.first() {
            Some(&slot) => Route::Slot { slot, read: false },
            None => Route::Default,
        };
        let mut redirect: Option<String> = None;
        let mut transient = 0u32;
        let mut last = None;
        for _ in 0..self.inner.config.max_attempts {
            let addr = match redirect.take() {
                Some(a) => Ok(a),
                None => self.target_of(&route, true),
            };
            // Nothing sent yet (no owner known, or no connection): safe to try again
            // with a fresher map.
            let node = match addr {
                Ok(addr) => self.node(&addr).await.map(|n| (addr, n)),
                Err(e) => Err(e),
            };
            let (addr, node) = match node {
                Ok(n) => n,
                Err(e) => {
                    transient += 1;
                    backoff(transient).await;
                    let _ = self.refresh().await;
                    last = Some(e);
                    continue;
                }
            };
            // Errors once sent are not retried: EXEC may have run.
            let replies = node.send_batch_unchecked(all).await?;
            // A queued command refused with MOVED / ASK / TRYAGAIN aborts the whole
            // transaction (EXECABORT), so nothing ran: send it again.
            let refused =
                replies
                    .get(preloads..)
                    .unwrap_or_default()
                    .iter()
                    .find_map(|r| match r {
                        Value::Error(e)
                            if e.redirect().is_some()
                                || Error::Server(e.clone()).is_retryable() =>
                        {
                            Some(e.clone())
                        }
                        _ => None,
                    });
            let Some(e) = refused else {
                return Ok(replies);
            };
            match e.redirect() {
                Some((slot, to)) if e.kind() == ServerErrorKind::Moved => {
                    let to = fill_host(to, &addr);
                    crate::observe::redirected("MOVED", slot, &to);
                    self.moved(slot, &to);
                    redirect = Some(to);
                }
                _ => {
                    // ASK (the slot is migrating) or a transient state: wait it out.
                    transient += 1;
                    backoff(transient).await;
                    let _ = self.refresh().await;
                }
            }
            last = Some(Error::Server(e));
        }
        Err(last.unwrap_or_else(|| Error::Cluster("retries exhausted".into())))
    }
}
