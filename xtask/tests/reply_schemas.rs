//! The reply schemas of `commands/`: what `xtask/data/reply_schemas.txt` says (written by
//! `cargo xtask schemas`), one for every command with a method, and a `Value` reply only
//! where that is the intent.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Commands whose reply is any value by design, and why.
const ANY_REPLY: &[(&str, &str)] = &[
    ("EVAL", "what the script returns"),
    ("EVAL_RO", "what the script returns"),
    ("EVALSHA", "what the script returns"),
    ("EVALSHA_RO", "what the script returns"),
    ("FCALL", "what the function returns"),
    ("FCALL_RO", "what the function returns"),
    (
        "EXEC",
        "the queued commands' replies (pipelines decode them)",
    ),
    ("DEBUG", "each subcommand answers differently"),
    ("PFDEBUG", "each subcommand answers differently"),
    ("SUBSCRIBE", "pushes, read by the PubSub runtime"),
    ("PSUBSCRIBE", "pushes, read by the PubSub runtime"),
    ("SSUBSCRIBE", "pushes, read by the PubSub runtime"),
    ("UNSUBSCRIBE", "pushes, read by the PubSub runtime"),
    ("PUNSUBSCRIBE", "pushes, read by the PubSub runtime"),
    ("SUNSUBSCRIBE", "pushes, read by the PubSub runtime"),
    ("SYNC", "the replication stream"),
    ("PSYNC", "the replication stream"),
    ("REPLCONF", "replication's own handshake"),
    ("CLUSTER SYNCSLOTS", "slot migration's own protocol"),
];

fn commands_dir() -> PathBuf {
    xtask::servers::workspace_root().join("commands")
}

#[test]
fn the_specs_hold_what_the_shorthand_says() {
    let dir = std::env::temp_dir().join(format!("typedis-reply-schemas-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for e in std::fs::read_dir(commands_dir()).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "json") {
            std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
        }
    }
    let data = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("data/reply_schemas.txt"),
    )
    .unwrap();
    let changed = xtask::schemas::apply(&data, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        changed,
        Ok(0),
        "commands/ differs from xtask/data/reply_schemas.txt: run `cargo xtask schemas`"
    );
}

#[test]
fn every_command_has_a_schema_and_any_only_where_meant() {
    let specs = typedis_codegen::Config::new()
        .spec_dir(commands_dir())
        .load()
        .unwrap();
    let containers: BTreeSet<String> = specs
        .iter()
        .filter_map(|s| s.spec.container.as_ref().map(|c| c.to_uppercase()))
        .collect();
    let mut missing = Vec::new();
    let mut any = BTreeSet::new();
    for s in &specs {
        let full = s.full_name();
        if containers.contains(&full) && s.spec.arguments.is_empty() {
            continue;
        }
        match &s.spec.reply_schema {
            None => missing.push(full),
            Some(schema) if schema.as_object().is_some_and(|m| m.is_empty()) => {
                any.insert(full);
            }
            Some(_) => {}
        }
    }
    assert!(
        missing.is_empty(),
        "commands without a reply schema: {missing:?}"
    );
    let meant: BTreeSet<String> = ANY_REPLY.iter().map(|(c, _)| (*c).to_owned()).collect();
    assert_eq!(
        any, meant,
        "commands whose reply is `{{}}` (a `Value`): add the reason to ANY_REPLY, or give them a schema"
    );
}
