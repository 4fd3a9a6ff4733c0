//! Cluster introspection: `CLUSTER SHARDS`, `CLUSTER SLOTS`, `CLUSTER LINKS`,
//! `CLUSTER SLOT-STATS`.

use super::{entries, field, items, key_of, map_record};
use crate::error::Result;
use crate::value::{FromValue, Value};

map_record! {
    /// One shard, from `CLUSTER SHARDS` (Redis ≥ 7.0).
    pub struct ClusterShard("a CLUSTER SHARDS shard") {
        /// The slot ranges it serves, inclusive.
        pub slots: Vec<(u16, u16)> = "slots",
        /// Its primary and replicas.
        pub nodes: Vec<ShardNode> = "nodes",
    }
}

map_record! {
    /// A node of a shard, from `CLUSTER SHARDS`.
    pub struct ShardNode("a node of CLUSTER SHARDS") {
        /// The node ID.
        pub id: String = "id",
        /// Its plain-text port, if it has one.
        pub port: Option<u16> = "port",
        /// Its TLS port, if it has one.
        pub tls_port: Option<u16> = "tls-port",
        /// Its IP address.
        pub ip: String = "ip",
        /// The address to reach it by: IP, host name, or `?` when unknown.
        pub endpoint: String = "endpoint",
        /// Its announced host name, if any.
        pub hostname: Option<String> = "hostname",
        /// `master` or `replica`.
        pub role: String = "role",
        /// Its replication offset.
        pub replication_offset: u64 = "replication-offset",
        /// `online`, `failed` or `loading`.
        pub health: String = "health",
    }
}

/// One slot range, from `CLUSTER SLOTS`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SlotRange {
    /// The first slot.
    pub start: u16,
    /// The last slot (inclusive).
    pub end: u16,
    /// The primary serving it.
    pub primary: SlotNode,
    /// Its replicas.
    pub replicas: Vec<SlotNode>,
}

impl FromValue for SlotRange {
    fn from_value(v: Value) -> Result<Self> {
        const WHAT: &str = "a CLUSTER SLOTS range";
        let mut it = items(v, WHAT, 3)?;
        Ok(SlotRange {
            start: field(WHAT, "start", it.next())?,
            end: field(WHAT, "end", it.next())?,
            primary: field(WHAT, "primary", it.next())?,
            replicas: it
                .map(|n| field(WHAT, "replicas", Some(n)))
                .collect::<Result<_>>()?,
        })
    }
}

/// A node of a slot range, from `CLUSTER SLOTS`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SlotNode {
    /// The address to reach it by: its IP, host name, `?` when it has none of the
    /// preferred kind, `None` with `cluster-preferred-endpoint-type unknown-endpoint`.
    pub endpoint: Option<String>,
    /// Its port.
    pub port: u16,
    /// Its node ID.
    pub id: Option<String>,
    /// Its host name, from the networking metadata (Redis ≥ 7.0).
    pub hostname: Option<String>,
    /// Its IP address, from the networking metadata when `endpoint` is not the IP.
    pub ip: Option<String>,
}

impl FromValue for SlotNode {
    fn from_value(v: Value) -> Result<Self> {
        const WHAT: &str = "a node of CLUSTER SLOTS";
        let mut it = items(v, WHAT, 2)?;
        let mut node = SlotNode {
            endpoint: field(WHAT, "endpoint", it.next())?,
            port: field(WHAT, "port", it.next())?,
            id: field(WHAT, "id", it.next())?,
            hostname: None,
            ip: None,
        };
        if let Some(meta) = it.next() {
            for (k, v) in entries(meta, WHAT)? {
                match key_of(&k) {
                    b"hostname" => node.hostname = field(WHAT, "hostname", Some(v))?,
                    b"ip" => node.ip = field(WHAT, "ip", Some(v))?,
                    _ => {}
                }
            }
        }
        Ok(node)
    }
}

map_record! {
    /// One cluster bus link, from `CLUSTER LINKS`.
    pub struct ClusterLink("a CLUSTER LINKS link") {
        /// `to` (this node connected) or `from` (the peer connected).
        pub direction: String = "direction",
        /// The peer's node ID.
        pub node: String = "node",
        /// When the link was made (Unix time, milliseconds).
        pub create_time: u64 = "create-time",
        /// The events the link waits for: `r`, `w`.
        pub events: String = "events",
        /// Bytes allocated for its send buffer.
        pub send_buffer_allocated: u64 = "send-buffer-allocated",
        /// Bytes of it in use.
        pub send_buffer_used: u64 = "send-buffer-used",
    }
}

map_record! {
    /// One slot's statistics, from `CLUSTER SLOT-STATS` (Valkey ≥ 8.0), paired with
    /// its slot: `Vec<(u16, SlotStats)>`.
    pub struct SlotStats("CLUSTER SLOT-STATS statistics") {
        /// Keys in the slot.
        pub key_count: u64 = "key-count",
        /// CPU time spent on it, in microseconds (with `cluster-slot-stats-enabled`).
        pub cpu_usec: Option<u64> = "cpu-usec",
        /// Bytes received for it (with `cluster-slot-stats-enabled`).
        pub network_bytes_in: Option<u64> = "network-bytes-in",
        /// Bytes sent for it (with `cluster-slot-stats-enabled`).
        pub network_bytes_out: Option<u64> = "network-bytes-out",
    }
}
