//! Redis Sentinel: clients whose connections are resolved through the sentinels, so they
//! follow failovers without being rebuilt.
//!
//! [`Sentinel::master_for`] returns an ordinary [`Client`] (every generated command
//! works) whose every connection attempt first asks the sentinels for the current master
//! (`SENTINEL GET-MASTER-ADDR-BY-NAME`) and checks it with `ROLE`. When a failover
//! happens, the sentinels disconnect the clients of the demoted master; the client
//! reconnects, resolves again, and reaches the new master; it also listens to
//! `+switch-master` to move before the first error, and a `READONLY` reply (a demoted
//! master) closes the connection so the next command resolves again (the refused
//! command itself returns the error; it was not executed and may be retried).
//! [`Sentinel::replica_for`]
//! tries the replicas (`SENTINEL REPLICAS`) and falls back to the master.
//!
//! Sentinels and data nodes have separate settings: the sentinel URLs carry their own
//! credentials and TLS; the data nodes use a template ([`Sentinel::master_for_with`]).
//!
//! ```no_run
//! # async fn f() -> typedis::Result<()> {
//! use typedis::prelude::*;
//! use typedis::sentinel::Sentinel;
//! let sentinel = Sentinel::connect(["redis://127.0.0.1:26379", "redis://127.0.0.1:26380"]).await?;
//! let master = sentinel.master_for("mymaster").await?;
//! master.set("k", "v").await?;
//! # Ok(()) }
//! ```

use std::sync::Arc;

use crate::client::{Client, ClientConfig};
use crate::connection::{Addr, ConnectionInfo, Resolver};
use crate::error::{Error, Result};
use crate::value::{FromValue, Value};

/// A set of sentinels to ask. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Sentinel {
    sentinels: Arc<Vec<ConnectionInfo>>,
}

impl Sentinel {
    /// Parses the sentinel URLs and checks that at least one sentinel answers.
    pub async fn connect<I, S>(urls: I) -> Result<Sentinel>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let sentinels = urls
            .into_iter()
            .map(|u| ConnectionInfo::parse(u.as_ref()).map(|i| i.protocol(crate::Protocol::Resp2)))
            .collect::<Result<Vec<_>>>()?;
        if sentinels.is_empty() {
            return Err(Error::Usage(
                "Sentinel::connect needs at least one sentinel URL".into(),
            ));
        }
        let s = Sentinel {
            sentinels: Arc::new(sentinels),
        };
        let mut errors = Vec::new();
        for info in s.sentinels.iter() {
            match Client::with_config(ClientConfig::from_info(info.clone())).await {
                Ok(_) => return Ok(s),
                Err(e) => errors.push(format!("{} ({e})", info.addr)),
            }
        }
        Err(Error::Sentinel(format!(
            "no sentinel could be reached; tried: {}",
            errors.join(", ")
        )))
    }

    fn names(&self) -> String {
        self.sentinels
            .iter()
            .map(|s| s.addr.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Asks the sentinels, in order, for the master of `name`, and checks it with `ROLE`.
    pub async fn discover_master(
        &self,
        name: &str,
        template: &ConnectionInfo,
    ) -> Result<ConnectionInfo> {
        let mut unreachable = 0;
        for s in self.sentinels.iter() {
            let Ok(client) = Client::with_config(ClientConfig::from_info(s.clone())).await else {
                unreachable += 1;
                continue;
            };
            let reply = client
                .cmd("SENTINEL")
                .arg("GET-MASTER-ADDR-BY-NAME")
                .arg(name)
                .await;
            let Ok(Value::Array(parts)) = reply else {
                continue;
            };
            let (Some(host), Some(port)) = (parts.first(), parts.get(1)) else {
                continue;
            };
            let host = String::from_value(host.clone())?;
            let port = u16::from_value(port.clone())?;
            let info = at(template, &host, port);
            if role_of(&info).await.as_deref() == Some("master") {
                return Ok(info);
            }
        }
        Err(if unreachable == self.sentinels.len() {
            Error::Sentinel(format!(
                "no sentinel could be reached; asked: {}",
                self.names()
            ))
        } else {
            Error::MasterNotFound {
                name: name.to_owned(),
                sentinels: self.names(),
            }
        })
    }

    /// Asks the sentinels for the replicas of `name` that are up.
    pub async fn discover_replicas(
        &self,
        name: &str,
        template: &ConnectionInfo,
    ) -> Result<Vec<ConnectionInfo>> {
        for s in self.sentinels.iter() {
            let Ok(client) = Client::with_config(ClientConfig::from_info(s.clone())).await else {
                continue;
            };
            let Ok(Value::Array(replicas)) = client.cmd("SENTINEL").arg("REPLICAS").arg(name).await
            else {
                continue;
            };
            let mut out = Vec::new();
            for r in replicas {
                let fields: std::collections::HashMap<String, String> =
                    FromValue::from_value(r).unwrap_or_default();
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
        Err(Error::ReplicaNotFound {
            name: name.to_owned(),
            sentinels: self.names(),
        })
    }

    /// A client of the current master of `name`, following failovers.
    pub async fn master_for(&self, name: &str) -> Result<Client> {
        self.master_for_with(name, ConnectionInfo::tcp("", 0)).await
    }

    /// Like [`master_for`](Self::master_for), with credentials, database, TLS, health
    /// checks, decoder limits… for the data nodes taken from `template` (its address is
    /// ignored).
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
        let this = self.clone();
        let name_for_watch = name.to_owned();
        let name = name.to_owned();
        let tpl = template.clone();
        let mut info = first;
        info.resolver = Some(Resolver(Arc::new(move || {
            let this = this.clone();
            let name = name.clone();
            let tpl = tpl.clone();
            Box::pin(async move { this.discover_master(&name, &tpl).await })
        })));
        let client =
            Client::with_config(config.connection(info).reconnect_on_readonly(true)).await?;
        self.watch_switch_master(&client, name_for_watch);
        Ok(client)
    }

    /// Listens to `+switch-master` on the sentinels and makes `client` reconnect (and so
    /// resolve the new master) as soon as `name` moves, before any command fails.
    fn watch_switch_master(&self, client: &Client, name: String) {
        let weak = client.downgrade();
        let sentinels = self.sentinels.clone();
        tokio::spawn(async move {
            use futures_core::Stream;
            for s in sentinels.iter().cycle() {
                let Ok(sc) = Client::with_config(ClientConfig::from_info(s.clone())).await else {
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                    continue;
                };
                let Ok(mut sub) = sc.subscribe(["+switch-master"]).await else {
                    continue;
                };
                sub.ignore_subscribe_messages(true);
                loop {
                    // Wake up now and then to stop once the client is gone.
                    let next =
                        std::future::poll_fn(|cx| std::pin::Pin::new(&mut sub).poll_next(cx));
                    let msg =
                        match tokio::time::timeout(std::time::Duration::from_secs(1), next).await {
                            Err(_) if weak.upgrade().is_none() => return,
                            Err(_) => continue,
                            Ok(None) => break,
                            Ok(Some(m)) => m,
                        };
                    let Some(client) = weak.upgrade() else { return };
                    // "<name> <old ip> <old port> <new ip> <new port>"
                    if msg.payload().split(|b| *b == b' ').next() == Some(name.as_bytes()) {
                        client.drop_connection("Sentinel announced a new master (+switch-master)");
                    }
                }
                if weak.upgrade().is_none() {
                    return;
                }
            }
        });
    }

    /// A client of a replica of `name` (the first that connects), or of the master when
    /// no replica does, as redis-py.
    pub async fn replica_for(&self, name: &str) -> Result<Client> {
        let this = self.clone();
        let name_owned = name.to_owned();
        let resolver = Resolver(Arc::new(move || {
            let this = this.clone();
            let name = name_owned.clone();
            Box::pin(async move {
                let tpl = ConnectionInfo::tcp("", 0);
                for r in this
                    .discover_replicas(&name, &tpl)
                    .await
                    .unwrap_or_default()
                {
                    if role_of(&r).await.is_some() {
                        return Ok(r);
                    }
                }
                this.discover_master(&name, &tpl).await
            })
        }));
        let mut info = (resolver.0)().await?;
        info.resolver = Some(resolver);
        Client::with_config(ClientConfig::from_info(info)).await
    }
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

/// The first element of `ROLE` (`master`, `slave`, `sentinel`), if the node answers.
async fn role_of(info: &ConnectionInfo) -> Option<String> {
    let client = Client::with_config(ClientConfig::from_info(info.clone()))
        .await
        .ok()?;
    let role: Value = client.cmd("ROLE").await.ok()?;
    match role {
        Value::Array(items) => items
            .into_iter()
            .next()
            .and_then(|v| String::from_value(v).ok()),
        _ => None,
    }
}
