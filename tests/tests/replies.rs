//! The declared replies against real ones, on both servers, in RESP2 and RESP3:
//! - for every command where it is safe, a call synthesized from its argument spec
//!   (after setting up keys of the command's group) must answer what its `reply_schema`
//!   says and decode into the generated default reply type; every reply variant
//!   (`typedis.reply_variants`) likewise, with the argument that picks it;
//! - the typed API itself (`replies/*.rs`): each reply-changing flag, the records of
//!   `typedis::reply` with real content, nil where the servers send it, decode errors.

mod support;

#[path = "replies/cluster.rs"]
mod cluster;
#[path = "replies/scalars.rs"]
mod scalars;
#[path = "replies/server.rs"]
mod server;
#[path = "replies/streams.rs"]
mod streams;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value as Json;
use support::{Kind, Server, KINDS};
use typedis::{Args, Client, Value};
use typedis_codegen::spec::{ArgKind, Argument, SpecFile};
use typedis_tests::{fits, synthesize_path};

/// Commands not called by the synthesized run, and why. (Commands that change their
/// connection's state run on a dedicated connection of their own; the replies of some
/// of these are checked by the typed tests: `MIGRATE`, `REPLICAOF NO ONE`, `CLUSTER …` on
/// a cluster.)
const SKIP: &[(&str, &str)] = &[
    ("SHUTDOWN", "stops the server"),
    ("DEBUG", "its subcommands stall or crash the server"),
    ("SYNC", "streams the dataset, not in RESP"),
    ("PSYNC", "streams the dataset, not in RESP"),
    ("REPLCONF", "replication's own handshake"),
    (
        "REPLICAOF",
        "would make the server a replica of a made-up host",
    ),
    (
        "SLAVEOF",
        "would make the server a replica of a made-up host",
    ),
    ("MIGRATE", "connects to a made-up host"),
    ("CLUSTER", "needs a cluster: see `cluster.rs`"),
];

/// Reply variants the synthesized run cannot reach (the server refuses the call it
/// makes), and the typed test that covers them.
const VARIANTS_COVERED_ELSEWHERE: &[(&str, &str)] = &[
    // FROM… is optional in the spec, required by the server.
    ("GEOSEARCH", "scalars::geo_with_every_combination"),
];

/// Keys `key1`…`key4` of the kind the command works on (its group's, a list for SORT),
/// streams with a consumer group `group1` whose consumer `consumer1` has read them.
async fn setup(client: &Client, command: &str, group: &str) {
    client.cmd("FLUSHALL").await.unwrap();
    let group = if command.starts_with("SORT") {
        "list"
    } else {
        group
    };
    for key in ["key1", "key2", "key3", "key4"] {
        let setup: &[&[&str]] = match group {
            "list" => &[&["RPUSH", key, "3", "1", "2"]],
            "hash" => &[&["HSET", key, "field1", "value1", "field", "2"]],
            "set" => &[&["SADD", key, "member1", "member2"]],
            "sorted-set" => &[&["ZADD", key, "1", "member1", "2", "member2"]],
            "stream" => &[
                &["XADD", key, "1-1", "field1", "value1"],
                &["XGROUP", "CREATE", key, "group1", "0"],
                &[
                    "XREADGROUP",
                    "GROUP",
                    "group1",
                    "consumer1",
                    "STREAMS",
                    key,
                    ">",
                ],
            ],
            "geo" => &[&[
                "GEOADD", key, "13.36", "38.11", "member1", "15.08", "37.50", "member2",
            ]],
            "hyperloglog" => &[&["PFADD", key, "a", "b"]],
            _ => &[&["SET", key, "1"]],
        };
        for c in setup {
            client.cmd(c[0]).args(&c[1..]).await.unwrap();
        }
    }
}

/// Sample values where a made-up one would be refused for a reason that has nothing to
/// do with the reply (a stream ID, a lex range, a script), or would hurt (a client ID
/// that could be ours).
fn sample(a: &Argument) -> Option<String> {
    let v = match (a.kind, a.name.as_str()) {
        (ArgKind::Integer, "client-id" | "not-client-id") => "999999",
        (ArgKind::String, "ip") => "127.0.0.1",
        (ArgKind::String, "addr" | "laddr") => "127.0.0.1:1",
        // Ranges: of stream IDs (XRANGE, XPENDING, XAUTOCLAIM) and of ranks (ZRANGE).
        (ArgKind::String, "start") => "0",
        (ArgKind::String, "end") => "+",
        (ArgKind::String, "stop") => "-1",
        // Lex ranges (ZRANGEBYLEX, ZLEXCOUNT, …).
        (ArgKind::String, "min") => "-",
        (ArgKind::String, "max") => "+",
        // Stream IDs and what the setup made.
        (ArgKind::String, "id") => "0",
        (ArgKind::String, "lastid" | "last-id") => "99-0",
        (ArgKind::String, "min-idle-time" | "threshold") => "0",
        (ArgKind::String, "group") => "group1",
        (ArgKind::String, "consumer") => "consumer1",
        (ArgKind::String, "member") => "member1",
        // Things that must be real to be accepted.
        (ArgKind::String, "script") => "return 1",
        (ArgKind::String, "function-code") => {
            "#!lua name=lib1\nredis.register_function('f1', function() return 1 end)"
        }
        (ArgKind::String, "username") => "default",
        (ArgKind::String, "command") => "get",
        (ArgKind::String, "parameter") => "maxmemory-samples",
        (ArgKind::String, "value") if a.token.is_none() => "5",
        _ => return None,
    };
    Some(v.to_owned())
}

/// The path of names to the argument called `name`, if the tree has one.
fn path_to<'a>(args: &'a [Argument], name: &str) -> Option<Vec<&'a str>> {
    for a in args {
        if a.name == name {
            return Some(vec![a.name.as_str()]);
        }
        if let Some(mut rest) = path_to(&a.arguments, name) {
            rest.insert(0, a.name.as_str());
            return Some(rest);
        }
    }
    None
}

fn skipped(full: &str) -> bool {
    SKIP.iter()
        .any(|(k, _)| full == *k || full.starts_with(&format!("{k} ")))
}

type Decoder = fn(Value) -> typedis::Result<()>;

/// The shipped specs, and each command's default reply decoder by name.
fn specs_and_decoders() -> (Vec<SpecFile>, BTreeMap<&'static str, Decoder>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../commands");
    let specs = typedis_codegen::Config::new()
        .spec_dir(&dir)
        .load()
        .unwrap();
    let decoders = typedis::commands::DEFAULT_DECODERS
        .iter()
        .copied()
        .collect();
    (specs, decoders)
}

/// One synthesized call of the conformance run.
struct Check<'a> {
    label: String,
    argv: Vec<String>,
    schema: &'a Json,
    decode: Decoder,
}

#[tokio::test]
async fn replies_match_their_schemas_and_default_types() {
    let (specs, decoders) = specs_and_decoders();
    // The checks can fail: a string is not an integer, a word does not decode as one.
    assert!(!fits(
        &Value::Bulk("x".into()),
        &serde_json::json!({"type": "integer"})
    ));
    assert!(!fits(
        &Value::Int(1),
        &serde_json::json!({"type": "array", "items": {"type": "string"}})
    ));
    assert!(!fits(
        &Value::Bulk("12a".into()),
        &serde_json::json!({"type": "string", "pattern": "^[0-9]+$"})
    ));
    assert!(decoders["INCR"](Value::Bulk("abc".into())).is_err());
    assert!(decoders["XINFO GROUPS"](Value::Array(vec![Value::Int(1)])).is_err());
    let mut report = Vec::new();
    let mut failures = Vec::new();
    // Variant → the runs where the server accepted its call.
    let mut variant_runs: BTreeMap<String, usize> = BTreeMap::new();
    for kind in KINDS {
        let server = Server::start(kind);
        let known = known_commands(&server).await;
        for protocol in [2, 3] {
            let client = Client::connect(&format!("{}?protocol={protocol}", server.url()))
                .await
                .unwrap();
            let (mut checked, mut refused) = (0, 0);
            for s in &specs {
                let full = s.full_name();
                if !known.contains(&full) || skipped(&full) {
                    continue;
                }
                for check in checks(s, &decoders) {
                    setup(&client, &full, s.spec.group.as_deref().unwrap_or("")).await;
                    let argv = &check.argv;
                    let v = match send(&client, argv).await {
                        Ok(v) => v,
                        Err(e) => {
                            assert!(
                                e.server_error().is_some(),
                                "{kind:?} RESP{protocol} {argv:?}: {e}"
                            );
                            refused += 1;
                            continue;
                        }
                    };
                    checked += 1;
                    if check.label != full {
                        *variant_runs.entry(check.label.clone()).or_default() += 1;
                    }
                    if !fits(&v, check.schema) {
                        failures.push(format!(
                            "{kind:?} RESP{protocol} {argv:?}: {v:?} does not fit {}",
                            check.schema
                        ));
                    } else if let Err(e) = (check.decode)(v.clone()) {
                        failures.push(format!(
                            "{kind:?} RESP{protocol} {argv:?} ({}): the reply type refused {v:?}: {e}",
                            check.label
                        ));
                    }
                }
            }
            report.push(format!("{kind:?} RESP{protocol}: {checked} replies checked, {refused} calls refused by the server"));
        }
    }
    for r in &report {
        eprintln!("{r}");
    }
    // Every variant was reached at least once, or is covered by a typed test (and an
    // exemption that is no longer needed is dropped).
    let mut unreached = Vec::new();
    let mut needless = Vec::new();
    for s in &specs {
        let full = s.full_name();
        if skipped(&full) {
            continue;
        }
        let exempt = VARIANTS_COVERED_ELSEWHERE.iter().any(|(c, _)| *c == full);
        for v in &s.spec.typedis.reply_variants {
            let label = format!("{full} {}", v.when.join("|"));
            let reached = variant_runs.get(&label).copied().unwrap_or(0) > 0;
            let reachable = v
                .when
                .iter()
                .any(|w| path_to(&s.spec.arguments, w).is_some());
            if exempt && reached {
                needless.push(label);
            } else if !exempt && !reached && reachable {
                unreached.push(label);
            }
        }
    }
    assert!(
        needless.is_empty(),
        "reached, so no longer to list in VARIANTS_COVERED_ELSEWHERE: {needless:?}"
    );
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        unreached.is_empty(),
        "reply variants no server accepted a synthesized call for (cover them in a typed test and list them in VARIANTS_COVERED_ELSEWHERE): {unreached:?}"
    );
    eprintln!("reply variants checked: {variant_runs:?}");
}

/// Sends `argv` raw: on the shared connection, or, for a command that changes its
/// connection's state (`SELECT`, `MULTI`, `HELLO`, the `SUBSCRIBE` family, …), on a
/// dedicated connection that is reset when dropped.
async fn send(client: &Client, argv: &[String]) -> typedis::Result<Value> {
    let name: Vec<&[u8]> = argv.iter().take(2).map(|a| a.as_bytes()).collect();
    let meta = typedis::meta::lookup(name[0], name.get(1).copied());
    if meta.is_some_and(|m| m.connection_state.is_some()) {
        let conn = client.dedicated().await?;
        let mut args = Args::new();
        for a in argv {
            args.push(a.as_str());
        }
        return conn.send(&args).await;
    }
    client.cmd(&argv[0]).args(&argv[1..]).await
}

/// The commands a server has, as `CONTAINER SUB`.
async fn known_commands(server: &Server) -> std::collections::BTreeSet<String> {
    let known: Vec<String> = Client::connect(&server.url())
        .await
        .unwrap()
        .cmd("COMMAND")
        .arg("LIST")
        .decode()
        .await
        .unwrap();
    known
        .iter()
        .map(|n| n.replace('|', " ").to_uppercase())
        .collect()
}

/// The calls to make for one command: the minimal one with its default schema, and one
/// per reply variant argument, each with the variant's schema and decoder.
fn checks<'a>(s: &'a SpecFile, decoders: &BTreeMap<&str, Decoder>) -> Vec<Check<'a>> {
    let full = s.full_name();
    let mut out = Vec::new();
    let (Some(decode), Some(schema)) = (decoders.get(full.as_str()), &s.spec.reply_schema) else {
        return out;
    };
    out.push(Check {
        label: full.clone(),
        argv: synthesize_path(&full, &s.spec.arguments, &[], 1, &sample),
        schema,
        decode: *decode,
    });
    for (i, v) in s.spec.typedis.reply_variants.iter().enumerate() {
        let Some(schema) = &v.reply_schema else {
            continue;
        };
        let decode = typedis::commands::VARIANT_DECODERS
            .iter()
            .filter(|(c, _, _)| *c == full)
            .nth(i)
            .map(|(_, _, d)| *d)
            .expect("a decoder per variant");
        let label = format!("{full} {}", v.when.join("|"));
        // The first argument of the variant that this command's tree has (`when` may
        // list names of other forms of the same option).
        for w in &v.when {
            if let Some(path) = path_to(&s.spec.arguments, w) {
                out.push(Check {
                    label: label.clone(),
                    // Once: a repeated argument can change the reply (`ZADD … INCR`
                    // takes one pair).
                    argv: synthesize_path(&full, &s.spec.arguments, &path, 1, &sample),
                    schema,
                    decode,
                });
                break;
            }
        }
    }
    out
}

/// A server of each kind (with `extra` options) and a client on each for both
/// protocols, labelled `Redis RESP2`, …
pub(crate) struct Targets {
    /// One server per kind.
    servers: Vec<Server>,
    /// A client per server and protocol: its kind, a label (`Valkey RESP3`), the client.
    pub(crate) clients: Vec<(Kind, String, Client)>,
}

impl Targets {
    /// Starts the servers with `extra` options and connects the clients.
    pub(crate) async fn start(extra: &[&str]) -> Targets {
        let mut servers = Vec::new();
        let mut clients = Vec::new();
        for kind in KINDS {
            let server = Server::start_with(kind, extra);
            for protocol in [2, 3] {
                let url = format!("{}?protocol={protocol}", server.url());
                clients.push((
                    kind,
                    format!("{kind:?} RESP{protocol}"),
                    Client::connect(&url).await.unwrap(),
                ));
            }
            servers.push(server);
        }
        Targets { servers, clients }
    }

    /// The server of `kind`.
    pub(crate) fn server(&self, kind: Kind) -> &Server {
        self.servers
            .iter()
            .find(|s| s.kind == kind)
            .expect("one server per kind")
    }
}
