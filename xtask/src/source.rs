//! Specs from a release's own files (`cargo xtask regen --from-source PATH`), for a server
//! this project cannot run: a Redis or Valkey source tree's `src/commands/*.json` (one
//! command per file), or a module's `commands.json` (one object of many commands, a
//! subcommand named `"CONTAINER SUB"`).
//!
//! The files are turned into what the live server would report for them, so that they
//! merge exactly like a dump (`merge.rs`):
//! - the group `sorted_set` is `sorted-set`; C function names go; argument names are
//!   lower case and tokens upper case, the empty token `"\"\""` is empty, key spec flags
//!   are in the servers' order;
//! - command flags the servers hide from `COMMAND INFO` (`MAY_REPLICATE`, `SENTINEL`,
//!   `ONLY_SENTINEL`, `PROTECTED`, `TOUCHES_ARBITRARY_KEYS`) go, `MOVABLEKEYS` is added
//!   where a key spec is not at a fixed index and range, in the servers' order;
//! - ACL categories get the ones a server adds from the flags (`@write`, `@read`,
//!   `@admin` + `@dangerous`, `@pubsub`, `@fast` or else `@slow`, `@blocking`), in the
//!   servers' order;
//! - commands only a Sentinel has (`ONLY_SENTINEL`) are left out, as a server leaves them;
//! - Valkey reports a `display` for every value argument (its name when the file has none);
//! - an older module file's `"type": "enum", "enum": [words]` is a `oneof` of tokens;
//! - with `--module NAME`, commands are that module's (`"module"`, group `module`, flag
//!   `MODULE`), as a server with the module loaded reports them.
//!
//! The server id (`valkey-9.1.2`) comes from `--server`, else from the tree's
//! `src/version.h`. A file's `reply_schema` is kept for commands the spec directory has
//! no schema for.
//!
//! Owns: reading and normalizing those files. Does not own: merging (`merge.rs`).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value as Json};

use crate::merge::Spec;

/// A release's specs, ready to merge.
#[derive(Debug)]
pub struct Source {
    /// `redis-8.2.1`.
    pub server: String,
    /// One per command and subcommand.
    pub specs: Vec<Spec>,
    /// Fields that have no place in the specs (`file: field`).
    pub ignored: Vec<String>,
}

/// `COMMAND INFO`'s order of command flags (both servers' names for the slow log flag).
const FLAG_ORDER: [&str; 21] = [
    "WRITE",
    "READONLY",
    "DENYOOM",
    "MODULE",
    "ADMIN",
    "PUBSUB",
    "NOSCRIPT",
    "BLOCKING",
    "LOADING",
    "STALE",
    "SKIP_MONITOR",
    "SKIP_SLOWLOG",
    "SKIP_COMMANDLOG",
    "ASKING",
    "FAST",
    "NO_AUTH",
    "NO_MANDATORY_KEYS",
    "NO_ASYNC_LOADING",
    "NO_MULTI",
    "MOVABLEKEYS",
    "ALLOW_BUSY",
];

/// Flags the servers keep to themselves.
const HIDDEN_FLAGS: [&str; 5] = [
    "MAY_REPLICATE",
    "SENTINEL",
    "ONLY_SENTINEL",
    "PROTECTED",
    "TOUCHES_ARBITRARY_KEYS",
];

/// The servers' order of key spec flags.
const KEY_SPEC_FLAG_ORDER: [&str; 11] = [
    "RO",
    "RW",
    "OW",
    "RM",
    "ACCESS",
    "UPDATE",
    "INSERT",
    "DELETE",
    "NOT_KEY",
    "INCOMPLETE",
    "VARIABLE_FLAGS",
];

/// The servers' order of ACL categories.
const ACL_ORDER: [&str; 21] = [
    "KEYSPACE",
    "READ",
    "WRITE",
    "SET",
    "SORTEDSET",
    "LIST",
    "HASH",
    "STRING",
    "BITMAP",
    "HYPERLOGLOG",
    "GEO",
    "STREAM",
    "PUBSUB",
    "ADMIN",
    "FAST",
    "SLOW",
    "BLOCKING",
    "DANGEROUS",
    "CONNECTION",
    "TRANSACTION",
    "SCRIPTING",
];

/// Reads the specs at `path` (a directory of `*.json` files, a release's root with
/// `src/commands/`, or one JSON file of many commands).
pub fn read(path: &Path, server: Option<&str>, module: Option<&str>) -> Result<Source, String> {
    let dir_of_files = if path.join("src/commands").is_dir() {
        Some(path.join("src/commands"))
    } else if path.is_dir() {
        Some(path.to_path_buf())
    } else {
        None
    };
    let files: Vec<PathBuf> = match &dir_of_files {
        Some(dir) => {
            let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
                .map_err(|e| format!("{}: {e}", dir.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect();
            files.sort();
            files
        }
        None => vec![path.to_path_buf()],
    };
    if files.is_empty() {
        return Err(format!("{}: no *.json spec files", path.display()));
    }
    let server = match server {
        Some(s) => s.to_owned(),
        None => server_from_tree(dir_of_files.as_deref().unwrap_or(path)).ok_or_else(|| {
            format!(
                "cannot tell which server {} is from (no version.h next to it): pass --server NAME-VERSION, e.g. --server valkey-9.2.0",
                path.display()
            )
        })?,
    };
    if crate::availability::split_id(&server).1.is_empty() {
        return Err(format!(
            "--server {server}: expected NAME-VERSION, e.g. redis-8.2.1"
        ));
    }
    let family = crate::availability::split_id(&server).0.to_owned();
    let mut source = Source {
        server,
        specs: Vec::new(),
        ignored: Vec::new(),
    };
    for file in &files {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let json: Json =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
        let Json::Object(commands) = json else {
            return Err(format!(
                "{}: expected {{\"NAME\": {{…}}, …}}",
                file.display()
            ));
        };
        let label = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for (name, body) in commands {
            let Json::Object(body) = body else {
                return Err(format!("{}: `{name}` is not an object", file.display()));
            };
            let mut ignored = Vec::new();
            if let Some(spec) = command(&name, &body, &family, module, &mut ignored)
                .map_err(|e| format!("{}: `{name}`: {e}", file.display()))?
            {
                source.specs.push(spec);
            }
            source
                .ignored
                .extend(ignored.into_iter().map(|f| format!("{label}: {name}.{f}")));
        }
    }
    Ok(source)
}

/// `valkey-8.1.0` from `#define VALKEY_VERSION "8.1.0"` (Valkey's version.h also defines
/// the Redis version it is compatible with, so Valkey's is looked for first), or
/// `redis-7.2.4` from `REDIS_VERSION`, in `version.h` beside, above or two above `dir`.
fn server_from_tree(dir: &Path) -> Option<String> {
    let candidates = [
        dir.join("version.h"),
        dir.join("../version.h"),
        dir.join("../../src/version.h"),
    ];
    let text = candidates
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())?;
    let define = |name: &str| {
        text.lines().find_map(|l| {
            let rest = l.trim().strip_prefix("#define")?.trim_start();
            let value = rest.strip_prefix(name)?.trim();
            Some(value.trim_matches('"').to_owned())
        })
    };
    match define("VALKEY_VERSION") {
        Some(v) => Some(format!("valkey-{v}")),
        None => define("REDIS_VERSION").map(|v| format!("redis-{v}")),
    }
}

fn upper_strings(v: Option<&Json>) -> Vec<String> {
    v.and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Json::as_str)
                .map(str::to_uppercase)
                .collect()
        })
        .unwrap_or_default()
}

fn strings(list: Vec<String>) -> Json {
    Json::Array(list.into_iter().map(Json::String).collect())
}

/// Sorts by position in `order`; unknown names keep their order after the known ones.
fn in_order(mut list: Vec<String>, order: &[&str]) -> Vec<String> {
    list.dedup();
    let mut seen = std::collections::BTreeSet::new();
    list.retain(|x| seen.insert(x.clone()));
    list.sort_by_key(|x| order.iter().position(|o| o == x).unwrap_or(order.len()));
    list
}

/// One command of a file, as the live server reports it (`None`: a server leaves it out).
fn command(
    name: &str,
    body: &Map<String, Json>,
    family: &str,
    module: Option<&str>,
    ignored: &mut Vec<String>,
) -> Result<Option<Spec>, String> {
    // `"CLIENT KILL"` in a module's file; `{"KILL": {"container": "CLIENT"}}` in a tree.
    let (container, own) = match (
        body.get("container").and_then(Json::as_str),
        name.rsplit_once(' '),
    ) {
        (Some(c), split) => (
            Some(c.to_owned()),
            split.map_or(name, |(_, own)| own).to_owned(),
        ),
        (None, Some((c, own))) => (Some(c.to_owned()), own.to_owned()),
        (None, None) => (None, name.to_owned()),
    };
    let source_flags = upper_strings(body.get("command_flags"));
    if source_flags.iter().any(|f| f == "ONLY_SENTINEL") {
        return Ok(None);
    }
    const KNOWN: [&str; 20] = [
        "summary",
        "complexity",
        "group",
        "module",
        "since",
        "arity",
        "container",
        "function",
        "get_keys_function",
        "history",
        "deprecated_since",
        "replaced_by",
        "doc_flags",
        "command_flags",
        "acl_categories",
        "command_tips",
        "key_specs",
        "arguments",
        "reply_schema",
        "typedis",
    ];
    for k in body.keys() {
        if !KNOWN.contains(&k.as_str()) {
            ignored.push(k.clone());
        }
    }
    let mut out = Map::new();
    let copy = |out: &mut Map<String, Json>, key: &str| {
        if let Some(v) = body.get(key) {
            out.insert(key.into(), v.clone());
        }
    };
    copy(&mut out, "summary");
    copy(&mut out, "complexity");
    match module {
        Some(m) => {
            out.insert("group".into(), Json::String("module".into()));
            out.insert("module".into(), Json::String(m.into()));
        }
        None => {
            if let Some(g) = body.get("group").and_then(Json::as_str) {
                out.insert("group".into(), Json::String(g.replace('_', "-")));
            }
            copy(&mut out, "module");
        }
    }
    copy(&mut out, "since");
    copy(&mut out, "arity");
    if let Some(c) = &container {
        out.insert("container".into(), Json::String(c.to_uppercase()));
    }
    if body
        .get("history")
        .and_then(Json::as_array)
        .is_some_and(|h| !h.is_empty())
    {
        copy(&mut out, "history");
    }
    copy(&mut out, "deprecated_since");
    copy(&mut out, "replaced_by");
    let doc_flags = upper_strings(body.get("doc_flags"));
    if !doc_flags.is_empty() {
        out.insert("doc_flags".into(), strings(doc_flags));
    }
    let key_specs: Vec<Json> = body
        .get("key_specs")
        .and_then(Json::as_array)
        .map(|ks| ks.iter().map(key_spec).collect())
        .unwrap_or_default();
    // Movable keys as the servers flag them: a key spec that is not at a fixed index
    // and range. (A key-extraction function alone, as SET and BITFIELD have for their
    // key flags, does not make them movable.)
    let movable = key_specs.iter().any(|ks| {
        ks.get("begin_search")
            .and_then(|b| b.get("index"))
            .is_none()
            || ks.get("find_keys").and_then(|f| f.get("range")).is_none()
    });
    let mut flags: Vec<String> = source_flags
        .iter()
        .filter(|f| !HIDDEN_FLAGS.contains(&f.as_str()))
        .cloned()
        .collect();
    if module.is_some() {
        flags.push("MODULE".into());
    }
    if movable {
        flags.push("MOVABLEKEYS".into());
    }
    let flags = in_order(flags, &FLAG_ORDER);
    if !flags.is_empty() {
        out.insert("command_flags".into(), strings(flags));
    }
    out.insert(
        "acl_categories".into(),
        strings(acl_categories(body, &source_flags)),
    );
    let tips = upper_strings(body.get("command_tips"));
    if !tips.is_empty() {
        out.insert("command_tips".into(), strings(tips));
    }
    if !key_specs.is_empty() {
        out.insert("key_specs".into(), Json::Array(key_specs));
    }
    if let Some(args) = body.get("arguments").and_then(Json::as_array) {
        let args: Vec<Json> = args
            .iter()
            .map(|a| argument(a, family, ignored))
            .collect::<Result<_, _>>()?;
        if !args.is_empty() {
            out.insert("arguments".into(), Json::Array(args));
        }
    }
    let full = match &container {
        Some(c) => format!("{c}|{own}"),
        None => own.clone(),
    };
    Ok(Some(Spec {
        file: full.to_lowercase().replace('|', "-"),
        key: own.to_uppercase(),
        body: out,
        reply_schema: body.get("reply_schema").cloned(),
    }))
}

/// The file's categories plus those a server derives from the flags.
fn acl_categories(body: &Map<String, Json>, flags: &[String]) -> Vec<String> {
    let mut acl: Vec<String> = upper_strings(body.get("acl_categories"))
        .into_iter()
        .map(|c| c.trim_start_matches('@').to_owned())
        .collect();
    let has = |f: &str| flags.iter().any(|x| x == f);
    if has("WRITE") {
        acl.push("WRITE".into());
    }
    // Scripting commands are not @read, even when read-only.
    if has("READONLY") && !acl.iter().any(|c| c == "SCRIPTING") {
        acl.push("READ".into());
    }
    if has("ADMIN") {
        acl.push("ADMIN".into());
        acl.push("DANGEROUS".into());
    }
    if has("PUBSUB") {
        acl.push("PUBSUB".into());
    }
    if has("FAST") {
        acl.push("FAST".into());
    }
    if has("BLOCKING") {
        acl.push("BLOCKING".into());
    }
    if !acl.iter().any(|c| c == "FAST") {
        acl.push("SLOW".into());
    }
    in_order(acl, &ACL_ORDER)
}

/// A key spec with upper-case flags in the servers' order; its shape is the specs'
/// already.
fn key_spec(ks: &Json) -> Json {
    let mut ks = ks.clone();
    if let Some(flags) = ks.get_mut("flags") {
        *flags = strings(in_order(upper_strings(Some(flags)), &KEY_SPEC_FLAG_ORDER));
    }
    ks
}

/// One argument in the specs' field order, its flags as booleans.
fn argument(a: &Json, family: &str, ignored: &mut Vec<String>) -> Result<Json, String> {
    let Json::Object(a) = a else {
        return Err("an argument is not an object".into());
    };
    const KNOWN: [&str; 16] = [
        "name",
        "type",
        "enum",
        "key_spec_index",
        "token",
        "display",
        "display_text",
        "summary",
        "since",
        "deprecated_since",
        "optional",
        "multiple",
        "multiple_token",
        "flags",
        "arguments",
        "value",
    ];
    let name = a
        .get("name")
        .and_then(Json::as_str)
        .ok_or("an argument has no name")?;
    for k in a.keys() {
        if !KNOWN.contains(&k.as_str()) {
            ignored.push(format!("arguments.{name}.{k}"));
        }
    }
    let kind = a
        .get("type")
        .and_then(Json::as_str)
        .ok_or_else(|| format!("argument `{name}` has no type"))?;
    // Older module files write a choice of words as `"type": "enum", "enum": [...]`:
    // a oneof of pure tokens.
    let enum_members: Option<Vec<Json>> = (kind == "enum").then(|| {
        upper_strings(a.get("enum"))
            .into_iter()
            .map(|t| {
                let mut m = Map::new();
                m.insert("name".into(), Json::String(t.to_lowercase()));
                m.insert("type".into(), Json::String("pure-token".into()));
                m.insert("token".into(), Json::String(t));
                Json::Object(m)
            })
            .collect()
    });
    let kind = if enum_members.is_some() {
        "oneof"
    } else {
        kind
    };
    // The servers report names in lower case, tokens in upper case, and the token of an
    // empty argument (`""` in the files) as empty.
    let name = name.to_lowercase();
    let name = name.as_str();
    let mut out = Map::new();
    out.insert("name".into(), Json::String(name.into()));
    out.insert("type".into(), Json::String(kind.into()));
    if let Some(i) = a.get("key_spec_index") {
        out.insert("key_spec_index".into(), i.clone());
    }
    if let Some(t) = a.get("token") {
        let t = match t.as_str() {
            Some("\"\"") => Json::String(String::new()),
            Some(t) => Json::String(t.to_uppercase()),
            None => t.clone(),
        };
        out.insert("token".into(), t);
    }
    let display = a.get("display").or_else(|| a.get("display_text"));
    match display {
        Some(d) => {
            out.insert("display".into(), d.clone());
        }
        // Valkey reports every value's display text, its name by default.
        None if family == "valkey" && !matches!(kind, "oneof" | "block") => {
            out.insert("display".into(), Json::String(name.into()));
        }
        None => {}
    }
    for key in ["summary", "since", "deprecated_since"] {
        if let Some(v) = a.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    // Flags are booleans in the files, a list in COMMAND DOCS; both are accepted.
    let listed = upper_strings(a.get("flags"));
    for flag in ["optional", "multiple", "multiple_token"] {
        let set = a.get(flag).and_then(Json::as_bool) == Some(true)
            || listed.iter().any(|f| f.eq_ignore_ascii_case(flag));
        if set {
            out.insert(flag.into(), Json::Bool(true));
        }
    }
    if let Some(kids) = a.get("arguments").and_then(Json::as_array) {
        let kids: Vec<Json> = kids
            .iter()
            .map(|k| argument(k, family, ignored))
            .collect::<Result<_, _>>()?;
        out.insert("arguments".into(), Json::Array(kids));
    } else if let Some(members) = enum_members {
        out.insert("arguments".into(), Json::Array(members));
    }
    Ok(Json::Object(out))
}
