//! Redis Cluster: a [`ClusterClient`] that routes every generated command to the node
//! owning its keys' slot, using the generated key specs and routing tips (no `COMMAND`
//! round trip at start-up), and follows `MOVED` / `ASK` redirections.
//!
//! Owns: the slot map (16384 slots → shard), one multiplexed [`Client`] per node,
//! routing, fan-out for keyless commands (`request_policy` / `response_policy` tips),
//! redirections and bounded retries. Does not own: connections (each node is an
//! ordinary `Client`).
//!
//! ```no_run
//! # async fn f() -> typedis::Result<()> {
//! use typedis::prelude::*;
//! use typedis::cluster::ClusterClient;
//! let cluster = ClusterClient::connect(["redis://127.0.0.1:7000", "redis://127.0.0.1:7001"]).await?;
//! cluster.set("{user1}:name", "ann").await?;
//! let n: i64 = cluster.dbsize().await?;          // summed over the primaries
//! let values = cluster.mget_nonatomic(["a", "b", "c"]).await?;   // split by slot
//! # Ok(()) }
//! ```
//!
//! Not yet here: replica reads, cluster pipelines, cluster PubSub (see the issue).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;

use crate::client::Client;
use crate::cmd::Args;
use crate::connection::{Addr, ConnectionInfo};
use crate::error::{Error, Result};
use crate::exec::Executor;
use crate::keys::{command_keys, key_slot, keys_with_meta};
use crate::meta::{CommandMeta, RequestPolicy, ResponsePolicy};
use crate::value::{FromValue, ToArg, Value};

/// How many times a command is retried after redirections and transient errors.
const MAX_ATTEMPTS: usize = 6;

/// One shard: its primary and replicas, as `host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shard {
    /// The primary's address.
    pub primary: String,
    /// The replicas' addresses.
    pub replicas: Vec<String>,
}

struct Inner {
    /// Settings copied to every node connection (credentials, protocol, TLS…).
    template: ConnectionInfo,
    startup: Vec<String>,
    /// slot → index into `shards`.
    slots: RwLock<(Vec<u16>, Vec<Shard>)>,
    nodes: Mutex<HashMap<String, Client>>,
}

/// A client for a Redis Cluster; cheap to clone. Every generated command works on it.
#[derive(Clone)]
pub struct ClusterClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ClusterClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterClient")
            .field("startup", &self.inner.startup)
            .finish_non_exhaustive()
    }
}

const NO_SHARD: u16 = u16::MAX;

fn addr_of(info: &ConnectionInfo) -> String {
    info.addr.to_string()
}

impl ClusterClient {
    /// Discovers the cluster through the first reachable startup node (`CLUSTER SLOTS`).
    /// Fails with an error naming every node tried when none answers.
    pub async fn connect<I, S>(startup: I) -> Result<ClusterClient>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let infos = startup
            .into_iter()
            .map(|u| ConnectionInfo::parse(u.as_ref()))
            .collect::<Result<Vec<_>>>()?;
        let template = infos.first().cloned().ok_or_else(|| {
            Error::Usage("ClusterClient::connect needs at least one startup node".into())
        })?;
        let client = ClusterClient {
            inner: Arc::new(Inner {
                template,
                startup: infos.iter().map(addr_of).collect(),
                slots: RwLock::new((vec![NO_SHARD; 16384], Vec::new())),
                nodes: Mutex::new(HashMap::new()),
            }),
        };
        client.refresh().await?;
        Ok(client)
    }

    /// The connection to a node, created on first use.
    pub async fn node(&self, addr: &str) -> Result<Client> {
        if let Some(c) = self.inner.nodes.lock().map_err(|_| poisoned())?.get(addr) {
            return Ok(c.clone());
        }
        let (host, port) = addr
            .rsplit_once(':')
            .and_then(|(h, p)| {
                Some((
                    h.trim_matches(|c| c == '[' || c == ']'),
                    p.parse::<u16>().ok()?,
                ))
            })
            .ok_or_else(|| Error::Cluster(format!("bad node address `{addr}`")))?;
        let mut info = self.inner.template.clone();
        info.addr = Addr::Tcp {
            host: host.to_owned(),
            port,
        };
        let c = Client::with_config(crate::client::ClientConfig::from_info(info)).await?;
        self.inner
            .nodes
            .lock()
            .map_err(|_| poisoned())?
            .entry(addr.to_owned())
            .or_insert(c.clone());
        Ok(c)
    }

    /// Reloads the slot map from any known node (startup nodes first).
    pub async fn refresh(&self) -> Result<()> {
        let mut tried = Vec::new();
        let mut candidates: Vec<String> = self.inner.startup.clone();
        if let Ok(s) = self.inner.slots.read() {
            candidates.extend(s.1.iter().map(|sh| sh.primary.clone()));
        }
        candidates.dedup();
        for addr in candidates {
            let result = async {
                let node = self.node(&addr).await?;
                let reply = node.cmd("CLUSTER").arg("SLOTS").await?;
                parse_slots(reply)
            }
            .await;
            match result {
                Ok((map, shards)) => {
                    *self.inner.slots.write().map_err(|_| poisoned())? = (map, shards);
                    return Ok(());
                }
                Err(e) => tried.push(format!("{addr} ({e})")),
            }
        }
        Err(Error::Cluster(format!(
            "no node answered CLUSTER SLOTS; tried: {}",
            tried.join(", ")
        )))
    }

    /// The shards, as the client knows them.
    pub fn shards(&self) -> Vec<Shard> {
        self.inner
            .slots
            .read()
            .map(|s| s.1.clone())
            .unwrap_or_default()
    }

    /// The primary serving `slot`, as the client knows it.
    pub fn primary_of(&self, slot: u16) -> Option<String> {
        let s = self.inner.slots.read().ok()?;
        let i = *s.0.get(slot as usize)?;
        s.1.get(i as usize).map(|sh| sh.primary.clone())
    }

    fn set_owner(&self, slot: u16, addr: &str) {
        if let Ok(mut s) = self.inner.slots.write() {
            let (map, shards) = &mut *s;
            let i = match shards.iter().position(|sh| sh.primary == addr) {
                Some(i) => i,
                None => {
                    shards.push(Shard {
                        primary: addr.to_owned(),
                        replicas: Vec::new(),
                    });
                    shards.len() - 1
                }
            };
            map[slot as usize] = i as u16;
        }
    }

    /// Sends one command to the node owning `slot`, following redirections.
    async fn send_to_slot(&self, slot: Option<u16>, args: Args) -> Result<Value> {
        let mut target = match slot {
            Some(s) => self.primary_of(s),
            None => None,
        };
        let mut asking = false;
        let mut last_err = None;
        for attempt in 0..MAX_ATTEMPTS {
            let addr = match &target {
                Some(a) => a.clone(),
                None => self
                    .shards()
                    .first()
                    .map(|s| s.primary.clone())
                    .ok_or_else(|| Error::Cluster("the slot map is empty".into()))?,
            };
            let result = async {
                let node = self.node(&addr).await?;
                if asking {
                    let mut ask = Args::new();
                    ask.push_bytes(b"ASKING");
                    let mut replies = node.send_batch(&[ask, args.clone()]).await?;
                    replies.pop().unwrap_or(Value::Nil).into_result()
                } else {
                    node.send(args.clone()).await
                }
            }
            .await;
            asking = false;
            match result {
                Ok(v) => return Ok(v),
                Err(e) => {
                    if let Some((s, to)) = e
                        .server_error()
                        .and_then(|se| se.redirect())
                        .map(|(s, a)| (s, a.to_owned()))
                    {
                        if e.is_moved() {
                            self.set_owner(s, &to);
                        } else {
                            asking = true;
                        }
                        target = Some(to);
                    } else if e.is_retryable() {
                        tokio::time::sleep(Duration::from_millis(25 << attempt.min(5))).await;
                        let _ = self.refresh().await;
                        target = slot.and_then(|s| self.primary_of(s));
                    } else {
                        return Err(e);
                    }
                    last_err = Some(e);
                }
            }
        }
        Err(last_err.unwrap_or_else(|| Error::Cluster("retries exhausted".into())))
    }

    async fn route(&self, args: Args, meta: Option<&'static CommandMeta>) -> Result<Value> {
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
                command: meta
                    .map(|m| m.name.to_owned())
                    .unwrap_or_else(|| String::from_utf8_lossy(argv[0]).into_owned()),
                slots,
            });
        }
        let policy = meta.map(|m| (m.request_policy, m.response_policy));
        match (slots.first(), policy) {
            (Some(&s), _) => self.send_to_slot(Some(s), args).await,
            (None, Some((RequestPolicy::AllShards | RequestPolicy::AllNodes, response))) => {
                let all = meta.is_some_and(|m| m.request_policy == RequestPolicy::AllNodes);
                self.fan_out(args, all, response).await
            }
            (None, _) => self.send_to_slot(None, args).await,
        }
    }

    async fn fan_out(
        &self,
        args: Args,
        all_nodes: bool,
        response: ResponsePolicy,
    ) -> Result<Value> {
        let mut addrs: Vec<String> = Vec::new();
        for s in self.shards() {
            addrs.push(s.primary.clone());
            if all_nodes {
                addrs.extend(s.replicas.iter().cloned());
            }
        }
        addrs.sort();
        addrs.dedup();
        let mut tasks = Vec::new();
        for a in addrs {
            let node = self.node(&a).await?;
            let args = args.clone();
            tasks.push(tokio::spawn(async move { node.send(args).await }));
        }
        let mut replies = Vec::new();
        for t in tasks {
            replies.push(
                t.await
                    .map_err(|e| Error::Cluster(format!("fan-out task failed: {e}")))??,
            );
        }
        combine(replies, response)
    }

    /// `MGET` across slots: one `MGET` per slot, in parallel, values in the caller's order.
    pub async fn mget_nonatomic<I, K>(&self, keys: I) -> Result<Vec<Option<Bytes>>>
    where
        I: IntoIterator<Item = K>,
        K: ToArg,
    {
        let keys: Vec<Args> = keys
            .into_iter()
            .map(|k| {
                let mut a = Args::new();
                k.write_arg(&mut a);
                a
            })
            .collect();
        let mut by_slot: HashMap<u16, Vec<usize>> = HashMap::new();
        for (i, k) in keys.iter().enumerate() {
            by_slot
                .entry(key_slot(k.iter().next().unwrap_or_default()))
                .or_default()
                .push(i);
        }
        let mut tasks = Vec::new();
        for (slot, idx) in by_slot {
            let mut args = Args::new();
            args.push_bytes(b"MGET");
            for &i in &idx {
                args.extend_from(&keys[i]);
            }
            let this = self.clone();
            tasks.push(tokio::spawn(async move {
                let v = this.send_to_slot(Some(slot), args).await?;
                Ok::<_, Error>((idx, Vec::<Option<Bytes>>::from_value(v)?))
            }));
        }
        let mut out = vec![None; keys.len()];
        for t in tasks {
            let (idx, values) = t
                .await
                .map_err(|e| Error::Cluster(format!("MGET task failed: {e}")))??;
            for (i, v) in idx.into_iter().zip(values) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    /// `MSET` across slots: one `MSET` per slot, in parallel (not atomic as a whole).
    pub async fn mset_nonatomic<I, K, V>(&self, pairs: I) -> Result<()>
    where
        I: IntoIterator<Item = (K, V)>,
        K: ToArg,
        V: ToArg,
    {
        let mut by_slot: HashMap<u16, Args> = HashMap::new();
        for (k, v) in pairs {
            let mut key = Args::new();
            k.write_arg(&mut key);
            let slot = key_slot(key.iter().next().unwrap_or_default());
            let args = by_slot.entry(slot).or_insert_with(|| {
                let mut a = Args::new();
                a.push_bytes(b"MSET");
                a
            });
            args.extend_from(&key);
            v.write_arg(args);
        }
        let mut tasks = Vec::new();
        for (slot, args) in by_slot {
            let this = self.clone();
            tasks.push(tokio::spawn(async move {
                this.send_to_slot(Some(slot), args).await
            }));
        }
        for t in tasks {
            t.await
                .map_err(|e| Error::Cluster(format!("MSET task failed: {e}")))??;
        }
        Ok(())
    }
}

fn poisoned() -> Error {
    Error::Cluster("internal lock poisoned by a panic".into())
}

/// Combines the replies of a fan-out according to the command's response policy.
fn combine(replies: Vec<Value>, policy: ResponsePolicy) -> Result<Value> {
    let ints = |rs: &[Value]| {
        rs.iter()
            .map(|v| i64::from_value(v.clone()))
            .collect::<Result<Vec<_>>>()
    };
    Ok(match policy {
        ResponsePolicy::AggSum => Value::Int(ints(&replies)?.iter().sum()),
        ResponsePolicy::AggMin => Value::Int(ints(&replies)?.into_iter().min().unwrap_or(0)),
        ResponsePolicy::AggMax => Value::Int(ints(&replies)?.into_iter().max().unwrap_or(0)),
        ResponsePolicy::AggLogicalAnd => Value::Int(ints(&replies)?.iter().all(|n| *n != 0) as i64),
        ResponsePolicy::AggLogicalOr => Value::Int(ints(&replies)?.iter().any(|n| *n != 0) as i64),
        ResponsePolicy::AllSucceeded | ResponsePolicy::OneSucceeded | ResponsePolicy::Special => {
            replies.into_iter().next().unwrap_or(Value::Nil)
        }
        ResponsePolicy::Default => {
            // Keyless fan-outs without a policy (KEYS, …): concatenate arrays.
            if replies
                .iter()
                .all(|r| matches!(r, Value::Array(_) | Value::Set(_)))
            {
                Value::Array(
                    replies
                        .into_iter()
                        .flat_map(|r| match r {
                            Value::Array(i) | Value::Set(i) => i,
                            _ => Vec::new(),
                        })
                        .collect(),
                )
            } else {
                replies.into_iter().next().unwrap_or(Value::Nil)
            }
        }
    })
}

/// Parses `CLUSTER SLOTS`: `[[start, end, [ip, port, id?], [replica…]…]…]`.
fn parse_slots(reply: Value) -> Result<(Vec<u16>, Vec<Shard>)> {
    let bad = || Error::Cluster("unexpected CLUSTER SLOTS reply".into());
    let ranges = match reply {
        Value::Array(r) => r,
        _ => return Err(bad()),
    };
    let mut map = vec![NO_SHARD; 16384];
    let mut shards: Vec<Shard> = Vec::new();
    for r in ranges {
        let Value::Array(items) = r else {
            return Err(bad());
        };
        let mut it = items.into_iter();
        let start = it
            .next()
            .map(i64::from_value)
            .transpose()?
            .ok_or_else(bad)?;
        let end = it
            .next()
            .map(i64::from_value)
            .transpose()?
            .ok_or_else(bad)?;
        let mut addrs = Vec::new();
        for node in it {
            let Value::Array(n) = node else { continue };
            let mut n = n.into_iter();
            let host = n
                .next()
                .map(String::from_value)
                .transpose()?
                .ok_or_else(bad)?;
            let port = n.next().map(i64::from_value).transpose()?.ok_or_else(bad)?;
            let host = if host.is_empty() {
                "127.0.0.1".to_owned()
            } else {
                host
            };
            addrs.push(format!("{host}:{port}"));
        }
        let Some(primary) = addrs.first().cloned() else {
            continue;
        };
        let shard = Shard {
            primary: primary.clone(),
            replicas: addrs[1..].to_vec(),
        };
        let i = match shards.iter().position(|s| s.primary == primary) {
            Some(i) => i,
            None => {
                shards.push(shard);
                shards.len() - 1
            }
        };
        if !(0..16384).contains(&start) || !(start..16384).contains(&end) {
            return Err(bad());
        }
        for s in start..=end {
            map[s as usize] = i as u16;
        }
    }
    Ok((map, shards))
}

impl<'a> Executor for &'a ClusterClient {
    type Future = Pin<Box<dyn Future<Output = Result<Value>> + Send + 'a>>;

    fn execute(self, args: Args, meta: Option<&'static CommandMeta>) -> Self::Future {
        Box::pin(self.route(args, meta))
    }
}

impl crate::commands::Commands for &ClusterClient {}
