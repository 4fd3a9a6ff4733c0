//! The command groups of a split output (`Config::split_groups`): each group's trait
//! (`SortedSetCommands` in `sorted_set.rs`), its name and its docs.

use super::*;

/// The trait of a group's module (`sorted_set` → `SortedSetCommands`, `keys` →
/// `KeyCommands`).
pub(super) fn trait_name(module: &str) -> String {
    let base = match module {
        "keys" => "Key".to_owned(),
        "hyperloglog" => "HyperLogLog".to_owned(),
        "pubsub" => "PubSub".to_owned(),
        m => pascal(m),
    };
    format!("{base}Commands")
}

/// What a group is, for its trait's docs.
fn what(module: &str) -> String {
    match module {
        "bitmap" => "The bitmap commands: strings addressed bit by bit (`SETBIT`, `BITCOUNT`, `BITFIELD`, …).".into(),
        "cluster" => "The cluster commands: a node's view of the cluster, its slots and their migration (`CLUSTER …`, `READONLY`, `ASKING`, …).".into(),
        "connection" => "The connection commands: the connection itself, its client and its state (`PING`, `HELLO`, `AUTH`, `SELECT`, `CLIENT …`, …).".into(),
        "geo" => "The geospatial commands: members of a sorted set placed by longitude and latitude (`GEOADD`, `GEOSEARCH`, …).".into(),
        "hash" => "The hash commands: field-value maps at a key, and their fields' expiry (`HSET`, `HGETALL`, `HEXPIRE`, …).".into(),
        "hyperloglog" => "The HyperLogLog commands: approximate counts of distinct elements (`PFADD`, `PFCOUNT`, `PFMERGE`).".into(),
        "keys" => "The generic key commands: any key, whatever its type (`DEL`, `EXPIRE`, `SCAN`, `TYPE`, `OBJECT …`, …).".into(),
        "list" => "The list commands: sequences at a key, and the blocking pops (`LPUSH`, `LRANGE`, `BLMOVE`, …).".into(),
        "pubsub" => "The publish/subscribe commands: publishing, subscribing and what the server knows of channels (`PUBLISH`, `SUBSCRIBE`, `PUBSUB …`, …).".into(),
        "scripting" => "The scripting commands: Lua scripts and functions (`EVAL`, `EVALSHA`, `SCRIPT …`, `FCALL`, `FUNCTION …`).".into(),
        "server" => "The server commands: administration, configuration, persistence, ACLs and introspection (`INFO`, `CONFIG …`, `ACL …`, `FLUSHALL`, …).".into(),
        "set" => "The set commands: unordered collections of distinct members (`SADD`, `SMEMBERS`, `SINTER`, …).".into(),
        "sorted_set" => "The sorted-set commands: members ordered by score (`ZADD`, `ZRANGE`, `BZPOPMIN`, …).".into(),
        "stream" => "The stream commands: append-only logs of entries and their consumer groups (`XADD`, `XREAD`, `XREADGROUP`, …).".into(),
        "string" => "The string commands: values at a key, and the counters kept in them (`GET`, `SET`, `INCR`, …).".into(),
        "transactions" => "The transaction commands: `MULTI`, `EXEC`, `DISCARD`, `WATCH`, `UNWATCH`.".into(),
        m => format!("The `{m}` commands."),
    }
}

/// The docs of a group's trait.
pub(super) fn trait_doc(module: &str, umbrella: &str, methods: usize) -> String {
    format!(
        "{}\n\nOne method per command ({methods}); each returns the command's builder, defined below it in this file. Part of [`{umbrella}`](super::{umbrella}), which generic code can bound on to call every command; on a concrete handle bring the traits into scope with `use typedis::prelude::*;` (or this trait alone).",
        what(module)
    )
}
