//! Server and connection introspection: `SLOWLOG`/`COMMANDLOG`, `LATENCY`, `ROLE`, `ACL`,
//! `HELLO`, `MODULE LIST`, `CLIENT TRACKINGINFO`, `FUNCTION`, `COMMAND INFO`/`DOCS`.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;

use super::{array_record, field, items, map_record, ClientInfo};
use crate::error::{Error, Result};
use crate::value::{describe, FromValue, Value};

array_record! {
    /// One `SLOWLOG GET` entry.
    pub struct SlowlogEntry("a SLOWLOG entry", at least 4) {
        /// The entry's unique, increasing ID.
        pub id: u64,
        /// When the command ran (Unix time, seconds).
        pub time: u64,
        /// How long it ran, in microseconds.
        pub duration_us: u64,
        /// The command and its arguments (long ones shortened by the server).
        pub args: Vec<Bytes>,
        /// The client's address, `ip:port`.
        pub client_addr: Option<String>,
        /// The client's name (empty when not set).
        pub client_name: Option<Bytes>,
    }
}

array_record! {
    /// One `COMMANDLOG GET` entry (Valkey ≥ 8.1).
    pub struct CommandLogEntry("a COMMANDLOG entry", at least 4) {
        /// The entry's unique, increasing ID.
        pub id: u64,
        /// When the command ran (Unix time, seconds).
        pub time: u64,
        /// What the log measures: microseconds for `slow`, bytes for `large-request` and
        /// `large-reply`.
        pub value: u64,
        /// The command and its arguments (long ones shortened by the server).
        pub args: Vec<Bytes>,
        /// The client's address, `ip:port`.
        pub client_addr: Option<String>,
        /// The client's name (empty when not set).
        pub client_name: Option<Bytes>,
    }
}

array_record! {
    /// One `LATENCY LATEST` event.
    pub struct LatencyLatest("a LATENCY LATEST entry", at least 4) {
        /// The event's name (`command`, `fast-command`, `fork`, …).
        pub event: String,
        /// When it last happened (Unix time, seconds).
        pub time: u64,
        /// Its latest latency, in milliseconds.
        pub latest_ms: u64,
        /// Its greatest latency, in milliseconds.
        pub max_ms: u64,
        /// The sum of its latencies, in milliseconds (Valkey ≥ 8.1).
        pub sum_ms: Option<u64>,
        /// How many times it was recorded (Valkey ≥ 8.1).
        pub count: Option<u64>,
    }
}

/// `ROLE`: what the server is in replication.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Role {
    /// A primary.
    Master {
        /// Its replication offset.
        offset: u64,
        /// Its connected replicas.
        replicas: Vec<RoleReplica>,
    },
    /// A replica.
    Replica {
        /// Its primary's host.
        master_host: String,
        /// Its primary's port.
        master_port: u16,
        /// The link's state: `connect`, `connecting`, `sync`, `connected`, …
        state: String,
        /// The replication offset received (-1 while not synced).
        offset: i64,
    },
    /// A Sentinel.
    Sentinel {
        /// The primaries it monitors.
        masters: Vec<Bytes>,
    },
}

array_record! {
    /// A replica, as its primary's `ROLE` lists it.
    pub struct RoleReplica("a replica of ROLE", at least 3) {
        /// Its host.
        pub host: String,
        /// Its port.
        pub port: u16,
        /// The replication offset it acknowledged.
        pub offset: u64,
    }
}

impl FromValue for Role {
    fn from_value(v: Value) -> Result<Self> {
        const WHAT: &str = "the ROLE reply";
        let mut it = items(v, WHAT, 1)?;
        let role: String = field(WHAT, "role", it.next())?;
        match role.as_str() {
            "master" | "primary" => Ok(Role::Master {
                offset: field(WHAT, "offset", it.next())?,
                replicas: field(WHAT, "replicas", it.next())?,
            }),
            "slave" | "replica" => Ok(Role::Replica {
                master_host: field(WHAT, "master_host", it.next())?,
                master_port: field(WHAT, "master_port", it.next())?,
                state: field(WHAT, "state", it.next())?,
                offset: field(WHAT, "offset", it.next())?,
            }),
            "sentinel" => Ok(Role::Sentinel {
                masters: field(WHAT, "masters", it.next())?,
            }),
            _ => Err(Error::decode(
                "the ROLE reply (master, slave or sentinel)",
                describe(&Value::Bulk(Bytes::from(role))),
            )),
        }
    }
}

map_record! {
    /// One `ACL LOG` entry.
    pub struct AclLogEntry("an ACL LOG entry") {
        /// How many times this was seen within the server's grouping window.
        pub count: u64 = "count",
        /// Why it was denied: `command`, `key`, `channel`, `auth`, …
        pub reason: String = "reason",
        /// Where: `toplevel`, `multi`, `lua`, `module`.
        pub context: String = "context",
        /// The command, key, channel or user denied.
        pub object: Bytes = "object",
        /// The user.
        pub username: Bytes = "username",
        /// Seconds since the entry was last updated.
        pub age_seconds: f64 = "age-seconds",
        /// The client that was denied.
        pub client_info: ClientInfo = "client-info",
        /// The entry's ID (Redis ≥ 7.2).
        pub entry_id: Option<u64> = "entry-id",
        /// When the entry was created (Unix time, milliseconds; Redis ≥ 7.2).
        pub timestamp_created: Option<u64> = "timestamp-created",
        /// When it was last updated (Unix time, milliseconds; Redis ≥ 7.2).
        pub timestamp_last_updated: Option<u64> = "timestamp-last-updated",
    }
}

map_record! {
    /// `ACL GETUSER name`.
    pub struct AclUser("ACL GETUSER") {
        /// `on`/`off`, `nopass`, `skip-sanitize-payload`, …
        pub flags: Vec<String> = "flags",
        /// The password hashes.
        pub passwords: Vec<Bytes> = "passwords",
        /// The command rules, e.g. `+@all -debug`.
        pub commands: String = "commands",
        /// The key patterns, e.g. `~*`.
        pub keys: String = "keys",
        /// The channel patterns, e.g. `&*`.
        pub channels: String = "channels",
        /// The databases (Valkey ≥ 9.0), e.g. `alldbs`.
        pub databases: Option<String> = "databases",
        /// The selectors (Redis ≥ 7.0).
        pub selectors: Vec<AclSelector> = "selectors",
    }
}

map_record! {
    /// A selector of an ACL user.
    pub struct AclSelector("an ACL selector") {
        /// The command rules.
        pub commands: String = "commands",
        /// The key patterns.
        pub keys: String = "keys",
        /// The channel patterns.
        pub channels: String = "channels",
        /// The databases (Valkey ≥ 9.0).
        pub databases: Option<String> = "databases",
    }
}

map_record! {
    /// `HELLO`: the server and the connection.
    pub struct Hello("HELLO") {
        /// `redis` or `valkey`.
        pub server: String = "server",
        /// The server's version.
        pub version: String = "version",
        /// The protocol now spoken (2 or 3).
        pub proto: i64 = "proto",
        /// The connection's client ID.
        pub id: u64 = "id",
        /// `standalone`, `cluster` or `sentinel`.
        pub mode: String = "mode",
        /// `master` or `replica`.
        pub role: String = "role",
        /// The loaded modules.
        pub modules: Vec<ModuleInfo> = "modules",
    }
}

map_record! {
    /// A loaded module (`MODULE LIST`, `HELLO`).
    pub struct ModuleInfo("a module") {
        /// Its name.
        pub name: String = "name",
        /// Its version.
        pub ver: i64 = "ver",
        /// The file it was loaded from (Redis ≥ 7.2).
        pub path: Option<String> = "path",
        /// The arguments it was loaded with (Redis ≥ 7.2).
        pub args: Vec<Bytes> = "args",
    }
}

map_record! {
    /// `CLIENT TRACKINGINFO`.
    pub struct TrackingInfo("CLIENT TRACKINGINFO") {
        /// `off`, `on`, `bcast`, `optin`, `optout`, `caching-yes`, `noloop`, …
        pub flags: Vec<String> = "flags",
        /// The client invalidations are redirected to (0: none, -1: tracking off).
        pub redirect: i64 = "redirect",
        /// The key prefixes tracked in broadcasting mode.
        pub prefixes: Vec<Bytes> = "prefixes",
    }
}

map_record! {
    /// A library, from `FUNCTION LIST`.
    pub struct FunctionLibrary("a FUNCTION LIST library") {
        /// The library's name.
        pub name: Bytes = "library_name",
        /// Its engine (`LUA`).
        pub engine: String = "engine",
        /// Its functions.
        pub functions: Vec<LibraryFunction> = "functions",
        /// Its source (with `WITHCODE`).
        pub code: Option<Bytes> = "library_code",
    }
}

map_record! {
    /// A function of a library, from `FUNCTION LIST`.
    pub struct LibraryFunction("a FUNCTION LIST function") {
        /// The function's name.
        pub name: Bytes = "name",
        /// Its description, if it has one.
        pub description: Option<Bytes> = "description",
        /// Its flags (`no-writes`, `allow-oom`, …).
        pub flags: Vec<String> = "flags",
    }
}

map_record! {
    /// `FUNCTION STATS`.
    pub struct FunctionStats("FUNCTION STATS") {
        /// The function running now, if any.
        pub running_script: Option<RunningScript> = "running_script",
        /// Libraries and functions per engine.
        pub engines: HashMap<String, EngineStats> = "engines",
    }
}

map_record! {
    /// The function `FUNCTION STATS` reports running.
    pub struct RunningScript("the running script of FUNCTION STATS") {
        /// The function's name.
        pub name: Bytes = "name",
        /// The command and its arguments.
        pub command: Vec<Bytes> = "command",
        /// How long it has run, in milliseconds.
        pub duration_ms: u64 = "duration_ms",
    }
}

map_record! {
    /// One engine in `FUNCTION STATS`.
    pub struct EngineStats("an engine of FUNCTION STATS") {
        /// Libraries loaded.
        pub libraries_count: u64 = "libraries_count",
        /// Functions loaded.
        pub functions_count: u64 = "functions_count",
    }
}

map_record! {
    /// One command's latencies, from `LATENCY HISTOGRAM`.
    pub struct CommandHistogram("a LATENCY HISTOGRAM entry") {
        /// Calls recorded.
        pub calls: u64 = "calls",
        /// Calls per bucket: each key is a bucket's upper bound in microseconds (powers
        /// of two), its value the calls up to that bound.
        pub histogram_usec: BTreeMap<u64, u64> = "histogram_usec",
    }
}

array_record! {
    /// One command, from `COMMAND INFO` (or `COMMAND`).
    pub struct CommandInfo("a COMMAND INFO entry", at least 6) {
        /// Its name, lower case (`container|sub` for a subcommand).
        pub name: String,
        /// Its arity: the exact argument count (with the name), or its negation for a
        /// minimum.
        pub arity: i64,
        /// Its flags (`write`, `readonly`, `fast`, …).
        pub flags: Vec<String>,
        /// The position of its first key (0: none).
        pub first_key: i64,
        /// The position of its last key (negative: from the end).
        pub last_key: i64,
        /// The step between keys.
        pub step: i64,
        /// Its ACL categories (Redis ≥ 6.0).
        pub acl_categories: Vec<String>,
        /// Its tips (Redis ≥ 7.0), e.g. `request_policy:all_shards`.
        pub tips: Vec<String>,
        /// Its key specs (Redis ≥ 7.0), as the server sends them.
        pub key_specs: Vec<Value>,
        /// Its subcommands (Redis ≥ 7.0).
        pub subcommands: Vec<CommandInfo>,
    }
}

map_record! {
    /// One command's documentation, from `COMMAND DOCS`.
    pub struct CommandDoc("a COMMAND DOCS entry") {
        /// What it does.
        pub summary: Option<String> = "summary",
        /// The version that added it.
        pub since: Option<String> = "since",
        /// Its group (`string`, `sorted-set`, …).
        pub group: Option<String> = "group",
        /// Its complexity.
        pub complexity: Option<String> = "complexity",
        /// The module that adds it.
        pub module: Option<String> = "module",
        /// `deprecated`, `syscmd`.
        pub doc_flags: Vec<String> = "doc_flags",
        /// The version that deprecated it.
        pub deprecated_since: Option<String> = "deprecated_since",
        /// What replaces it.
        pub replaced_by: Option<String> = "replaced_by",
        /// Its history: (version, change).
        pub history: Vec<(String, String)> = "history",
        /// Its arguments.
        pub arguments: Vec<ArgumentDoc> = "arguments",
        /// Its subcommands, by name.
        pub subcommands: HashMap<String, CommandDoc> = "subcommands",
    }
}

map_record! {
    /// An argument in `COMMAND DOCS`.
    pub struct ArgumentDoc("an argument of COMMAND DOCS") {
        /// Its name.
        pub name: String = "name",
        /// Its type: `key`, `string`, `integer`, `double`, `pattern`, `unix-time`,
        /// `pure-token`, `oneof`, `block`.
        pub kind: String = "type",
        /// Its name as shown in the syntax.
        pub display_text: Option<String> = "display_text",
        /// The key spec of a `key` argument.
        pub key_spec_index: Option<i64> = "key_spec_index",
        /// The token in front of it.
        pub token: Option<String> = "token",
        /// What it is.
        pub summary: Option<String> = "summary",
        /// The version that added it.
        pub since: Option<String> = "since",
        /// The version that deprecated it.
        pub deprecated_since: Option<String> = "deprecated_since",
        /// `optional`, `multiple`, `multiple_token`.
        pub flags: Vec<String> = "flags",
        /// The members of a `oneof` or `block`.
        pub arguments: Vec<ArgumentDoc> = "arguments",
    }
}
