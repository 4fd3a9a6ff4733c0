//! The one redirect and retry policy of the cluster, for single commands, pipelines,
//! transactions and WATCH: `MOVED` updates the slot's owner and is followed, `ASK` is
//! followed with `ASKING` (or waited out, for a transaction: it runs whole on one node),
//! `TRYAGAIN`, `CLUSTERDOWN`, `LOADING` and connection errors wait (25 ms doubling up to
//! 1 s) and refresh the map; at most `max_attempts` sends in all.
//!
//! Owns: counting attempts, classifying a failed attempt, waiting. Does not own: where
//! a command goes first ([`super::routing`]).

use std::time::Duration;

use super::discovery::fill_host;
use super::routing::{meta_of, Route};
use super::ClusterClient;
use crate::client::Client;
use crate::cmd::Args;
use crate::error::{Error, Result};
use crate::exec::Handle;
use crate::meta::CommandMeta;
use crate::value::Value;

/// What a failed attempt calls for, by the one policy (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Next {
    /// Send again, to this node (`asking`: right after `ASKING`).
    Redirect { to: String, asking: bool },
    /// Wait (backoff, then a map refresh), then route afresh.
    Wait,
    /// Give up with the error.
    Fail,
}

/// How a redirection is followed where a command is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Follow {
    /// `MOVED` and `ASK` both (single commands, pipelines).
    All,
    /// `MOVED` only; `ASK` is waited out (a transaction, which must run whole on the
    /// node that holds every key it touches).
    Moved,
    /// None (a node the caller named).
    None,
}

/// Classifies the error an attempt failed with (`from`: the node that answered). Pure:
/// the caller applies a `MOVED` to the map.
pub(super) fn classify(e: &Error, from: &str, follow: Follow) -> Next {
    if let Some((_, to)) = e.server_error().and_then(|se| se.redirect()) {
        let to = fill_host(to, from);
        return match (follow, e.is_moved()) {
            (Follow::None, _) => Next::Fail,
            (_, true) => Next::Redirect { to, asking: false },
            (Follow::All, false) => Next::Redirect { to, asking: true },
            (Follow::Moved, false) => Next::Wait,
        };
    }
    if e.is_retryable() {
        Next::Wait
    } else {
        Next::Fail
    }
}

/// Waits before the `attempt`th retry: 25 ms doubling up to 1 s.
pub(super) async fn backoff(attempt: u32) {
    let ms = (25u64 << attempt.min(6)).min(1000);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// The attempt budget of one command, pipeline round or transaction: at most
/// `max_attempts` sends, redirections included; waits doubling from 25 ms to 1 s.
pub(super) struct Attempts {
    left: usize,
    waits: u32,
    last: Option<Error>,
}

impl Attempts {
    pub(super) fn new(cluster: &ClusterClient) -> Attempts {
        Attempts {
            left: cluster.inner.config.max_attempts,
            waits: 0,
            last: None,
        }
    }

    /// Takes one send from the budget; `false` when it is spent.
    pub(super) fn next(&mut self) -> bool {
        if self.left == 0 {
            return false;
        }
        self.left -= 1;
        true
    }

    /// Whether a send has failed transiently before (then reads go to primaries).
    pub(super) fn waited(&self) -> bool {
        self.waits > 0
    }

    /// Keeps `e` as the error to report if the budget runs out.
    pub(super) fn failed(&mut self, e: Error) {
        self.last = Some(e);
    }

    /// Backs off, then refreshes the map, before routing afresh.
    pub(super) async fn wait(&mut self, cluster: &ClusterClient) {
        self.waits += 1;
        backoff(self.waits).await;
        let _ = cluster.refresh().await;
    }

    /// The error of a spent budget: the last attempt's.
    pub(super) fn exhausted(self) -> Error {
        self.last
            .unwrap_or_else(|| Error::Cluster("retries exhausted".into()))
    }
}

impl ClusterClient {
    /// Applies the policy's verdict on `e` from `from`: a `MOVED` updates the map (and
    /// is observed, as an `ASK` is).
    pub(super) fn next_after(&self, e: &Error, from: &str, follow: Follow) -> Next {
        let next = classify(e, from, follow);
        if let (Next::Redirect { to, asking }, Some((slot, _))) =
            (&next, e.server_error().and_then(|se| se.redirect()))
        {
            crate::observe::redirected(if *asking { "ASK" } else { "MOVED" }, slot, to);
            if !*asking {
                self.moved(slot, to);
            }
        }
        next
    }

    /// The node of an attempt: `redirect`'s, else the primary `route` names. `None`
    /// when there is none to reach (no owner known, no connection), the error kept and
    /// waited out: nothing was sent, so the caller tries again with a fresher map.
    pub(super) async fn primary_for(
        &self,
        redirect: Option<String>,
        route: &Route,
        attempts: &mut Attempts,
    ) -> Option<(String, Client)> {
        let node = match redirect.map_or_else(|| self.target_of(route, true), Ok) {
            Ok(addr) => self.node(&addr).await.map(|n| (addr, n)),
            Err(e) => Err(e),
        };
        match node {
            Ok(n) => Some(n),
            Err(e) => {
                attempts.failed(e);
                attempts.wait(self).await;
                None
            }
        }
    }

    fn moved(&self, slot: u16, to: &str) {
        let mut lost = Vec::new();
        if let Ok(mut t) = self.inner.topology.write() {
            if self.inner.config.cache.is_some() {
                lost = super::losers(&t, slot);
            }
            t.set_owner(slot, to);
        }
        self.clear_caches(lost);
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
        let follow = match route {
            Route::Node(_) => Follow::None,
            _ => Follow::All,
        };
        let mut redirect: Option<(String, bool)> = None;
        let mut attempts = Attempts::new(self);
        while attempts.next() {
            let (addr, asking) = match redirect.take() {
                Some(r) => r,
                None => match self.target_of(&route, attempts.waited()) {
                    Ok(a) => (a, false),
                    Err(e) => {
                        attempts.failed(e);
                        attempts.wait(self).await;
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
            match self.next_after(&e, &addr, follow) {
                Next::Redirect { to, asking } => redirect = Some((to, asking)),
                Next::Wait => attempts.wait(self).await,
                Next::Fail => return Err(e),
            }
            attempts.failed(e);
        }
        Err(attempts.exhausted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ServerError;

    fn server(line: &str) -> Error {
        Error::Server(ServerError::parse(line.as_bytes()))
    }

    #[test]
    fn moved_is_followed_everywhere_but_on_a_named_node() {
        let e = server("MOVED 3999 127.0.0.1:7002");
        let to = Next::Redirect {
            to: "127.0.0.1:7002".into(),
            asking: false,
        };
        assert_eq!(classify(&e, "127.0.0.1:7000", Follow::All), to);
        assert_eq!(classify(&e, "127.0.0.1:7000", Follow::Moved), to);
        assert_eq!(classify(&e, "127.0.0.1:7000", Follow::None), Next::Fail);
    }

    #[test]
    fn ask_is_followed_with_asking_or_waited_out() {
        let e = server("ASK 3999 127.0.0.1:7002");
        assert_eq!(
            classify(&e, "127.0.0.1:7000", Follow::All),
            Next::Redirect {
                to: "127.0.0.1:7002".into(),
                asking: true
            }
        );
        assert_eq!(classify(&e, "127.0.0.1:7000", Follow::Moved), Next::Wait);
        assert_eq!(classify(&e, "127.0.0.1:7000", Follow::None), Next::Fail);
    }

    #[test]
    fn a_redirection_without_host_means_the_answering_node() {
        let e = server("MOVED 12 :7005");
        assert_eq!(
            classify(&e, "10.0.0.9:7000", Follow::All),
            Next::Redirect {
                to: "10.0.0.9:7005".into(),
                asking: false
            }
        );
    }

    #[test]
    fn transient_states_wait_and_the_rest_fail() {
        for line in [
            "TRYAGAIN Multiple keys request during rehashing of slot",
            "CLUSTERDOWN The cluster is down",
            "LOADING Redis is loading the dataset in memory",
        ] {
            assert_eq!(
                classify(&server(line), "n:1", Follow::All),
                Next::Wait,
                "{line}"
            );
        }
        let lost = Error::ConnectionClosed("reset by peer".into());
        assert_eq!(classify(&lost, "n:1", Follow::Moved), Next::Wait);
        for e in [
            server("WRONGTYPE Operation against a key"),
            server("ERR syntax error"),
            Error::usage(crate::error::UsageKind::InvalidArgument, "x"),
        ] {
            assert_eq!(classify(&e, "n:1", Follow::All), Next::Fail, "{e}");
        }
    }
}
