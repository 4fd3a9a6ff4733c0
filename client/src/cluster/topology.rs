//! The cluster's shape as the client knows it: which shard serves each of the 16384
//! slots, and each shard's primary and replicas.
//!
//! Owns: parsing `CLUSTER SHARDS` (Redis 7+) and `CLUSTER SLOTS` (older servers) into a
//! [`Topology`]. Does not own: connections or refresh policy (see the parent module).

use crate::error::{Error, Result};
use crate::value::{FromValue, Value};

/// Marks a slot no shard serves.
pub(crate) const NO_SHARD: u16 = u16::MAX;

/// Number of hash slots in a Redis Cluster.
pub const SLOTS: usize = 16384;

/// One shard: its primary and replicas, as `host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shard {
    /// The primary's address.
    pub primary: String,
    /// The replicas' addresses (those not reported failed; a replica still loading
    /// its data answers `LOADING`, and the read goes to the primary).
    pub replicas: Vec<String>,
}

/// Slot → shard map.
#[derive(Debug, Clone)]
pub(crate) struct Topology {
    pub(crate) slots: Vec<u16>,
    pub(crate) shards: Vec<Shard>,
}

impl Topology {
    pub(crate) fn empty() -> Topology {
        Topology {
            slots: vec![NO_SHARD; SLOTS],
            shards: Vec::new(),
        }
    }

    /// The shards serving at least one slot (a `MOVED` can leave a shard with none until
    /// the next refresh drops it).
    pub(crate) fn live_shards(&self) -> Vec<Shard> {
        let mut serving = vec![false; self.shards.len()];
        for &i in &self.slots {
            if let Some(s) = serving.get_mut(i as usize) {
                *s = true;
            }
        }
        self.shards
            .iter()
            .zip(serving)
            .filter(|(_, serving)| *serving)
            .map(|(s, _)| s.clone())
            .collect()
    }

    pub(crate) fn shard_of(&self, slot: u16) -> Option<&Shard> {
        let i = *self.slots.get(slot as usize)?;
        self.shards.get(i as usize)
    }

    /// Records that `addr` serves `slot` (after a `MOVED`).
    pub(crate) fn set_owner(&mut self, slot: u16, addr: &str) {
        let i = match self.shards.iter().position(|sh| sh.primary == addr) {
            Some(i) => i,
            None => {
                self.shards.push(Shard {
                    primary: addr.to_owned(),
                    replicas: Vec::new(),
                });
                self.shards.len() - 1
            }
        };
        if let Some(s) = self.slots.get_mut(slot as usize) {
            *s = i as u16;
        }
    }

    fn add_range(&mut self, start: i64, end: i64, shard: Shard) -> Result<()> {
        if !(0..SLOTS as i64).contains(&start) || !(start..SLOTS as i64).contains(&end) {
            return Err(Error::Cluster(format!(
                "the cluster reported an invalid slot range {start}-{end}"
            )));
        }
        let i = match self.shards.iter().position(|s| s.primary == shard.primary) {
            Some(i) => i,
            None => {
                self.shards.push(shard);
                self.shards.len() - 1
            }
        };
        for s in start..=end {
            self.slots[s as usize] = i as u16;
        }
        Ok(())
    }

    /// Slots no shard serves.
    #[cfg(test)]
    pub(crate) fn uncovered(&self) -> usize {
        self.slots.iter().filter(|&&s| s == NO_SHARD).count()
    }
}

fn host_or(host: String, fallback: &str) -> String {
    if host.is_empty() || host == "?" {
        fallback.to_owned()
    } else {
        host
    }
}

/// `host:port`, with brackets around IPv6 hosts.
pub(crate) fn join_addr(host: &str, port: i64) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Parses `CLUSTER SLOTS`: `[[start, end, [ip, port, id?], [replica…]…]…]`.
/// `fallback_host` replaces an empty host (a node that does not know its own address).
pub(crate) fn parse_slots(reply: Value, fallback_host: &str) -> Result<Topology> {
    let bad = |what: &str| Error::Cluster(format!("unexpected CLUSTER SLOTS reply: {what}"));
    let Value::Array(ranges) = reply else {
        return Err(bad("not an array"));
    };
    let mut topo = Topology::empty();
    for r in ranges {
        let Value::Array(items) = r else {
            return Err(bad("a range is not an array"));
        };
        let mut it = items.into_iter();
        let start = it.next().map(i64::from_value).transpose()?;
        let end = it.next().map(i64::from_value).transpose()?;
        let (Some(start), Some(end)) = (start, end) else {
            return Err(bad("a range without bounds"));
        };
        let mut addrs = Vec::new();
        for node in it {
            let Value::Array(n) = node else { continue };
            let mut n = n.into_iter();
            let host = n.next().map(String::from_value).transpose()?;
            let port = n.next().map(i64::from_value).transpose()?;
            let (Some(host), Some(port)) = (host, port) else {
                return Err(bad("a node without host and port"));
            };
            addrs.push(join_addr(&host_or(host, fallback_host), port));
        }
        let Some(primary) = addrs.first().cloned() else {
            continue;
        };
        topo.add_range(
            start,
            end,
            Shard {
                primary,
                replicas: addrs[1..].to_vec(),
            },
        )?;
    }
    Ok(topo)
}

/// Key/value pairs of a RESP3 map or a RESP2 flat array.
fn pairs(v: Value) -> Option<Vec<(String, Value)>> {
    let flat = match v {
        Value::Map(p) => {
            return p
                .into_iter()
                .map(|(k, v)| Some((String::from_value(k).ok()?, v)))
                .collect()
        }
        Value::Array(items) => items,
        _ => return None,
    };
    let mut out = Vec::new();
    let mut it = flat.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((String::from_value(k).ok()?, v));
    }
    Some(out)
}

/// Parses `CLUSTER SHARDS` (Redis 7+): one map per shard with `slots` (flat start/end
/// pairs) and `nodes` (maps with `ip`/`endpoint`, `port`/`tls-port`, `role`, `health`).
/// `tls` picks the TLS port where a node has both.
pub(crate) fn parse_shards(reply: Value, fallback_host: &str, tls: bool) -> Result<Topology> {
    let bad = |what: &str| Error::Cluster(format!("unexpected CLUSTER SHARDS reply: {what}"));
    let Value::Array(shards) = reply else {
        return Err(bad("not an array"));
    };
    let mut topo = Topology::empty();
    for shard in shards {
        let fields = pairs(shard).ok_or_else(|| bad("a shard is not a map"))?;
        let mut ranges = Vec::new();
        let mut primary = None;
        let mut replicas = Vec::new();
        for (k, v) in fields {
            match k.as_str() {
                "slots" => ranges = Vec::<i64>::from_value(v)?,
                "nodes" => {
                    let Value::Array(nodes) = v else {
                        return Err(bad("`nodes` is not an array"));
                    };
                    for node in nodes {
                        let mut host = String::new();
                        let mut port = None;
                        let mut tls_port = None;
                        let mut role = String::new();
                        let mut health = String::from("online");
                        for (k, v) in pairs(node).ok_or_else(|| bad("a node is not a map"))? {
                            match k.as_str() {
                                "endpoint" => {
                                    let e = String::from_value(v)?;
                                    if !e.is_empty() && e != "?" {
                                        host = e;
                                    }
                                }
                                "ip" if host.is_empty() => host = String::from_value(v)?,
                                "port" => port = Some(i64::from_value(v)?),
                                "tls-port" => tls_port = Some(i64::from_value(v)?),
                                "role" => role = String::from_value(v)?,
                                "health" => health = String::from_value(v)?,
                                _ => {}
                            }
                        }
                        let port = if tls {
                            tls_port.or(port)
                        } else {
                            port.or(tls_port)
                        };
                        let Some(port) = port else {
                            continue;
                        };
                        let addr = join_addr(&host_or(host, fallback_host), port);
                        if role == "master" {
                            // Mid-failover a shard can list a failed master beside the
                            // new one: a healthy one wins.
                            if primary.is_none() || health != "fail" {
                                primary = Some(addr);
                            }
                        } else if health != "fail" {
                            replicas.push(addr);
                        }
                    }
                }
                _ => {}
            }
        }
        let Some(primary) = primary else { continue };
        if ranges.len() % 2 != 0 {
            return Err(bad("`slots` has an odd length"));
        }
        for r in ranges.chunks(2) {
            topo.add_range(
                r[0],
                r[1],
                Shard {
                    primary: primary.clone(),
                    replicas: replicas.clone(),
                },
            )?;
        }
    }
    Ok(topo)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn bulk(s: &str) -> Value {
        Value::Bulk(Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn slots_and_shards_give_the_same_map() {
        let slots = Value::Array(vec![Value::Array(vec![
            Value::Int(0),
            Value::Int(16383),
            Value::Array(vec![bulk(""), Value::Int(7000), bulk("id1")]),
            Value::Array(vec![bulk("127.0.0.1"), Value::Int(7001), bulk("id2")]),
        ])]);
        let t = parse_slots(slots, "127.0.0.1").unwrap();
        assert_eq!(t.uncovered(), 0);
        assert_eq!(t.shard_of(5).unwrap().primary, "127.0.0.1:7000");
        assert_eq!(t.shard_of(5).unwrap().replicas, vec!["127.0.0.1:7001"]);

        let node = |port: i64, role: &str, health: &str| {
            Value::Map(vec![
                (bulk("id"), bulk("x")),
                (bulk("port"), Value::Int(port)),
                (bulk("ip"), bulk("127.0.0.1")),
                (bulk("endpoint"), bulk("127.0.0.1")),
                (bulk("role"), bulk(role)),
                (bulk("health"), bulk(health)),
            ])
        };
        let shards = Value::Array(vec![Value::Map(vec![
            (
                bulk("slots"),
                Value::Array(vec![
                    Value::Int(0),
                    Value::Int(100),
                    Value::Int(200),
                    Value::Int(16383),
                ]),
            ),
            (
                bulk("nodes"),
                Value::Array(vec![
                    node(7000, "master", "online"),
                    node(7001, "replica", "online"),
                    node(7002, "replica", "fail"),
                ]),
            ),
        ])]);
        let t = parse_shards(shards.clone(), "127.0.0.1", false).unwrap();
        assert_eq!(t.uncovered(), 99);
        assert_eq!(t.shard_of(16383).unwrap().primary, "127.0.0.1:7000");
        assert_eq!(t.shard_of(0).unwrap().replicas, vec!["127.0.0.1:7001"]);
        assert!(t.shard_of(150).is_none());
        assert_eq!(t.live_shards().len(), 1);

        // With TLS the tls-port is used where both are announced.
        let tls_node = Value::Map(vec![
            (bulk("port"), Value::Int(7000)),
            (bulk("tls-port"), Value::Int(8000)),
            (bulk("ip"), bulk("127.0.0.1")),
            (bulk("role"), bulk("master")),
            (bulk("health"), bulk("online")),
        ]);
        let one = Value::Array(vec![Value::Map(vec![
            (
                bulk("slots"),
                Value::Array(vec![Value::Int(0), Value::Int(16383)]),
            ),
            (bulk("nodes"), Value::Array(vec![tls_node])),
        ])]);
        let plain = parse_shards(one.clone(), "h", false).unwrap();
        let tls = parse_shards(one, "h", true).unwrap();
        assert_eq!(plain.shard_of(0).unwrap().primary, "127.0.0.1:7000");
        assert_eq!(tls.shard_of(0).unwrap().primary, "127.0.0.1:8000");

        // A MOVED of every slot of a shard leaves it out of the live shards.
        let mut t = parse_shards(shards, "127.0.0.1", false).unwrap();
        for slot in (0..=100).chain(200..16384) {
            t.set_owner(slot, "127.0.0.1:9000");
        }
        let live = t.live_shards();
        assert_eq!(live.len(), 1);
        assert_eq!(live[0].primary, "127.0.0.1:9000");
    }

    #[test]
    fn malformed_replies_are_errors() {
        assert!(parse_slots(Value::Int(1), "h").is_err());
        assert!(parse_shards(bulk("x"), "h", false).is_err());
        let bad_range = Value::Array(vec![Value::Array(vec![
            Value::Int(5),
            Value::Int(99999),
            Value::Array(vec![bulk("h"), Value::Int(1)]),
        ])]);
        assert!(parse_slots(bad_range, "h").is_err());
    }
}
