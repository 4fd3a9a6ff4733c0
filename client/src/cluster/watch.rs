//! WATCH sessions on a cluster: every watched key in one slot, the session on a
//! dedicated connection of the node serving that slot, so that the reads through it and
//! the transaction that ends it run where the keys are.
//!
//! Owns: choosing the session's node (and following `MOVED` while `WATCH` is sent).
//! Does not own: the session itself ([`crate::watch`]).

use std::future::Future;

use super::discovery::fill_host;
use super::retry::backoff;
use super::routing::Route;
use super::ClusterClient;
use crate::error::{Error, Result};
use crate::value::ToArg;
use crate::watch::{encode_keys, retry, watch_command, WatchSession};

impl ClusterClient {
    /// Starts a `WATCH` on `keys`, which must all be in one slot (hash tags:
    /// `{user1}:a`, `{user1}:b`; else [`Error::CrossSlot`], nothing sent), on a dedicated
    /// connection of the slot's primary. Read through the session, then end it with
    /// `session.transaction()` (the keys it writes in the same slot).
    pub async fn watch<I, K>(&self, keys: I) -> Result<WatchSession>
    where
        I: IntoIterator<Item = K>,
        K: ToArg,
    {
        let args = watch_command(keys)?;
        let Some(slot) = ClusterClient::slot_of(&args, crate::meta::of_args(&args))? else {
            return Err(Error::Usage("WATCH needs at least one key".into()));
        };
        let route = Route::Slot { slot, read: false };
        let mut redirect: Option<String> = None;
        let mut transient = 0u32;
        let mut last = None;
        for _ in 0..self.inner.config.max_attempts {
            let addr = match redirect.take() {
                Some(a) => Ok(a),
                None => self.target_of(&route, true),
            };
            let opened = match addr {
                Ok(addr) => match self.node(&addr).await {
                    Ok(node) => node.dedicated().await.map(|c| (addr, c)),
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            };
            let e = match opened {
                Ok((addr, conn)) => match WatchSession::start(conn, &args).await {
                    Ok(session) => return Ok(session),
                    Err(e) => {
                        let to = e
                            .server_error()
                            .and_then(|se| se.redirect())
                            .map(|(slot, to)| (slot, fill_host(to, &addr)));
                        match to {
                            // The slot moved: WATCH there (nothing is watched here).
                            Some((slot, to)) if e.is_moved() => {
                                crate::observe::redirected("MOVED", slot, &to);
                                self.moved(slot, &to);
                                redirect = Some(to);
                                last = Some(e);
                                continue;
                            }
                            // ASK (the slot is migrating) and transient states: wait.
                            Some(_) => e,
                            None if e.is_retryable() => e,
                            None => return Err(e),
                        }
                    }
                },
                Err(e) if e.is_retryable() || e.server_error().is_none() => e,
                Err(e) => return Err(e),
            };
            transient += 1;
            backoff(transient).await;
            let _ = self.refresh().await;
            last = Some(e);
        }
        Err(last.unwrap_or_else(|| Error::Cluster("retries exhausted".into())))
    }

    /// Runs `body` in a `WATCH` session on `keys` (one slot, as [`watch`](Self::watch)),
    /// again with a fresh session whenever its transaction is aborted by a conflicting
    /// write, at most `max_attempts` times (then [`Error::WatchRetriesExhausted`]), as
    /// [`Client::watch_transaction`](crate::Client::watch_transaction).
    pub async fn watch_transaction<I, K, F, Fut, T>(
        &self,
        keys: I,
        max_attempts: usize,
        body: F,
    ) -> Result<T>
    where
        I: IntoIterator<Item = K>,
        K: ToArg,
        F: FnMut(WatchSession) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let keys = encode_keys(keys);
        retry(max_attempts, || self.watch(keys.iter()), body).await
    }
}
