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

use super::retry::{classify, Attempts, Follow, Next};
use super::routing::Route;
use super::ClusterClient;
use crate::cmd::Args;
use crate::error::{Error, Result};
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
    /// `commands`; one reply per command, in order. Each round sends what is left to
    /// do, grouped by node; the retry policy (`retry`) decides per command.
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
        let mut attempts = Attempts::new(self);
        while !todo.is_empty() && attempts.next() {
            let mut groups: HashMap<String, Vec<(usize, bool)>> = HashMap::new();
            let mut wait = false;
            for (i, redirect) in std::mem::take(&mut todo) {
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
                                todo.push((i, None));
                                attempts.failed(e);
                                wait = true;
                                continue;
                            }
                        }
                    }
                };
                groups.entry(addr).or_default().push((i, asking));
            }
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
                    // Could not connect: nothing was sent to this node. Or lost
                    // mid-batch: retried like single commands (see the module docs).
                    Err(Sent::Nothing(e)) => {
                        todo.extend(items.iter().map(|&(i, _)| (i, None)));
                        attempts.failed(e);
                        wait = true;
                        continue;
                    }
                    Err(Sent::Maybe(e)) if classify(&e, &addr, Follow::All) == Next::Wait => {
                        todo.extend(items.iter().map(|&(i, _)| (i, None)));
                        attempts.failed(e);
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
                        let e = Error::Server(e.clone());
                        match self.next_after(&e, &addr, Follow::All) {
                            Next::Redirect { to, asking } => todo.push((i, Some((to, asking)))),
                            Next::Wait => {
                                todo.push((i, None));
                                wait = true;
                            }
                            // Kept as the command's reply.
                            Next::Fail => {}
                        }
                    }
                    results[i] = Some(reply);
                }
            }
            if wait && !todo.is_empty() {
                attempts.wait(self).await;
            }
        }
        if !todo.is_empty() {
            // Commands still redirected or failing after the budget keep their last
            // reply; with none (never sent), the last error fails the pipeline.
            if todo.iter().any(|(i, _)| results[*i].is_none()) {
                return Err(attempts.exhausted());
            }
        }
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
        let mut attempts = Attempts::new(self);
        while attempts.next() {
            let Some((addr, node)) = self
                .primary_for(redirect.take(), &route, &mut attempts)
                .await
            else {
                continue;
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
                        Value::Error(e) => {
                            let e = Error::Server(e.clone());
                            match self.next_after(&e, &addr, Follow::Moved) {
                                Next::Fail => None,
                                next => Some((e, next)),
                            }
                        }
                        _ => None,
                    });
            let Some((e, next)) = refused else {
                return Ok(replies);
            };
            match next {
                Next::Redirect { to, .. } => redirect = Some(to),
                _ => attempts.wait(self).await,
            }
            attempts.failed(e);
        }
        Err(attempts.exhausted())
    }
}
