//! Redis Sentinel: clients whose connections are resolved through the sentinels, so they
//! follow failovers without being rebuilt.
//!
//! Owns: asking the sentinels for a master or its replicas, the resolvers of
//! sentinel-backed clients, and the watcher that follows a master's failovers on the
//! sentinels' event channels. Does not own: the clients themselves (ordinary
//! [`Client`]s; every generated command works) or how they connect (`connection`).
//!
//! # Master clients
//! [`Sentinel::master_for`] returns a [`Client`] whose every connection attempt first
//! asks the sentinels for the current master (`SENTINEL GET-MASTER-ADDR-BY-NAME`) and
//! checks it with `ROLE`. A `READONLY` reply (a demoted master) closes the connection so
//! the next command resolves again (the refused command itself returns the error; it was
//! not executed and may be retried).
//!
//! The client also subscribes to the failover events of every sentinel. From the first
//! event saying that its master is being failed over (`+try-failover`,
//! `+failover-state-*`, `+selected-slave`, `+promoted-slave`, …, from any sentinel)
//! until `+switch-master`, it **holds new commands** instead of sending them to the old
//! master: between the promotion of a replica and the demotion of the old master, the
//! old master still acknowledges writes, and loses them when it becomes a replica. On
//! `+switch-master` the client moves to the announced master and sends the held
//! commands there; its connection to the old master and idle dedicated connections are
//! closed. Duplicate announcements (every sentinel publishes one) are ignored. Commands
//! already in flight when the hold starts are unaffected.
//!
//! **Latency**: while held, callers wait, typically 1–2 s (the sentinels' election plus
//! up to one 1 s `INFO` round before they confirm the promotion); their own command
//! timeouts still apply. The hold ends at the latest after the bound of
//! [`FailoverHold`] (by default the master's `failover-timeout` as the sentinels report
//! it, at most 30 s), or when the sentinels abort the failover; then the client resumes
//! on whatever master the sentinels name. A hold therefore ends even if the sentinel
//! connections die. Outside failovers the hold costs one atomic load per command.
//! Turn it off with [`Sentinel::failover_hold`]`(`[`FailoverHold::Off`]`)`.
//!
//! This file asks the sentinels and builds the clients; `watcher.rs` follows the
//! failovers.
//!
//! # Replica clients
//! [`Sentinel::replica_for`] tries the replicas the sentinels list as up
//! (`SENTINEL REPLICAS`) and falls back to the master when none can be reached, as
//! redis-py does; when neither can be reached it fails with [`Error::ReplicaNotFound`].
//! Like [`Error::MasterNotFound`], that is a connection error
//! ([`Error::is_connection_error`]).
//!
//! # Credentials and TLS
//! Sentinels and data nodes have separate settings: the sentinels' own (URLs, or
//! [`ConnectionInfo`]s with [`Sentinel::connect_with`], e.g. TLS with a private CA) and
//! a template for the data nodes ([`Sentinel::master_for_with`],
//! [`Sentinel::replica_for_with`]: password, database, TLS, …; its address is ignored).
//! A node that refuses the template's credentials is reported as such rather than as a
//! missing master.
//!
//! ```no_run
//! # async fn f() -> typedis::Result<()> {
//! use typedis::prelude::*;
//! use typedis::sentinel::Sentinel;
//! use typedis::ConnectionInfo;
//! let sentinel = Sentinel::connect(["redis://127.0.0.1:26379", "redis://127.0.0.1:26380"]).await?;
//! let master = sentinel.master_for("mymaster").await?;
//! master.set("k", "v").await?;
//! let nodes = ConnectionInfo::tcp("", 0).password("secret").db(2);
//! let replica = sentinel.replica_for_with("mymaster", nodes).await?;
//! let v: Option<String> = replica.get("k").decode().await?;
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_core::Stream;
use tokio::sync::{mpsc, oneshot};

use crate::client::{Client, ClientConfig, WeakClient};
use crate::connection::{Addr, ConnectionInfo, Resolver};
use crate::error::{Error, Result, ServerErrorKind, UsageKind};
use crate::pool::{Pool, PoolConfig};
use crate::pubsub::{MessageKind, Subscription};
use crate::value::{FromValue, Value};

mod watcher;

use watcher::{Follow, Watcher};

/// The upper bound of [`FailoverHold::Auto`].
const MAX_AUTO_HOLD: Duration = Duration::from_secs(30);
/// How long the address announced by `+switch-master` is tried before asking the
/// sentinels: long enough to cover the moment when some sentinels have not learned the
/// new configuration yet (they do within one 2 s hello period) while the old master,
/// not demoted yet, still says `master`; short enough that a later failover the watcher
/// missed is not ignored for long.
const PREFER_ANNOUNCED: Duration = Duration::from_secs(10);
/// How long re-asking the sentinels may take when a hold ends without `+switch-master`.
const RESOLVE_BOUND: Duration = Duration::from_secs(2);
/// How often idle watcher tasks check that their client still exists.
const LIVENESS: Duration = Duration::from_secs(1);

/// Failover events that say a master is being failed over; any of them starts a hold.
const IN_PROGRESS: [&str; 13] = [
    "+try-failover",
    "+elected-leader",
    "+failover-state-select-slave",
    "+selected-slave",
    "+failover-state-send-slaveof-noone",
    "+failover-state-wait-promotion",
    "+promoted-slave",
    "+failover-state-reconf-slaves",
    "+slave-reconf-sent",
    "+slave-reconf-inprog",
    "+slave-reconf-done",
    "+failover-end-for-timeout",
    "+failover-end",
];
/// Failover events that say a sentinel gave up its failover attempt.
const ABORTED: [&str; 3] = [
    "-failover-abort-not-elected",
    "-failover-abort-no-good-slave",
    "-failover-abort-slave-timeout",
];
/// The event that names the new master.
const SWITCH: &str = "+switch-master";

/// What a master client does while the sentinels fail its master over (see the module
/// docs): hold new commands until the new master is announced, for at most a bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FailoverHold {
    /// Hold, for at most the master's `failover-timeout` as the sentinels report it
    /// (30 s when they do not say), and never more than 30 s. The default.
    #[default]
    Auto,
    /// Hold for at most this long.
    AtMost(Duration),
    /// Do not hold: commands go to the old master until `+switch-master`, and the writes
    /// it acknowledges after the promotion of the new one are lost when it is demoted.
    Off,
}

/// A set of sentinels to ask. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Sentinel {
    sentinels: Arc<Vec<ConnectionInfo>>,
    hold: FailoverHold,
}

impl Sentinel {
    /// Parses the sentinel URLs (`redis://…`, `rediss://…` with the default roots; for a
    /// private CA use [`connect_with`](Self::connect_with)) and checks that at least one
    /// sentinel answers.
    pub async fn connect<I, S>(urls: I) -> Result<Sentinel>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let sentinels = urls
            .into_iter()
            .map(|u| ConnectionInfo::parse(u.as_ref()))
            .collect::<Result<Vec<_>>>()?;
        Sentinel::connect_with(sentinels).await
    }

    /// Like [`connect`](Self::connect), with the sentinels' connection settings given in
    /// full: TLS with a private CA, a password, a connect timeout… Sentinels are spoken
    /// to in RESP2.
    ///
    /// ```no_run
    /// # async fn f(ca_pem: &[u8]) -> typedis::Result<()> {
    /// use typedis::{ConnectionInfo, TlsConfig};
    /// let tls = TlsConfig::new().root_ca_pem(ca_pem)?;
    /// let sentinel = typedis::sentinel::Sentinel::connect_with([
    ///     ConnectionInfo::tcp("sentinel-1.internal", 26379).tls(tls.clone()),
    ///     ConnectionInfo::tcp("sentinel-2.internal", 26379).tls(tls),
    /// ])
    /// .await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect_with<I>(sentinels: I) -> Result<Sentinel>
    where
        I: IntoIterator<Item = ConnectionInfo>,
    {
        let sentinels: Vec<ConnectionInfo> = sentinels
            .into_iter()
            .map(|i| i.protocol(crate::Protocol::Resp2))
            .collect();
        if sentinels.is_empty() {
            return Err(Error::usage(
                UsageKind::MissingArgument,
                "Sentinel::connect needs at least one sentinel URL",
            ));
        }
        let s = Sentinel {
            sentinels: Arc::new(sentinels),
            hold: FailoverHold::default(),
        };
        let mut errors = Vec::new();
        for info in s.sentinels.iter() {
            match query_client(info).await {
                Ok(_) => return Ok(s),
                Err(e) => errors.push(format!("{} ({e})", info.addr)),
            }
        }
        Err(Error::SentinelUnreachable {
            tried: errors.join(", "),
        })
    }

    /// Sets what the master clients made from now on do during a failover (default:
    /// [`FailoverHold::Auto`]).
    pub fn failover_hold(mut self, hold: FailoverHold) -> Self {
        self.hold = hold;
        self
    }

    fn names(&self) -> String {
        self.sentinels
            .iter()
            .map(|s| s.addr.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Asks the sentinels, in order, for the master of `name`, and checks it with `ROLE`.
    /// Fails with [`Error::MasterNotFound`] when none names a reachable master, with the
    /// node's own error when it refuses `template`'s credentials, and with
    /// [`Error::SentinelUnreachable`] when no sentinel can be reached.
    pub async fn discover_master(
        &self,
        name: &str,
        template: &ConnectionInfo,
    ) -> Result<ConnectionInfo> {
        self.find_master(name, template, None).await
    }

    /// [`discover_master`](Self::discover_master), trying `preferred` first.
    async fn find_master(
        &self,
        name: &str,
        template: &ConnectionInfo,
        preferred: Option<&(String, u16)>,
    ) -> Result<ConnectionInfo> {
        let mut refused = None;
        if let Some((host, port)) = preferred {
            let info = at(template, host, *port);
            if says_master(&info, &mut refused).await {
                return Ok(info);
            }
        }
        let mut unreachable = Vec::new();
        for s in self.sentinels.iter() {
            let client = match query_client(s).await {
                Ok(client) => client,
                Err(e) => {
                    unreachable.push(format!("{} ({e})", s.addr));
                    continue;
                }
            };
            let reply = client
                .cmd("SENTINEL")
                .arg("GET-MASTER-ADDR-BY-NAME")
                .arg(name)
                .await;
            let Some((host, port)) = reply.ok().and_then(host_port) else {
                continue;
            };
            let info = at(template, &host, port);
            if says_master(&info, &mut refused).await {
                return Ok(info);
            }
        }
        Err(if let Some(e) = refused {
            e
        } else if unreachable.len() == self.sentinels.len() {
            Error::SentinelUnreachable {
                tried: unreachable.join(", "),
            }
        } else {
            Error::MasterNotFound {
                name: name.to_owned(),
                sentinels: self.names(),
            }
        })
    }

    /// Asks the sentinels for the replicas of `name` that are up (the first sentinel
    /// that knows `name` answers). [`Error::ReplicaNotFound`] when none does.
    pub async fn discover_replicas(
        &self,
        name: &str,
        template: &ConnectionInfo,
    ) -> Result<Vec<ConnectionInfo>> {
        for s in self.sentinels.iter() {
            let Ok(client) = query_client(s).await else {
                continue;
            };
            let Ok(Value::Array(replicas)) = client.cmd("SENTINEL").arg("REPLICAS").arg(name).await
            else {
                continue;
            };
            let mut out = Vec::new();
            for r in replicas {
                let fields: HashMap<String, String> = FromValue::from_value(r).unwrap_or_default();
                let down = fields.get("flags").is_some_and(|f| {
                    f.contains("s_down") || f.contains("o_down") || f.contains("disconnected")
                });
                if let (Some(ip), Some(port), false) = (
                    fields.get("ip"),
                    fields.get("port").and_then(|p| p.parse().ok()),
                    down,
                ) {
                    out.push(at(template, ip, port));
                }
            }
            return Ok(out);
        }
        Err(self.no_replica(name))
    }

    fn no_replica(&self, name: &str) -> Error {
        Error::ReplicaNotFound {
            name: name.to_owned(),
            sentinels: self.names(),
        }
    }

    /// The master's `failover-timeout`, from the first sentinel that knows `name`.
    async fn failover_timeout(&self, name: &str) -> Option<Duration> {
        for s in self.sentinels.iter() {
            let Ok(client) = query_client(s).await else {
                continue;
            };
            let Ok(reply) = client.cmd("SENTINEL").arg("MASTER").arg(name).await else {
                continue;
            };
            let fields: HashMap<String, String> = FromValue::from_value(reply).ok()?;
            let ms: u64 = fields.get("failover-timeout")?.parse().ok()?;
            return Some(Duration::from_millis(ms));
        }
        None
    }

    /// A client of the current master of `name`, following failovers.
    pub async fn master_for(&self, name: &str) -> Result<Client> {
        self.master_for_with(name, ConnectionInfo::tcp("", 0)).await
    }

    /// Like [`master_for`](Self::master_for), with credentials, database, TLS, health
    /// checks, decoder limits… for the data nodes taken from `template` (its address is
    /// ignored).
    ///
    /// Returns once the client is connected and its watcher has subscribed to the
    /// failover events of every sentinel that can be reached (each attempt bounded by
    /// that sentinel's connect timeout), so failovers from then on are followed.
    pub async fn master_for_with(&self, name: &str, template: ConnectionInfo) -> Result<Client> {
        self.master_for_config(name, ClientConfig::from_info(template))
            .await
    }

    /// Like [`master_for_with`](Self::master_for_with), with every client setting
    /// (command timeout, health checks, decoder limits, pool…) taken from `config`, whose
    /// connection settings are the template (their address is ignored).
    pub async fn master_for_config(&self, name: &str, config: ClientConfig) -> Result<Client> {
        let template = config.connection_info().clone();
        // Fail early, with the sentinels' answer, when the master is unknown.
        let first = self.discover_master(name, &template).await?;
        let follow = Arc::new(Follow::default());
        let resolver = {
            let (this, name, tpl, follow) = (
                self.clone(),
                name.to_owned(),
                template.clone(),
                follow.clone(),
            );
            Resolver(Arc::new(move || {
                let (this, name, tpl, follow) =
                    (this.clone(), name.clone(), tpl.clone(), follow.clone());
                Box::pin(async move {
                    let info = this
                        .find_master(&name, &tpl, follow.preferred().as_ref())
                        .await?;
                    follow.connected_to(tcp_addr(&info));
                    Ok(info)
                })
            }))
        };
        let mut info = first;
        info.resolver = Some(resolver);
        let client =
            Client::with_config(config.connection(info).reconnect_on_readonly(true)).await?;
        let max_hold = match self.hold {
            FailoverHold::Off => None,
            FailoverHold::AtMost(d) => Some(d),
            FailoverHold::Auto => Some(
                self.failover_timeout(name)
                    .await
                    .map_or(MAX_AUTO_HOLD, |d| d.min(MAX_AUTO_HOLD)),
            ),
        };
        Watcher::new(name, &client, self, template, follow, max_hold)
            .start(&self.sentinels)
            .await;
        Ok(client)
    }

    /// A client of a replica of `name` (the first that connects), or of the master when
    /// no replica does, as redis-py.
    pub async fn replica_for(&self, name: &str) -> Result<Client> {
        self.replica_for_with(name, ConnectionInfo::tcp("", 0))
            .await
    }

    /// Like [`replica_for`](Self::replica_for), with credentials, database, TLS… for the
    /// data nodes (replicas and the master it falls back to) taken from `template` (its
    /// address is ignored). Every reconnection resolves again: when its replica dies,
    /// the client moves to another replica, or to the master.
    pub async fn replica_for_with(&self, name: &str, template: ConnectionInfo) -> Result<Client> {
        let (this, name, tpl) = (self.clone(), name.to_owned(), template);
        let resolver = Resolver(Arc::new(move || {
            let (this, name, tpl) = (this.clone(), name.clone(), tpl.clone());
            Box::pin(async move { this.find_replica(&name, &tpl).await })
        }));
        let mut info = (resolver.0)().await?;
        info.resolver = Some(resolver);
        Client::with_config(ClientConfig::from_info(info)).await
    }

    /// A reachable replica of `name`, else its master; [`Error::ReplicaNotFound`] when
    /// there is neither.
    async fn find_replica(&self, name: &str, template: &ConnectionInfo) -> Result<ConnectionInfo> {
        let mut refused = None;
        for r in self
            .discover_replicas(name, template)
            .await
            .unwrap_or_default()
        {
            match role_of(&r).await {
                Ok(_) => return Ok(r),
                Err(e) => note_refusal(&mut refused, e),
            }
        }
        match self.find_master(name, template, None).await {
            Ok(master) => Ok(master),
            Err(Error::MasterNotFound { .. }) => {
                Err(refused.unwrap_or_else(|| self.no_replica(name)))
            }
            Err(e) => Err(e),
        }
    }
}

/// A connection to a sentinel for one query; queries are bounded by its connect timeout.
async fn query_client(info: &ConnectionInfo) -> Result<Client> {
    let limit = info.connect_timeout.unwrap_or(Duration::from_secs(5));
    Client::with_config(ClientConfig::from_info(info.clone()).command_timeout(Some(limit))).await
}

/// `host:port` from a `GET-MASTER-ADDR-BY-NAME` reply (nil when the name is unknown).
fn host_port(reply: Value) -> Option<(String, u16)> {
    let Value::Array(parts) = reply else {
        return None;
    };
    let mut parts = parts.into_iter();
    let host = String::from_value(parts.next()?).ok()?;
    let port = u16::from_value(parts.next()?).ok()?;
    Some((host, port))
}

/// `template` pointed at `host:port`.
fn at(template: &ConnectionInfo, host: &str, port: u16) -> ConnectionInfo {
    let mut info = template.clone();
    info.addr = Addr::Tcp {
        host: host.to_owned(),
        port,
    };
    info.resolver = None;
    info
}

/// The TCP address of `info` (sentinels only name TCP addresses).
fn tcp_addr(info: &ConnectionInfo) -> Option<(String, u16)> {
    match &info.addr {
        Addr::Tcp { host, port } => Some((host.clone(), *port)),
        Addr::Unix(_) => None,
    }
}

/// The first element of `ROLE` (`master`, `slave`, `sentinel`) of the node at `info`.
async fn role_of(info: &ConnectionInfo) -> Result<String> {
    let limit = info.connect_timeout.unwrap_or(Duration::from_secs(5));
    let client =
        Client::with_config(ClientConfig::from_info(info.clone()).command_timeout(Some(limit)))
            .await?;
    match client.cmd("ROLE").await? {
        Value::Array(items) => match items.into_iter().next() {
            Some(v) => String::from_value(v),
            None => Err(Error::decode("ROLE reply with a role", "an empty array")),
        },
        other => Err(Error::decode("ROLE reply (an array)", format!("{other:?}"))),
    }
}

/// Whether the node at `info` says it is a master; a refusal is kept in `refused`.
async fn says_master(info: &ConnectionInfo, refused: &mut Option<Error>) -> bool {
    match role_of(info).await {
        Ok(role) => role == "master",
        Err(e) => {
            note_refusal(refused, e);
            false
        }
    }
}

/// Keeps `e` when it says the node refused the template's settings (credentials, TLS,
/// database): more useful to report than "no master found". Other errors (the node is
/// down) are what a failover looks like and are dropped.
fn note_refusal(refused: &mut Option<Error>, e: Error) {
    let refusal = matches!(
        e,
        Error::Handshake { .. } | Error::Auth { .. } | Error::Tls(_)
    ) || matches!(
        e.server_kind(),
        Some(ServerErrorKind::NoAuth | ServerErrorKind::WrongPass | ServerErrorKind::NoPerm)
    );
    if refusal {
        *refused = Some(e);
    }
}
