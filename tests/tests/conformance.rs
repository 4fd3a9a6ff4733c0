//! The generated API against what the servers say about themselves:
//! - coverage: every command and subcommand in `COMMAND LIST` has its metadata and (but
//!   for bare containers) its typed method;
//! - keys: for every command with keys, argv synthesized from its argument spec (minimal,
//!   and with every optional argument) and hand-picked edge cases give exactly the keys
//!   that `COMMAND GETKEYS` returns.

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use support::{Kind, Server, KINDS};
use typedis::{Client, Value};
use typedis_tests::synthesize;

async fn command_list(client: &Client) -> Vec<String> {
    client
        .cmd("COMMAND")
        .arg("LIST")
        .decode::<Vec<String>>()
        .await
        .unwrap()
}

#[tokio::test]
async fn every_server_command_has_a_typed_method() {
    let methods: BTreeSet<&str> = typedis::commands::METHODS.iter().map(|(c, _)| *c).collect();
    let metas: BTreeSet<&str> = typedis::commands::COMMANDS.iter().map(|m| m.name).collect();
    for kind in KINDS {
        let server = Server::start(kind);
        let client = Client::connect(&server.url()).await.unwrap();
        let list = command_list(&client).await;
        let containers: BTreeSet<String> = list
            .iter()
            .filter_map(|n| n.split_once('|').map(|(c, _)| c.to_uppercase()))
            .collect();
        let mut missing = Vec::new();
        for name in &list {
            let full = name.replace('|', " ").to_uppercase();
            if !metas.contains(full.as_str()) {
                missing.push(format!("{full} (no metadata)"));
            } else if !methods.contains(full.as_str()) && !containers.contains(&full) {
                missing.push(format!("{full} (no method)"));
            }
        }
        assert!(
            missing.is_empty(),
            "{kind:?}: {} commands missing: {missing:?}",
            missing.len()
        );
        assert!(
            list.len() > 200,
            "{kind:?} listed only {} commands",
            list.len()
        );
        eprintln!(
            "{kind:?}: all {} commands of COMMAND LIST are generated",
            list.len()
        );
    }
}

async fn getkeys(client: &Client, argv: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
    let mut cmd = client.cmd("COMMAND").arg("GETKEYS");
    for a in argv {
        cmd = cmd.arg(a.as_slice());
    }
    match cmd.await {
        Ok(v) => Some(typedis::FromValue::from_value(v).unwrap_or_default()),
        Err(_) => None,
    }
}

fn ours(argv: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
    let refs: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
    typedis::command_keys(&refs)
        .ok()
        .map(|ix| ix.into_iter().map(|i| argv[i].clone()).collect())
}

fn edge_cases() -> Vec<Vec<&'static str>> {
    vec![
        vec![
            "MIGRATE",
            "127.0.0.1",
            "6379",
            "",
            "0",
            "5000",
            "KEYS",
            "k1",
            "k2",
        ],
        vec!["MIGRATE", "127.0.0.1", "6379", "k1", "0", "5000", "COPY"],
        vec!["EVAL", "return 1", "2", "k1", "k2", "a1"],
        vec!["EVALSHA", "abc", "0", "a1"],
        vec!["FCALL", "f", "1", "k1", "a1"],
        vec!["SORT", "k1", "BY", "w*", "LIMIT", "0", "1", "STORE", "dst"],
        vec!["SORT", "k1", "GET", "#", "DESC"],
        vec![
            "ZUNIONSTORE",
            "dst",
            "3",
            "a",
            "b",
            "c",
            "WEIGHTS",
            "1",
            "2",
            "3",
        ],
        vec!["ZINTER", "2", "a", "b", "WITHSCORES"],
        vec![
            "XREAD", "COUNT", "10", "BLOCK", "0", "STREAMS", "s1", "s2", "s3", "0", "0", "0",
        ],
        vec![
            "XREADGROUP",
            "GROUP",
            "g",
            "c",
            "STREAMS",
            "s1",
            "s2",
            ">",
            ">",
        ],
        vec!["MSET", "a", "1", "b", "2", "c", "3"],
        vec!["BITOP", "AND", "dst", "k1", "k2", "k3"],
        vec!["GEORADIUS", "k", "0", "0", "1", "km", "STORE", "dst"],
        vec!["GEORADIUSBYMEMBER", "k", "m", "1", "km", "STOREDIST", "dst"],
        vec!["LMPOP", "2", "l1", "l2", "LEFT", "COUNT", "2"],
        vec!["BLMPOP", "0", "2", "l1", "l2", "RIGHT"],
        vec!["BLPOP", "l1", "l2", "l3", "0"],
        vec!["OBJECT", "ENCODING", "k"],
        vec!["MEMORY", "USAGE", "k", "SAMPLES", "5"],
        vec!["XINFO", "STREAM", "s", "FULL"],
        vec!["SET", "k", "v", "GET"],
        vec!["LCS", "a", "b", "IDX"],
        vec!["RENAME", "a", "b"],
        vec!["SINTERCARD", "2", "a", "b", "LIMIT", "1"],
    ]
}

#[tokio::test]
async fn key_extraction_matches_command_getkeys() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../commands");
    let specs = typedis_codegen::Config::new()
        .spec_dir(&dir)
        .load()
        .unwrap();
    for kind in KINDS {
        let server = Server::start(kind);
        let client = Client::connect(&server.url()).await.unwrap();
        let known: BTreeSet<String> = command_list(&client)
            .await
            .into_iter()
            .map(|n| n.replace('|', " ").to_uppercase())
            .collect();
        let mut cases: Vec<Vec<Vec<u8>>> = edge_cases()
            .into_iter()
            .filter(|c| kind == Kind::Valkey || c[0] != "NOTHING")
            .map(|c| c.into_iter().map(|a| a.as_bytes().to_vec()).collect())
            .collect();
        for s in &specs {
            let full = s.full_name();
            if s.spec.key_specs.is_empty() || !known.contains(&full) {
                continue;
            }
            for with_optional in [false, true] {
                let argv = synthesize(&full, &s.spec.arguments, with_optional);
                cases.push(argv.into_iter().map(String::into_bytes).collect());
            }
        }
        let (mut agreed, mut refused) = (0, 0);
        let mut mismatches = Vec::new();
        for argv in &cases {
            let theirs = getkeys(&client, argv).await;
            let mine = ours(argv);
            match (&theirs, &mine) {
                (Some(t), Some(m)) if t == m => agreed += 1,
                // The server refused the argv (e.g. a value it parses is not valid): our
                // answer is not comparable; count it.
                (None, _) => refused += 1,
                _ => mismatches.push(format!(
                    "{:?}: server {:?}, typedis {:?}",
                    argv.iter()
                        .map(|a| String::from_utf8_lossy(a).into_owned())
                        .collect::<Vec<_>>(),
                    theirs.map(|t| t
                        .iter()
                        .map(|k| String::from_utf8_lossy(k).into_owned())
                        .collect::<Vec<_>>()),
                    mine.map(|t| t
                        .iter()
                        .map(|k| String::from_utf8_lossy(k).into_owned())
                        .collect::<Vec<_>>()),
                )),
            }
        }
        eprintln!(
            "{kind:?}: {} argvs, {agreed} agree with COMMAND GETKEYS, {refused} refused by the server, {} differ",
            cases.len(),
            mismatches.len()
        );
        assert!(
            mismatches.is_empty(),
            "{kind:?}: {} differ:\n{}",
            mismatches.len(),
            mismatches.join("\n")
        );
        assert!(agreed > 150, "{kind:?}: only {agreed} comparable argvs");
        let _ = Value::Nil;
    }
}
