//! The declared replies against real ones: for every command where it is safe, a call
//! synthesized from its argument spec (after setting up keys of the command's group),
//! on both servers, in RESP2 and RESP3. Each reply must match the command's
//! `reply_schema` and decode into the generated default reply type.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use support::{Server, KINDS};
use typedis::{Client, Value};
use typedis_tests::{fits, synthesize};

/// Commands not called: they stop, block, reconfigure or move the connection or the
/// server, or reach out to other hosts.
const SKIP: &[&str] = &[
    "SHUTDOWN",
    "DEBUG",
    "MONITOR",
    "SUBSCRIBE",
    "PSUBSCRIBE",
    "SSUBSCRIBE",
    "UNSUBSCRIBE",
    "PUNSUBSCRIBE",
    "SUNSUBSCRIBE",
    "SYNC",
    "PSYNC",
    "REPLCONF",
    "FAILOVER",
    "REPLICAOF",
    "SLAVEOF",
    "CLIENT KILL",
    "CLIENT PAUSE",
    "CLIENT REPLY",
    "CLIENT TRACKING",
    "QUIT",
    "RESET",
    "HELLO",
    "AUTH",
    "SELECT",
    "MULTI",
    "EXEC",
    "WATCH",
    "UNWATCH",
    "DISCARD",
    "SAVE",
    "BGSAVE",
    "BGREWRITEAOF",
    "CONFIG REWRITE",
    "MIGRATE",
    "WAIT",
    "WAITAOF",
    "CLIENT NO-EVICT",
    "CLIENT NO-TOUCH",
    "CLIENT CAPA",
    "CLIENT IMPORT-SOURCE",
    "ASKING",
    "READONLY",
    "READWRITE",
    "SWAPDB",
    "FLUSHALL",
    "FLUSHDB",
    "SCRIPT KILL",
    "FUNCTION KILL",
    "CLIENT UNBLOCK",
    "ACL LOAD",
    "ACL SAVE",
    "MODULE LOAD",
    "MODULE LOADEX",
    "COMMANDLOG",
];

async fn setup(client: &Client, group: &str) {
    client.cmd("FLUSHALL").await.unwrap();
    for key in ["key1", "key2", "key3", "key4"] {
        let setup: &[&str] = match group {
            "list" => &["RPUSH", key, "element1", "element2", "pivot1"],
            "hash" => &["HSET", key, "field1", "value1", "field2", "2"],
            "set" => &["SADD", key, "member1", "member2"],
            "sorted-set" => &["ZADD", key, "1", "member1", "2", "member2"],
            "stream" => &["XADD", key, "1-1", "field1", "value1"],
            "geo" => &[
                "GEOADD", key, "13.36", "38.11", "member1", "15.08", "37.50", "member2",
            ],
            "hyperloglog" => &["PFADD", key, "a", "b"],
            _ => &["SET", key, "1"],
        };
        client.cmd(setup[0]).args(&setup[1..]).await.unwrap();
    }
}

#[tokio::test]
async fn replies_match_their_schemas_and_default_types() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../commands");
    let specs = typedis_codegen::Config::new()
        .spec_dir(&dir)
        .load()
        .unwrap();
    let decoders: BTreeMap<&str, fn(Value) -> typedis::Result<()>> =
        typedis::commands::DEFAULT_DECODERS
            .iter()
            .copied()
            .collect();
    // The checks can fail: a string is not an integer, a word does not decode as one.
    assert!(!fits(
        &Value::Bulk("x".into()),
        &serde_json::json!({"type": "integer"})
    ));
    assert!(!fits(
        &Value::Int(1),
        &serde_json::json!({"type": "array", "items": {"type": "string"}})
    ));
    assert!(decoders["INCR"](Value::Bulk("abc".into())).is_err());
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for kind in KINDS {
        let server = Server::start(kind);
        let known: Vec<String> = Client::connect(&server.url())
            .await
            .unwrap()
            .cmd("COMMAND")
            .arg("LIST")
            .decode()
            .await
            .unwrap();
        let known: std::collections::BTreeSet<String> = known
            .iter()
            .map(|n| n.replace('|', " ").to_uppercase())
            .collect();
        for protocol in [2, 3] {
            let client = Client::connect(&format!("{}?protocol={protocol}", server.url()))
                .await
                .unwrap();
            let (mut checked, mut refused) = (0, 0);
            for s in &specs {
                let full = s.full_name();
                let Some(decode) = decoders.get(full.as_str()) else {
                    continue;
                };
                if !known.contains(&full)
                    || SKIP
                        .iter()
                        .any(|k| full == *k || full.starts_with(&format!("{k} ")))
                    || full.starts_with("CLUSTER")
                {
                    continue;
                }
                let Some(schema) = &s.spec.reply_schema else {
                    continue;
                };
                setup(&client, s.spec.group.as_deref().unwrap_or("")).await;
                let argv = synthesize(&full, &s.spec.arguments, false);
                let reply = client.cmd(&argv[0]).args(&argv[1..]).await;
                let v = match reply {
                    Ok(v) => v,
                    Err(_) => {
                        refused += 1;
                        continue;
                    }
                };
                checked += 1;
                if !fits(&v, schema) {
                    failures.push(format!(
                        "{kind:?} RESP{protocol} {argv:?}: {v:?} does not fit {schema}"
                    ));
                } else if let Err(e) = decode(v.clone()) {
                    failures.push(format!(
                        "{kind:?} RESP{protocol} {argv:?}: default type refused {v:?}: {e}"
                    ));
                }
            }
            report.push(format!("{kind:?} RESP{protocol}: {checked} replies checked, {refused} calls refused by the server"));
        }
    }
    for r in &report {
        eprintln!("{r}");
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
