//! What the generated builders write is accepted by the servers: for every command,
//! `typedis::commands::BUILDER_CASES` holds calls of its builder that between them use
//! each optional argument, each alternative of a choice and each token (sample values
//! from the argument types, or the specs' `typedis.samples`). Each case's argv is sent
//! to Redis 7.0 and Valkey 9.1 (RESP3); the test fails when a server answers that it
//! did not understand the arguments (a syntax, arity, unknown subcommand or option
//! error). Other errors (WRONGTYPE, no such key, needs cluster mode, …) mean the
//! arguments were understood. An argument the specs say a server does not accept (its
//! setter leaves a note naming that server) may be refused by it.
//!
//! The cluster group's commands run on a cluster-enabled node of their own; commands that
//! change their connection's state on a dedicated connection; keys are created with the
//! type of the command's group first, as some commands parse their options only for an
//! existing key.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use support::{Kind, Server, KINDS};
use typedis::{Args, Client, Error};

/// Commands whose cases are not sent, and why.
const SKIP: &[(&str, &str)] = &[
    ("SHUTDOWN", "stops the server"),
    ("DEBUG", "its subcommands stall or crash the server"),
    ("FAILOVER", "starts a failover of the server"),
    (
        "REPLICAOF",
        "would make the server a replica of a made-up host",
    ),
    (
        "SLAVEOF",
        "would make the server a replica of a made-up host",
    ),
    ("SYNC", "streams the dataset, not in RESP"),
    ("PSYNC", "streams the dataset, not in RESP"),
    ("REPLCONF", "replication's own handshake"),
    (
        "CLUSTER FAILOVER",
        "would change the role of the node the other CLUSTER cases run on",
    ),
    (
        "CLUSTER RESET",
        "would forget the slots the other CLUSTER cases need",
    ),
];

/// Cases still refused with an argument error, each with the reason (command, case).
/// An entry that the servers now accept fails the test, so the list only shrinks.
const KNOWN_FAILURES: &[(&str, &str, &str)] = &[];

fn skip_reason(command: &str) -> Option<&'static str> {
    SKIP.iter()
        .find(|(k, _)| command == *k || command.starts_with(&format!("{k} ")))
        .map(|(_, why)| *why)
}

fn known_failure(command: &str, case: &str) -> bool {
    KNOWN_FAILURES
        .iter()
        .any(|(c, k, _)| *c == command && *k == case)
}

/// Whether the server says it did not understand the arguments. An unknown node id is
/// a value the server understood and refused: no sample value can name a node.
fn refuses_arguments(e: &typedis::ServerError) -> bool {
    e.is_argument_error() && !e.message().to_ascii_lowercase().starts_with("unknown node")
}

/// The argv as text, for messages.
fn show(args: &Args) -> String {
    args.iter()
        .map(|a| {
            let s = String::from_utf8_lossy(a);
            if s.is_empty() || s.contains(' ') {
                format!("{s:?}")
            } else {
                s.into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Creates the keys of `argv` with the type the command's group works on.
async fn setup(client: &Client, group: &str, command: &str, argv: &[Vec<u8>]) {
    let refs: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
    let Ok(keys) = typedis::command_keys(&refs) else {
        return;
    };
    let group = if command.starts_with("SORT") {
        "list"
    } else {
        group
    };
    for i in keys {
        let key = argv[i].as_slice();
        let (cmd, rest): (&str, &[&str]) = match group {
            "list" => ("RPUSH", &["1", "2"]),
            "hash" => ("HSET", &["field", "1"]),
            "set" => ("SADD", &["member", "1"]),
            "sorted-set" => ("ZADD", &["1", "member"]),
            "stream" => ("XADD", &["1-1", "field", "value"]),
            "geo" => ("GEOADD", &["13.36", "38.11", "member"]),
            "hyperloglog" => ("PFADD", &["a"]),
            _ => ("SET", &["1"]),
        };
        let _ = client
            .cmd(cmd)
            .arg(key)
            .args(rest.iter().copied())
            .decode::<typedis::Value>()
            .await;
        if group == "stream" {
            let _ = client
                .cmd("XGROUP")
                .arg("CREATE")
                .arg(key)
                .arg("group")
                .arg("0")
                .decode::<typedis::Value>()
                .await;
        }
    }
}

/// Sends `args` on the shared connection, or on a dedicated one for a command that
/// changes its connection's state (reset when dropped).
async fn send(client: &Client, args: Args) -> typedis::Result<typedis::Value> {
    let first: Vec<&[u8]> = args.iter().take(2).collect();
    let meta = typedis::meta::lookup(first[0], first.get(1).copied());
    let run = async {
        if meta.is_some_and(|m| m.connection_state.is_some()) {
            let conn = client.dedicated().await?;
            conn.send(&args).await
        } else {
            client.send(args.clone()).await
        }
    };
    match tokio::time::timeout(Duration::from_secs(10), run).await {
        Ok(r) => r,
        Err(_) => {
            eprintln!("no reply within 10 s to {}", show(&args));
            Err(Error::timeout(
                typedis::TimeoutKind::Command,
                Duration::from_secs(10),
            ))
        }
    }
}

/// A single cluster-enabled node serving every slot, for the cluster group's commands.
fn cluster_node(kind: Kind) -> Server {
    let dir = support::temp_dir("builders-cluster");
    let d = dir.to_str().expect("utf-8 temp dir").to_owned();
    let conf = format!("{d}/nodes.conf");
    Server::start_with_fresh(kind, || {
        let bus = support::free_port().to_string();
        [
            "--cluster-port",
            &bus,
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            &conf,
            "--dir",
            &d,
        ]
        .map(str::to_owned)
        .to_vec()
    })
}

/// The commands a server has, as `CONTAINER SUB`.
async fn known_commands(client: &Client) -> BTreeSet<String> {
    let list: Vec<String> = client.cmd("COMMAND").arg("LIST").decode().await.unwrap();
    list.iter()
        .map(|n| n.replace('|', " ").to_uppercase())
        .collect()
}

#[derive(Default)]
struct Tally {
    passed: usize,
    /// Accepted, then refused for a value (a missing key, a wrong type, …).
    refused_values: usize,
    /// Refused by a server the specs say does not accept an argument of the case.
    documented: usize,
    known: usize,
    skipped: BTreeMap<&'static str, usize>,
}

#[tokio::test]
async fn every_builder_case_is_accepted_by_the_servers() {
    let cases = typedis::commands::BUILDER_CASES;
    let commands: BTreeSet<&str> = cases.iter().map(|(c, _, _)| *c).collect();
    // Every generated method has cases.
    for (command, _) in typedis::commands::METHODS {
        assert!(commands.contains(command), "{command}: no builder cases");
    }
    let groups: BTreeMap<&str, &str> = typedis::commands::COMMANDS
        .iter()
        .map(|m| (m.name, m.group))
        .collect();
    let arities: BTreeMap<&str, i64> = typedis::commands::COMMANDS
        .iter()
        .map(|m| (m.name, m.arity))
        .collect();
    let mut failures = Vec::new();
    let mut summary = Vec::new();
    let mut accepted = Vec::new();
    // Known failures each server still refuses.
    let mut still_failing: BTreeSet<(&str, &str)> = BTreeSet::new();
    for kind in KINDS {
        let server = Server::start(kind);
        let node = cluster_node(kind);
        let client = Client::connect(&format!("{}?protocol=3", server.url()))
            .await
            .unwrap();
        let cluster = Client::connect(&format!("{}?protocol=3", node.url()))
            .await
            .unwrap();
        let known = known_commands(&client).await;
        let refuses = match kind {
            Kind::Redis => "not by Redis",
            Kind::Valkey => "not by Valkey",
        };
        let mut tally = Tally::default();
        for (command, case, build) in cases {
            if let Some(why) = skip_reason(command) {
                *tally.skipped.entry(why).or_default() += 1;
                continue;
            }
            if !known.contains(*command) {
                *tally
                    .skipped
                    .entry("not a command of this server")
                    .or_default() += 1;
                continue;
            }
            let mut args = build();
            if let Some(e) = args.take_error() {
                failures.push(format!(
                    "{kind:?} {command} [{case}]: the builder refused its own call: {e}"
                ));
                continue;
            }
            let group = groups.get(command).copied().unwrap_or("");
            let target = if group == "cluster" {
                &cluster
            } else {
                &client
            };
            if group == "cluster" {
                // Every slot served again, whatever an earlier case removed.
                for reset in [&["FLUSHSLOTS"][..], &["ADDSLOTSRANGE", "0", "16383"]] {
                    let _: typedis::Value = cluster.cmd("CLUSTER").args(reset).await.unwrap();
                }
            }
            let argv: Vec<Vec<u8>> = args.iter().map(<[u8]>::to_vec).collect();
            setup(target, group, command, &argv).await;
            // Refused as the specs say: an argument the server does not accept (its note,
            // from the per-server data), or fewer arguments than the command's arity
            // (CLUSTER SYNCSLOTS, a container of internal subcommands that COMMAND DOCS
            // does not list: its spec has no arguments for them).
            let words = args.iter().count() as i64;
            let arity = arities.get(command).copied().unwrap_or(0);
            let too_short = arity < 0 && words < -arity;
            let documented = too_short || args.notes().iter().any(|n| n.contains(refuses));
            let shown = show(&args);
            // A connection lost to the case before (`CLIENT KILL SKIPME no` closes every
            // connection, the caller's too) is replaced: the case is sent once more.
            let reply = match send(target, args.clone()).await {
                Err(e) if e.is_connection_error() => send(target, args).await,
                other => other,
            };
            match reply {
                Ok(_) => tally.passed += 1,
                Err(e) => match e.server_error() {
                    Some(se) if refuses_arguments(se) => {
                        if documented {
                            tally.documented += 1;
                        } else if known_failure(command, case) {
                            tally.known += 1;
                            still_failing.insert((command, case));
                        } else {
                            failures.push(format!("{kind:?} {command} [{case}]: {shown} → {e}"));
                        }
                    }
                    Some(se) => {
                        tally.passed += 1;
                        tally.refused_values += 1;
                        if std::env::var_os("TYPEDIS_SHOW_REFUSED").is_some() {
                            eprintln!("{kind:?} {command} [{case}]: {shown} → {se}");
                        }
                    }
                    None => failures.push(format!("{kind:?} {command} [{case}]: {shown} → {e}")),
                },
            }
        }
        let skipped: usize = tally.skipped.values().sum();
        summary.push(format!(
            "{kind:?}: {} cases, {} run: {} accepted ({} of them then refused for a value), {} refused as the specs say, {} known failures; {skipped} skipped {:?}",
            cases.len(),
            tally.passed + tally.documented + tally.known,
            tally.passed,
            tally.refused_values,
            tally.documented,
            tally.known,
            tally.skipped,
        ));
        accepted.push((kind, tally.passed));
    }
    for s in &summary {
        eprintln!("{s}");
    }
    let stale: Vec<_> = KNOWN_FAILURES
        .iter()
        .filter(|(c, k, _)| !still_failing.contains(&(*c, *k)))
        .collect();
    assert!(
        failures.is_empty(),
        "{} builder cases refused:\n{}",
        failures.len(),
        failures.join("\n")
    );
    for (kind, n) in accepted {
        assert!(n > 600, "{kind:?}: only {n} cases accepted");
    }
    assert!(
        stale.is_empty(),
        "accepted now, so no longer to list in KNOWN_FAILURES: {stale:?}"
    );
}
