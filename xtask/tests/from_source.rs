//! `cargo xtask regen --from-source`: a release's own spec files (the fixtures under
//! `tests/fixtures/`, written for these tests) merge like a live dump: the same shape of
//! spec, the same servers list and preferred server, our fields kept, and per-server
//! differences recorded the same in either order. No server is needed.

use std::path::{Path, PathBuf};

use serde_json::{json, Value as Json};

/// The specs with `{}` (a reply of any shape) declared where a fixture has no reply
/// schema, as a maintainer does after a merge lists them.
fn declare_any_reply(mut specs: Vec<typedis_codegen::SpecFile>) -> Vec<typedis_codegen::SpecFile> {
    for s in &mut specs {
        if s.spec.reply_schema.is_none() {
            s.spec.reply_schema = Some(json!({}));
        }
    }
    specs
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A fresh, empty directory under the system's temp dir (removed on drop).
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("typedis-from-source-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    /// A copy of a fixture directory of specs.
    fn copy_of(tag: &str, from: &Path) -> TempDir {
        let dir = TempDir::new(tag);
        for e in std::fs::read_dir(from).unwrap() {
            let p = e.unwrap().path();
            std::fs::copy(&p, dir.0.join(p.file_name().unwrap())).unwrap();
        }
        dir
    }

    fn spec(&self, file: &str) -> Json {
        let text = std::fs::read_to_string(self.0.join(format!("{file}.json")))
            .unwrap_or_else(|e| panic!("{file}.json: {e}"));
        let v: Json = serde_json::from_str(&text).unwrap();
        let (_, body) = v.as_object().unwrap().iter().next().unwrap();
        body.clone()
    }

    fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn merge(source: &str, out: &TempDir) -> xtask::regen::Report {
    xtask::regen::regen_from_source(&fixture(source), None, None, &out.0)
        .unwrap_or_else(|e| panic!("{source}: {e}"))
}

#[test]
fn a_release_tree_reads_as_its_server_reports_it() {
    let out = TempDir::new("tree");
    let report = merge("valkey", &out);
    assert_eq!(report.server, "valkey-9.9.1", "named by its version.h");
    assert_eq!(
        out.files(),
        [
            "fixc-run.json",
            "fixc.json",
            "fixnew.json",
            "fixset.json",
            "fixz.json"
        ],
        "a Sentinel-only command is left out, a subcommand is named after its container"
    );
    let set = out.spec("fixset");
    assert_eq!(set["group"], "string");
    assert!(set.get("function").is_none(), "C function names go");
    assert_eq!(
        set["command_flags"],
        json!(["WRITE", "DENYOOM"]),
        "hidden flags go, COMMAND INFO's order"
    );
    assert_eq!(
        set["acl_categories"],
        json!(["WRITE", "STRING", "SLOW"]),
        "implied categories"
    );
    assert_eq!(
        set["arguments"][0]["display"], "key",
        "Valkey reports a value's name as display"
    );
    assert!(
        set["arguments"][2].get("display").is_none(),
        "but not a group's"
    );
    assert_eq!(set["arguments"][2]["arguments"][1]["display"], "new-value");
    assert_eq!(
        set["reply_schema"]["const"], "OK",
        "a new command takes the release's own reply schema"
    );
    assert_eq!(set["typedis"]["servers"], json!(["valkey-9.9.1"]));
    assert_eq!(
        set["typedis"]["since"],
        json!({"redis": "1.0.0", "valkey": null})
    );
    let z = out.spec("fixz");
    assert_eq!(z["group"], "sorted-set");
    assert_eq!(z["acl_categories"], json!(["READ", "SORTEDSET", "FAST"]));
    let run = out.spec("fixc-run");
    assert_eq!(run["container"], "FIXC");
    assert_eq!(
        run["command_flags"],
        json!(["ADMIN", "NOSCRIPT", "MOVABLEKEYS"]),
        "movable keys from the key-extraction function"
    );
    assert_eq!(run["acl_categories"], json!(["ADMIN", "SLOW", "DANGEROUS"]));
    assert_eq!(run["command_tips"], json!(["REQUEST_POLICY:ALL_SHARDS"]));
    assert_eq!(run["key_specs"][0]["flags"], json!(["RO"]));
    assert_eq!(
        out.spec("fixnew")["typedis"]["since"],
        json!({"valkey": "9.9.0"})
    );
    assert!(report.missing_reply_schema.contains(&"fixz".to_owned()));
    assert!(
        !report.missing_reply_schema.contains(&"fixc".to_owned()),
        "containers need none"
    );
    // The result is a spec directory for the generator, which refuses a command without
    // a reply schema (naming it) until one is declared.
    let specs = typedis_codegen::Config::new()
        .spec_dir(&out.0)
        .load()
        .unwrap();
    let err = typedis_codegen::generate_source(&specs, "Commands", false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("reply_schema"), "{err}");
    let specs = declare_any_reply(specs);
    let code = typedis_codegen::generate_source(&specs, "Commands", false).unwrap();
    // A repeatable argument makes the method generic over its `ManyArgs` marker.
    assert!(code.contains("fn fixc_run(") || code.contains("fn fixc_run<M0>("));
    // Merging the same release again changes nothing.
    let again = merge("valkey", &out);
    assert!(again.is_unchanged(), "{again:?}");
    assert_eq!(again.unchanged, 5);
}

#[test]
fn two_releases_merge_to_the_same_specs_in_either_order() {
    let a = TempDir::new("redis-first");
    merge("redis", &a);
    merge("valkey", &a);
    let b = TempDir::new("valkey-first");
    merge("valkey", &b);
    let report = merge("redis", &b);
    assert_eq!(report.server, "redis-7.0.15");
    assert_eq!(a.files(), b.files());
    for f in a.files() {
        let f = f.trim_end_matches(".json");
        assert_eq!(a.spec(f), b.spec(f), "{f} depends on the order");
    }
    // The preferred server's tree, both servers listed.
    let set = a.spec("fixset");
    assert_eq!(
        set["typedis"]["servers"],
        json!(["redis-7.0.15", "valkey-9.9.1"])
    );
    assert_eq!(set["arguments"][2]["name"], "condition");
    // What Redis lacks: found by token through Valkey's regrouping (NX is accepted),
    // IFNEW is not, and the history dates it as Valkey's.
    assert_eq!(
        set["typedis"]["arguments"],
        json!({"condition/ifnew": {"valkey": "9.9.0"}})
    );
    assert_eq!(
        a.spec("fixz")["typedis"]["arguments"],
        json!({"withscore": {"redis": "7.2.0", "valkey": null}}),
        "Redis 7.2 added it (shared history), so every Valkey has it"
    );
    assert!(a.spec("fixc-run")["typedis"].get("arguments").is_none());
    assert_eq!(
        a.spec("fixnew")["typedis"]["servers"],
        json!(["valkey-9.9.1"])
    );
    assert!(
        report
            .not_accepted
            .iter()
            .any(|n| n == "fixset condition/ifnew"),
        "{:?}",
        report.not_accepted
    );
    // The generated docs and the error note say so.
    let specs = typedis_codegen::Config::new()
        .spec_dir(&a.0)
        .load()
        .unwrap();
    let specs = declare_any_reply(specs);
    let code = typedis_codegen::generate_source(&specs, "Commands", false).unwrap();
    assert!(
        code.contains("`IFNEW new-value` — Valkey ≥ 9.9; not Redis 7.0.15"),
        "{code}"
    );
    assert!(
        code.contains("FIXSET `IFNEW new-value` is accepted by Valkey ≥ 9.9; not by Redis 7.0.15")
    );
    assert!(code.contains("`WITHSCORE` — Redis ≥ 7.2 · Valkey; not Redis 7.0.15"));
    assert!(code.contains("/// | `FIXNEW` | (command) | — | ≥ 9.9 |"));
    assert!(code.contains("/// | `FIXZ` | `WITHSCORE` | ≥ 7.2 | ✓ |"));
    assert!(code.contains("/// - Servers: Redis ≥ 2.0 · Valkey"));
    assert!(code.contains("/// - Servers: Valkey ≥ 9.9\n"));
}

#[test]
fn merging_keeps_our_fields_and_follows_the_servers_list() {
    let out = TempDir::copy_of("existing", &fixture("existing"));
    let report = merge("valkey", &out);
    let set = out.spec("fixset");
    assert_eq!(
        set["summary"], "Sets a value (a fixture).",
        "the newer release's fields"
    );
    assert_eq!(
        set["reply_schema"],
        json!({"const": "OK"}),
        "our schema, not the release's"
    );
    assert_eq!(
        set["typedis"]["servers"],
        json!(["valkey-9.9.1"]),
        "one release per family"
    );
    assert_eq!(set["typedis"]["reply_variants"][0]["when"], json!(["get"]));
    assert_eq!(
        set["typedis"]["connection_state"], "a field this version of the dumper does not know",
        "the whole typedis object survives"
    );
    assert!(report.changed.contains(&"fixset".to_owned()));
    // The release no longer has FIXGONE: Redis still does; FIXGONE2 had only Valkey.
    assert_eq!(report.removed, ["fixgone", "fixgone2"]);
    let gone = out.spec("fixgone");
    assert_eq!(gone["typedis"]["servers"], json!(["redis-7.0.15"]));
    assert_eq!(gone["reply_schema"], json!({"const": "OK"}));
    assert!(!out.files().contains(&"fixgone2.json".to_owned()));
}

#[test]
fn a_modules_commands_json_merges_under_its_name() {
    let out = TempDir::new("module");
    let file = fixture("module/commands.json");
    let err = xtask::regen::regen_from_source(&file, None, Some("fixmod"), &out.0).unwrap_err();
    assert!(err.contains("--server"), "{err}");
    let err = xtask::regen::regen_from_source(&file, Some("fixmod"), None, &out.0).unwrap_err();
    assert!(err.contains("NAME-VERSION"), "{err}");
    let report =
        xtask::regen::regen_from_source(&file, Some("fixmod-1.2.0"), Some("fixmod"), &out.0)
            .unwrap();
    assert_eq!(out.files(), ["fixmod.add.json", "fixmod.config-get.json"]);
    assert_eq!(report.ignored, ["commands.json: FIXMOD.ADD.doc_url"]);
    let add = out.spec("fixmod.add");
    assert_eq!(add["module"], "fixmod");
    assert_eq!(add["group"], "module");
    assert_eq!(add["command_flags"], json!(["MODULE"]));
    assert_eq!(
        add["arguments"][1]["display"], "cap",
        "display_text is display"
    );
    assert_eq!(
        add["arguments"][1]["optional"], true,
        "flags lists are booleans"
    );
    assert_eq!(add["typedis"]["since"], json!({"fixmod": "1.2.0"}));
    let get = out.spec("fixmod.config-get");
    assert_eq!(get["container"], "FIXMOD.CONFIG");
    let text = std::fs::read_to_string(out.0.join("fixmod.config-get.json")).unwrap();
    assert!(text.starts_with("{\n    \"GET\": {"), "{text}");
    let specs = typedis_codegen::Config::new()
        .spec_dir(&out.0)
        .load()
        .unwrap();
    let specs = declare_any_reply(specs);
    let code = typedis_codegen::generate_source(&specs, "FixmodCommands", false).unwrap();
    assert!(code.contains("fn fixmod_config_get("), "{code}");
    assert!(code.contains("pub fn nx(mut self)"), "{code}");
    assert!(
        !code.contains("server_differences"),
        "one server family: no table"
    );
}

#[test]
fn check_reports_changes_and_writes_nothing() {
    let out = TempDir::new("check");
    let source = fixture("valkey").to_string_lossy().into_owned();
    let dir = out.0.to_string_lossy().into_owned();
    let args = |extra: &[&str]| -> Vec<String> {
        ["--from-source", &source, "--out", &dir]
            .iter()
            .chain(extra)
            .map(|s| s.to_string())
            .collect()
    };
    assert_eq!(xtask::regen::main(&args(&["--check"])).unwrap(), 1);
    assert!(out.files().is_empty(), "--check wrote into the directory");
    assert_eq!(xtask::regen::main(&args(&[])).unwrap(), 0);
    assert_eq!(xtask::regen::main(&args(&["--check"])).unwrap(), 0);
    let both = ["--url", "redis://127.0.0.1:1", "--from-source", "x"].map(String::from);
    assert!(xtask::regen::main(&both).is_err());
    let stray = ["--url", "redis://127.0.0.1:1", "--server", "redis-1.0.0"].map(String::from);
    assert!(xtask::regen::main(&stray)
        .unwrap_err()
        .contains("--from-source"));
}
