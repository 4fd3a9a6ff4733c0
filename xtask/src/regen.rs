//! `cargo xtask regen`: one server's command specs merged into `commands/` (or `--out DIR`),
//! one JSON file per command and subcommand in the format of the Redis/Valkey source
//! trees' `src/commands/*.json`.
//!
//! - `--url redis://HOST:PORT`: dumped from a live server (`COMMAND DOCS` + `COMMAND
//!   INFO`, converted here);
//! - `--from-source PATH`: read from a release's own files, a `src/commands/` tree or a
//!   module's `commands.json` (`source.rs`), for servers this project cannot run.
//!
//! Either way the specs are merged by the same rules (`merge.rs`, commands/README.md);
//! `--check` merges into a temporary copy and exits 1 when anything would change.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value as Json};
use typedis::{Client, Value};

pub use crate::merge::{Report, Spec};

/// Where the specs come from.
enum Input {
    Url(String),
    Source {
        path: PathBuf,
        server: Option<String>,
        module: Option<String>,
    },
}

struct Options {
    input: Input,
    out: PathBuf,
    check: bool,
}

const USAGE: &str = "expected --url URL | --from-source PATH [--server NAME-VERSION] [--module NAME], then [--out DIR] [--check]";

fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut url = None;
    let mut source = None;
    let mut server = None;
    let mut module = None;
    let mut out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../commands");
    let mut check = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |what: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{a} needs {what}"))
        };
        match a.as_str() {
            "--url" => url = Some(value("a URL")?),
            "--from-source" => source = Some(PathBuf::from(value("a directory or file")?)),
            "--server" => server = Some(value("a server id such as redis-8.2.1")?),
            "--module" => module = Some(value("a module name")?),
            "--out" => out = PathBuf::from(value("a directory")?),
            "--check" => check = true,
            other => return Err(format!("unknown argument {other:?} ({USAGE})")),
        }
    }
    let input = match (url, source) {
        (Some(url), None) if server.is_none() && module.is_none() => Input::Url(url),
        (Some(_), None) => {
            return Err(
                "--server and --module go with --from-source; a live server names itself".into(),
            )
        }
        (None, Some(path)) => Input::Source {
            path,
            server,
            module,
        },
        _ => {
            return Err(format!(
                "one of --url and --from-source is required ({USAGE})"
            ))
        }
    };
    Ok(Options { input, out, check })
}

/// The `cargo xtask` entry of this task.
pub fn main(args: &[String]) -> Result<u8, String> {
    let opts = parse_args(args)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let run = |out: &Path| -> Result<Report, String> {
        match &opts.input {
            Input::Url(url) => rt.block_on(regen(url, out)),
            Input::Source {
                path,
                server,
                module,
            } => regen_from_source(path, server.as_deref(), module.as_deref(), out),
        }
    };
    if opts.check {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let tmp = std::env::temp_dir().join(format!(
            "typedis-regen-check-{}-{nanos}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&tmp);
        copy_dir(&opts.out, &tmp)?;
        let report = run(&tmp);
        let _ = std::fs::remove_dir_all(&tmp);
        let report = report?;
        report.print();
        return Ok(if report.is_unchanged() { 0 } else { 1 });
    }
    let report = run(&opts.out)?;
    report.print();
    regenerate_if_shipped(&opts.out)?;
    Ok(0)
}

/// After the shipped specs changed, the shipped command API follows.
fn regenerate_if_shipped(dir: &Path) -> Result<(), String> {
    let root = crate::servers::workspace_root();
    let shipped = root.join("commands");
    if dir.canonicalize().ok() == shipped.canonicalize().ok() {
        crate::codegen::regenerate(&root)?;
    }
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| e.to_string())?;
    if !from.exists() {
        return Ok(());
    }
    for entry in std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))? {
        let p = entry.map_err(|e| e.to_string())?.path();
        if p.extension().is_some_and(|e| e == "json") {
            std::fs::copy(&p, to.join(p.file_name().unwrap_or_default()))
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// Merges a release's own spec files (a `src/commands/` directory, or a module's
/// `commands.json`) into `out`; `server` names it (`redis-8.2.1`) when the tree's
/// `version.h` cannot, `module` marks the commands as that module's.
pub fn regen_from_source(
    path: &Path,
    server: Option<&str>,
    module: Option<&str>,
    out: &Path,
) -> Result<Report, String> {
    let source = crate::source::read(path, server, module)?;
    crate::merge::merge(out, &source.server, source.specs, source.ignored)
}

/// Dumps the server at `url` into `out`, merging with what is there.
pub async fn regen(url: &str, out: &Path) -> Result<Report, String> {
    let client = Client::connect(url)
        .await
        .map_err(|e| format!("connecting to {url}: {e}"))?;
    let server = server_id(&client).await?;
    let docs: Value = client
        .cmd("COMMAND")
        .arg("DOCS")
        .await
        .map_err(|e| e.to_string())?;
    let info: Value = client
        .cmd("COMMAND")
        .arg("INFO")
        .await
        .map_err(|e| e.to_string())?;
    let dumped = build_specs(docs, info)?;
    crate::merge::merge(out, &server, dumped, Vec::new())
}

async fn server_id(client: &Client) -> Result<String, String> {
    let text: String = client
        .cmd("INFO")
        .arg("server")
        .decode()
        .await
        .map_err(|e| e.to_string())?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':')))
            .map(|v| v.trim().to_owned())
    };
    Ok(match field("valkey_version") {
        Some(v) => format!("valkey-{v}"),
        None => format!(
            "redis-{}",
            field("redis_version").ok_or("INFO server has no version")?
        ),
    })
}

// ---------------------------------------------------------------- value helpers

fn text(v: &Value) -> Option<String> {
    match v {
        Value::Bulk(b) | Value::SimpleString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::Verbatim { text, .. } => Some(String::from_utf8_lossy(text).into_owned()),
        Value::Int(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Map entries from a RESP3 map or a RESP2 flat array.
fn entries(v: &Value) -> Vec<(String, &Value)> {
    match v {
        Value::Map(pairs) => pairs
            .iter()
            .filter_map(|(k, v)| Some((text(k)?, v)))
            .collect(),
        Value::Array(items) => items
            .chunks(2)
            .filter_map(|c| match c {
                [k, v] => Some((text(k)?, v)),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn items(v: &Value) -> &[Value] {
    match v {
        Value::Array(i) | Value::Set(i) => i,
        _ => &[],
    }
}

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(n) => Some(*n),
        other => text(other)?.parse().ok(),
    }
}

fn upper_list(v: &Value, strip_at: bool) -> Vec<Json> {
    items(v)
        .iter()
        .filter_map(text)
        .map(|s| {
            let s = if strip_at {
                s.trim_start_matches('@').to_owned()
            } else {
                s
            };
            Json::String(s.to_uppercase())
        })
        .collect()
}

// ---------------------------------------------------------------- conversion

fn build_specs(docs: Value, info: Value) -> Result<Vec<Spec>, String> {
    // COMMAND INFO by name, subcommands included.
    let mut infos: BTreeMap<String, &Value> = BTreeMap::new();
    fn collect<'a>(infos: &mut BTreeMap<String, &'a Value>, list: &'a [Value]) {
        for entry in list {
            let fields = items(entry);
            if let Some(name) = fields.first().and_then(text) {
                infos.insert(name.to_lowercase(), entry);
                if let Some(subs) = fields.get(9) {
                    collect(infos, items(subs));
                }
            }
        }
    }
    collect(&mut infos, items(&info));
    let mut specs = Vec::new();
    for (name, doc) in entries(&docs) {
        add_spec(&mut specs, &name, doc, None, &infos)?;
    }
    Ok(specs)
}

fn add_spec(
    specs: &mut Vec<Spec>,
    full_name: &str,
    doc: &Value,
    container: Option<&str>,
    infos: &BTreeMap<String, &Value>,
) -> Result<(), String> {
    let full_name = full_name.to_lowercase();
    let own = full_name
        .rsplit('|')
        .next()
        .unwrap_or(&full_name)
        .to_uppercase();
    let doc: BTreeMap<String, &Value> = entries(doc).into_iter().collect();
    let info = infos.get(&full_name).map(|v| items(v));
    let mut body = Map::new();
    let put_text = |body: &mut Map<String, Json>, key: &str, from: &str| {
        if let Some(v) = doc.get(from).and_then(|v| text(v)) {
            body.insert(key.into(), Json::String(v));
        }
    };
    put_text(&mut body, "summary", "summary");
    put_text(&mut body, "complexity", "complexity");
    put_text(&mut body, "group", "group");
    put_text(&mut body, "module", "module");
    put_text(&mut body, "since", "since");
    if let Some(arity) = info.and_then(|i| i.get(1)).and_then(int) {
        body.insert("arity".into(), json!(arity));
    }
    if let Some(c) = container {
        body.insert("container".into(), Json::String(c.to_uppercase()));
    }
    if let Some(h) = doc.get("history") {
        let hist: Vec<Json> = items(h)
            .iter()
            .map(|e| Json::Array(items(e).iter().filter_map(text).map(Json::String).collect()))
            .collect();
        if !hist.is_empty() {
            body.insert("history".into(), Json::Array(hist));
        }
    }
    put_text(&mut body, "deprecated_since", "deprecated_since");
    put_text(&mut body, "replaced_by", "replaced_by");
    if let Some(f) = doc.get("doc_flags") {
        let flags = upper_list(f, false);
        if !flags.is_empty() {
            body.insert("doc_flags".into(), Json::Array(flags));
        }
    }
    if let Some(info) = info {
        let flags = info
            .get(2)
            .map(|f| upper_list(f, false))
            .unwrap_or_default();
        if !flags.is_empty() {
            body.insert("command_flags".into(), Json::Array(flags));
        }
        let acl = info.get(6).map(|f| upper_list(f, true)).unwrap_or_default();
        if !acl.is_empty() {
            body.insert("acl_categories".into(), Json::Array(acl));
        }
        let tips = info
            .get(7)
            .map(|f| upper_list(f, false))
            .unwrap_or_default();
        if !tips.is_empty() {
            body.insert("command_tips".into(), Json::Array(tips));
        }
        let key_specs: Vec<Json> = info
            .get(8)
            .map(items)
            .unwrap_or_default()
            .iter()
            .map(key_spec)
            .collect();
        if !key_specs.is_empty() {
            body.insert("key_specs".into(), Json::Array(key_specs));
        }
    }
    if let Some(args) = doc.get("arguments") {
        let args: Vec<Json> = items(args).iter().map(argument).collect();
        if !args.is_empty() {
            body.insert("arguments".into(), Json::Array(args));
        }
    }
    let file = full_name.replace('|', "-");
    specs.push(Spec {
        file,
        key: own,
        body,
        reply_schema: None,
    });
    if let Some(subs) = doc.get("subcommands") {
        for (sub, sub_doc) in entries(subs) {
            add_spec(specs, &sub, sub_doc, Some(&full_name), infos)?;
        }
    }
    Ok(())
}

/// COMMAND INFO key spec → source-tree shape.
fn key_spec(v: &Value) -> Json {
    let m: BTreeMap<String, &Value> = entries(v).into_iter().collect();
    let mut out = Map::new();
    if let Some(n) = m.get("notes").and_then(|v| text(v)) {
        out.insert("notes".into(), Json::String(n));
    }
    if let Some(f) = m.get("flags") {
        out.insert("flags".into(), Json::Array(upper_list(f, false)));
    }
    let typed = |v: Option<&&Value>| -> (String, BTreeMap<String, i64>, BTreeMap<String, String>) {
        let m: BTreeMap<String, &Value> = v
            .map(|v| entries(v))
            .unwrap_or_default()
            .into_iter()
            .collect();
        let kind = m.get("type").and_then(|v| text(v)).unwrap_or_default();
        let spec: Vec<(String, &Value)> = m.get("spec").map(|v| entries(v)).unwrap_or_default();
        let ints = spec
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), int(v)?)))
            .collect();
        let texts = spec
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), text(v)?)))
            .collect();
        (kind, ints, texts)
    };
    let (kind, ints, texts) = typed(m.get("begin_search"));
    let bs = match kind.as_str() {
        "index" => json!({"index": {"pos": ints.get("index").copied().unwrap_or(0)}}),
        "keyword" => json!({"keyword": {
            "keyword": texts.get("keyword").cloned().unwrap_or_default(),
            "startfrom": ints.get("startfrom").copied().unwrap_or(0)
        }}),
        _ => json!({"unknown": null}),
    };
    out.insert("begin_search".into(), bs);
    let (kind, ints, _) = typed(m.get("find_keys"));
    let fk = match kind.as_str() {
        "range" => json!({"range": {
            "lastkey": ints.get("lastkey").copied().unwrap_or(0),
            "step": ints.get("keystep").copied().unwrap_or(1),
            "limit": ints.get("limit").copied().unwrap_or(0)
        }}),
        "keynum" => json!({"keynum": {
            "keynumidx": ints.get("keynumidx").copied().unwrap_or(0),
            "firstkey": ints.get("firstkey").copied().unwrap_or(1),
            "step": ints.get("keystep").copied().unwrap_or(1)
        }}),
        _ => json!({"unknown": null}),
    };
    out.insert("find_keys".into(), fk);
    Json::Object(out)
}

/// COMMAND DOCS argument → source-tree shape.
fn argument(v: &Value) -> Json {
    let m: BTreeMap<String, &Value> = entries(v).into_iter().collect();
    let mut out = Map::new();
    for (key, from) in [("name", "name"), ("type", "type")] {
        if let Some(t) = m.get(from).and_then(|v| text(v)) {
            out.insert(key.into(), Json::String(t));
        }
    }
    if let Some(i) = m.get("key_spec_index").and_then(|v| int(v)) {
        out.insert("key_spec_index".into(), json!(i));
    }
    for (key, from) in [
        ("token", "token"),
        ("display", "display_text"),
        ("summary", "summary"),
        ("since", "since"),
        ("deprecated_since", "deprecated_since"),
    ] {
        if let Some(t) = m.get(from).and_then(|v| text(v)) {
            out.insert(key.into(), Json::String(t));
        }
    }
    if let Some(flags) = m.get("flags") {
        for f in items(flags).iter().filter_map(text) {
            out.insert(f.to_lowercase(), Json::Bool(true));
        }
    }
    if let Some(args) = m.get("arguments") {
        out.insert(
            "arguments".into(),
            Json::Array(items(args).iter().map(argument).collect()),
        );
    }
    Json::Object(out)
}
