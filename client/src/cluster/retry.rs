//! The one redirect and retry policy of the cluster, for single commands, pipelines,
//! transactions and WATCH: `MOVED` updates the slot's owner and is followed, `ASK` is
//! followed with `ASKING` (or waited out, for what must run whole on one node),
//! `TRYAGAIN`, `CLUSTERDOWN`, `LOADING` and connection errors wait (25 ms doubling up to
//! 1 s) and refresh the map; at most `max_attempts` sends in all.
//!
//! Owns: counting attempts, classifying a failed attempt, waiting. Does not own: where
//! a command goes first ([`super::routing`]).

use std::time::Duration;

use super::discovery::fill_host;
use super::routing::{meta_of, Route};
use super::ClusterClient;
use crate::cmd::Args;
use crate::error::{Error, Result};
use crate::exec::Handle;
use crate::meta::CommandMeta;
use crate::value::Value;

pub(super) async fn backoff(attempt: u32) {
    let ms = (25u64 << attempt.min(6)).min(1000);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

impl ClusterClient {
    pub(super) fn moved(&self, slot: u16, to: &str) {
        if let Ok(mut t) = self.inner.topology.write() {
            t.set_owner(slot, to);
        }
        self.schedule_refresh();
    }

    /// Sends one command along `route`, following redirections and retrying transient
    /// errors within the attempt budget.
    pub(super) async fn send_routed(
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
                    Handle::execute(&node, args.clone(), meta).await
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
}
