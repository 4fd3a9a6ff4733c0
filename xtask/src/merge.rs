//! Merging one server's specs into a spec directory: the rules of commands/README.md,
//! whether the specs come from a live dump (`regen --url`) or from a release's own files
//! (`regen --from-source`).
//!
//! - `reply_schema` and the `typedis` object of an existing file survive (a missing
//!   `reply_schema` is filled from the server's files when they have one).
//! - `typedis.servers` lists every merged server that has the command, one per family
//!   (`redis-7.0.15`, `valkey-9.1.2`): a server replaces an older or newer one of its own
//!   family. A command the merged server lacks keeps its file; if that server's family was
//!   listed, it is removed from the list (and the file is deleted once no server is left).
//! - The server-derived fields (summary, arguments, key specs, flags, …) come from the
//!   *preferred* server that has the command: Valkey over Redis over others, then the
//!   newer version. So merging Redis 7.0 after Valkey 9.1 only adds `redis-7.0.15`.
//! - `typedis.since` and `typedis.arguments` say which family has the command since when,
//!   and which arguments not every listed server accepts (`availability.rs`).
//!
//! Owns: spec file reading and writing, the merge and its report. Does not own: where the
//! specs come from (`regen.rs`, `source.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value as Json};

use crate::availability::{self, split_id, Availability, Judge, Support, Tree};

/// A spec ready to be merged: file name (without `.json`), JSON key, body.
#[derive(Debug, Clone)]
pub struct Spec {
    /// `client-kill`.
    pub file: String,
    /// `KILL`.
    pub key: String,
    /// The server-derived fields, in the order the files keep them.
    pub body: Map<String, Json>,
    /// The server's own reply schema, if its files have one (live servers report none).
    pub reply_schema: Option<Json>,
}

/// What a merge changed.
#[derive(Debug, Default)]
pub struct Report {
    /// The merged server, e.g. `valkey-9.1.2`.
    pub server: String,
    /// Commands the spec directory did not have.
    pub new: Vec<String>,
    /// Commands this server no longer has.
    pub removed: Vec<String>,
    /// Commands whose server-derived fields or server data changed.
    pub changed: Vec<String>,
    /// How many were already up to date.
    pub unchanged: usize,
    /// Commands still without a `reply_schema`.
    pub missing_reply_schema: Vec<String>,
    /// Arguments of the preferred specs this server does not accept (`zrank withscore`).
    pub not_accepted: Vec<String>,
    /// Fields of the server's files that have no place in the specs (`file: field`).
    pub ignored: Vec<String>,
}

impl Report {
    /// Whether the merge changed nothing.
    pub fn is_unchanged(&self) -> bool {
        self.new.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }

    /// Prints the summary the `regen` task shows.
    pub fn print(&self) {
        println!(
            "merged {}: {} unchanged, {} new, {} changed, {} removed",
            self.server,
            self.unchanged,
            self.new.len(),
            self.changed.len(),
            self.removed.len()
        );
        for (what, list) in [
            ("new", &self.new),
            ("changed", &self.changed),
            ("removed", &self.removed),
        ] {
            if !list.is_empty() {
                println!("  {what}: {}", list.join(", "));
            }
        }
        if !self.not_accepted.is_empty() {
            println!(
                "  {} arguments of the preferred specs are not accepted by {}: {}",
                self.not_accepted.len(),
                self.server,
                self.not_accepted.join(", ")
            );
        }
        if !self.ignored.is_empty() {
            println!("  ignored fields: {}", self.ignored.join(", "));
        }
        if !self.missing_reply_schema.is_empty() {
            println!(
                "  {} commands still lack a reply_schema: {}",
                self.missing_reply_schema.len(),
                self.missing_reply_schema.join(", ")
            );
        }
    }
}

/// A spec file's JSON key and body.
pub(crate) type SpecFile = (String, Map<String, Json>);

pub(crate) fn read_spec(path: &Path) -> Result<Option<SpecFile>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let v: Json = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let Json::Object(outer) = v else {
        return Err(format!("{}: not a JSON object", path.display()));
    };
    let Some((key, Json::Object(body))) = outer.into_iter().next() else {
        return Err(format!("{}: expected {{\"NAME\": {{…}}}}", path.display()));
    };
    Ok(Some((key, body)))
}

pub(crate) fn write_spec(path: &Path, key: &str, body: &Map<String, Json>) -> Result<(), String> {
    let mut outer = Map::new();
    outer.insert(key.to_owned(), Json::Object(body.clone()));
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    serde::Serialize::serialize(&Json::Object(outer), &mut ser).map_err(|e| e.to_string())?;
    buf.push(b'\n');
    std::fs::write(path, buf).map_err(|e| format!("{}: {e}", path.display()))
}

/// Precedence of a server id for the server-derived fields: Valkey over Redis over
/// others, then the newer version.
fn precedence(id: &str) -> (u8, Vec<u64>) {
    let (family, version) = split_id(id);
    let rank = match family {
        "valkey" => 2,
        "redis" => 1,
        _ => 0,
    };
    (rank, availability::version_key(version))
}

/// The fields that come from the server (everything but ours).
fn server_part(body: &Map<String, Json>) -> Map<String, Json> {
    body.iter()
        .filter(|(k, _)| k.as_str() != "reply_schema" && k.as_str() != "typedis")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn servers_of(body: &Map<String, Json>) -> Vec<String> {
    body.get("typedis")
        .and_then(|t| t.get("servers"))
        .and_then(|s| s.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Family → version of the listed servers.
fn listed(servers: &[String]) -> BTreeMap<String, String> {
    servers
        .iter()
        .map(|s| {
            let (f, v) = split_id(s);
            (f.to_owned(), v.to_owned())
        })
        .collect()
}

/// The family whose tree a file with these servers keeps.
fn tree_family(servers: &[String]) -> String {
    servers
        .iter()
        .max_by_key(|s| precedence(s))
        .map(|s| split_id(s).0.to_owned())
        .unwrap_or_default()
}

fn ext_mut(body: &mut Map<String, Json>) -> &mut Map<String, Json> {
    let ext = body
        .entry("typedis")
        .or_insert_with(|| Json::Object(Map::new()));
    if !ext.is_object() {
        *ext = Json::Object(Map::new());
    }
    match ext {
        Json::Object(m) => m,
        _ => unreachable!("made an object just above"),
    }
}

fn set_servers(body: &mut Map<String, Json>, mut servers: Vec<String>) {
    servers.sort_by_key(|s| precedence(s));
    servers.dedup();
    ext_mut(body).insert("servers".into(), json!(servers));
}

/// Writes `since` and `arguments` into the `typedis` object, right after `servers`
/// (the rest of the object keeps its order).
fn set_availability(
    body: &mut Map<String, Json>,
    since: &Availability,
    arguments: &BTreeMap<String, Availability>,
) {
    let ext = ext_mut(body);
    let old = std::mem::take(ext);
    for (k, v) in old {
        if k == "since" || k == "arguments" {
            continue;
        }
        let is_servers = k == "servers";
        ext.insert(k, v);
        if is_servers {
            ext.insert("since".into(), json!(since));
            if !arguments.is_empty() {
                ext.insert("arguments".into(), json!(arguments));
            }
        }
    }
}

fn since_of(body: &Map<String, Json>) -> Availability {
    body.get("typedis")
        .and_then(|t| t.get("since"))
        .and_then(|s| serde_json::from_value(s.clone()).ok())
        .unwrap_or_default()
}

fn entries_of(body: &Map<String, Json>) -> BTreeMap<String, Availability> {
    body.get("typedis")
        .and_then(|t| t.get("arguments"))
        .and_then(|s| serde_json::from_value(s.clone()).ok())
        .unwrap_or_default()
}

/// Keeps our fields last, in a stable order, after the server's.
fn assemble(
    server: Map<String, Json>,
    old: Option<&Map<String, Json>>,
    servers: Vec<String>,
    reply_schema: Option<&Json>,
) -> Map<String, Json> {
    let mut body = server;
    if let Some(schema) = old.and_then(|o| o.get("reply_schema")).or(reply_schema) {
        body.insert("reply_schema".into(), schema.clone());
    }
    if let Some(ext) = old.and_then(|o| o.get("typedis")) {
        body.insert("typedis".into(), ext.clone());
    }
    set_servers(&mut body, servers);
    body
}

/// Merges one command. Returns the new body and, for an existing file, whether it changed.
fn merge_one(
    old: Option<&Map<String, Json>>,
    spec: &Spec,
    server: &str,
) -> (Map<String, Json>, Option<bool>) {
    let family = split_id(server).0;
    let Some(old) = old else {
        let mut body = assemble(
            spec.body.clone(),
            None,
            vec![server.to_owned()],
            spec.reply_schema.as_ref(),
        );
        let since = availability::command_since(
            (family, spec.body.get("since").and_then(Json::as_str)),
            &Availability::new(),
            &[family],
            family,
            spec.body.get("since").and_then(Json::as_str),
        );
        set_availability(&mut body, &since, &BTreeMap::new());
        return (body, None);
    };
    let old_servers = servers_of(old);
    let had_this = old_servers.iter().any(|s| s == server);
    let mut servers = old_servers.clone();
    servers.retain(|s| split_id(s).0 != family || s == server);
    servers.push(server.to_owned());
    let preferred = old_servers
        .iter()
        .all(|s| precedence(s) <= precedence(server));
    let server_fields = if preferred {
        spec.body.clone()
    } else {
        server_part(old)
    };
    let changed = preferred && server_part(old) != server_fields;
    let mut body = assemble(
        server_fields,
        Some(old),
        servers,
        spec.reply_schema.as_ref(),
    );
    update_availability(&mut body, old, &spec.body, server, preferred);
    let data_changed = old.get("typedis") != body.get("typedis");
    (body, Some(changed || !had_this || data_changed))
}

/// Recomputes `typedis.since` and `typedis.arguments` of `body` (already holding the new
/// tree and servers) after merging `dumped`, the view of `server`, into `old`.
fn update_availability(
    body: &mut Map<String, Json>,
    old: &Map<String, Json>,
    dumped: &Map<String, Json>,
    server: &str,
    preferred: bool,
) {
    let (family, version) = split_id(server);
    let servers = servers_of(body);
    let listed = listed(&servers);
    let old_servers = servers_of(old);
    let old_listed = listed_families(&old_servers);
    let new_family = tree_family(&servers);
    let old_family = tree_family(&old_servers);
    let p = Tree::of(body);
    let o = Tree::of(old);
    let d = Tree::of(dumped);
    let old_entries = entries_of(old);
    let same_tree = body.get("arguments") == old.get("arguments");
    let mut support: BTreeMap<String, Vec<Support>> = BTreeMap::new();
    for (g, listed_version) in &listed {
        let s = if g == family {
            if preferred {
                (0..p.paths().count())
                    .map(|i| Support::From(availability::own_version(&p, i, family, family)))
                    .collect()
            } else {
                let base =
                    |r: usize| Support::From(availability::own_version(&d, r, family, family));
                Judge {
                    p: &p,
                    p_family: &new_family,
                    o: &d,
                    base: &base,
                    family,
                    listed: version,
                }
                .run()
            }
        } else {
            let before = availability::old_support(
                &o,
                &old_entries,
                &old_family,
                g,
                old_listed.contains(g.as_str()),
            );
            if same_tree {
                before
            } else {
                let base = |r: usize| before[r].clone();
                Judge {
                    p: &p,
                    p_family: &new_family,
                    o: &o,
                    base: &base,
                    family: g,
                    listed: listed_version,
                }
                .run()
            }
        };
        support.insert(g.clone(), s);
    }
    let entries = availability::entries(&p, &support, &listed);
    let families: Vec<&str> = listed.keys().map(String::as_str).collect();
    let since = availability::command_since(
        (family, dumped.get("since").and_then(Json::as_str)),
        &since_of(old),
        &families,
        &new_family,
        body.get("since").and_then(Json::as_str),
    );
    set_availability(body, &since, &entries);
}

fn listed_families(servers: &[String]) -> BTreeSet<&str> {
    servers.iter().map(|s| split_id(s).0).collect()
}

/// After a family left `typedis.servers`: its versions go, and entries that no longer
/// make a difference too.
fn drop_family(body: &mut Map<String, Json>, family: &str) {
    let servers = servers_of(body);
    let listed = listed(&servers);
    let tree_family = tree_family(&servers);
    let tree = Tree::of(body);
    let old_entries = entries_of(body);
    let mut support = BTreeMap::new();
    for g in listed.keys() {
        support.insert(
            g.clone(),
            availability::old_support(&tree, &old_entries, &tree_family, g, true),
        );
    }
    let entries = availability::entries(&tree, &support, &listed);
    let mut since = since_of(body);
    since.remove(family);
    set_availability(body, &since, &entries);
}

/// Merges the specs `dumped` of `server` into the directory `out`.
pub fn merge(
    out: &Path,
    server: &str,
    dumped: Vec<Spec>,
    ignored: Vec<String>,
) -> Result<Report, String> {
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut report = Report {
        server: server.to_owned(),
        ignored,
        ..Report::default()
    };
    let mut seen = BTreeSet::new();
    // Containers (CLIENT, CONFIG, …) are not called themselves: they need no schema.
    let containers: BTreeSet<String> = dumped
        .iter()
        .filter_map(|s| {
            s.body
                .get("container")
                .and_then(|c| c.as_str())
                .map(str::to_lowercase)
        })
        .collect();
    let family = split_id(server).0;
    for spec in dumped {
        let path = out.join(format!("{}.json", spec.file));
        if !seen.insert(spec.file.clone()) {
            return Err(format!("{} appears twice in {server}'s specs", spec.key));
        }
        let old = read_spec(&path)?;
        let (body, status) = merge_one(old.as_ref().map(|(_, b)| b), &spec, server);
        match status {
            Some(true) => report.changed.push(spec.file.clone()),
            Some(false) => report.unchanged += 1,
            None => report.new.push(spec.file.clone()),
        }
        if !body.contains_key("reply_schema") && !containers.contains(&spec.file) {
            report.missing_reply_schema.push(spec.file.clone());
        }
        let not_accepted = entries_of(&body)
            .into_iter()
            .filter(|(_, e)| {
                let version = split_id(server).1;
                !Support::from_entry(e, family).accepts(version)
            })
            .map(|(path, _)| format!("{} {}", spec.file, path));
        report.not_accepted.extend(not_accepted);
        if old.as_ref().map(|(_, b)| b) != Some(&body) {
            write_spec(&path, &spec.key, &body)?;
        }
    }
    // Commands this server's family used to have and it no longer does.
    let mut files: Vec<PathBuf> = std::fs::read_dir(out)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    for path in files {
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        if seen.contains(&stem) {
            continue;
        }
        let Some((key, mut body)) = read_spec(&path)? else {
            continue;
        };
        let mut servers = servers_of(&body);
        if let Some(i) = servers.iter().position(|s| split_id(s).0 == family) {
            servers.remove(i);
            report.removed.push(stem.clone());
            if servers.is_empty() {
                std::fs::remove_file(&path).map_err(|e| e.to_string())?;
            } else {
                set_servers(&mut body, servers);
                drop_family(&mut body, family);
                write_spec(&path, &key, &body)?;
            }
        }
    }
    report.missing_reply_schema.sort();
    Ok(report)
}
