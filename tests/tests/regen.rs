//! Regenerating the specs from live servers reproduces the shipped files (also from an
//! empty directory, in either order, for what the dumps decide: the servers' fields and
//! the per-server data), and a command the directory lacks is reported as new and
//! written.

mod support;

use std::path::{Path, PathBuf};

use support::{Kind, Server};

fn shipped() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../commands")
}

fn temp_copy(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("typedis-regen-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for e in std::fs::read_dir(shipped()).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "json") {
            std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
        }
    }
    dir
}

fn same_files(a: &Path, b: &Path) -> Vec<String> {
    let mut diffs = Vec::new();
    for e in std::fs::read_dir(a).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let name = p.file_name().unwrap();
        let left: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        let right = std::fs::read(b.join(name))
            .ok()
            .and_then(|t| serde_json::from_slice::<serde_json::Value>(&t).ok());
        if Some(&left) != right.as_ref() {
            diffs.push(name.to_string_lossy().into_owned());
        }
    }
    diffs
}

#[tokio::test]
async fn dumping_the_servers_reproduces_the_shipped_specs() {
    for kind in [Kind::Redis, Kind::Valkey] {
        let server = Server::start(kind);
        let dir = temp_copy(&format!("{kind:?}"));
        let report = xtask::regen::regen(&server.url(), &dir).await.unwrap();
        assert!(report.is_unchanged(), "{kind:?}: {report:?}");
        assert!(report.unchanged > 300, "{kind:?}: {}", report.unchanged);
        assert!(
            report.missing_reply_schema.is_empty(),
            "{:?}",
            report.missing_reply_schema
        );
        let diffs = same_files(&shipped(), &dir);
        assert!(
            diffs.is_empty(),
            "{kind:?}: files differ after regeneration: {diffs:?}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[tokio::test]
async fn a_missing_command_comes_back_as_new() {
    let server = Server::start(Kind::Valkey);
    let dir = temp_copy("new");
    std::fs::remove_file(dir.join("hgetex.json")).unwrap();
    let report = xtask::regen::regen(&server.url(), &dir).await.unwrap();
    assert_eq!(report.new, vec!["hgetex".to_owned()]);
    // It was written again, without our fields (the schema is ours to add)…
    let back: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("hgetex.json")).unwrap()).unwrap();
    assert_eq!(back["HGETEX"]["group"], "hash");
    assert!(back["HGETEX"].get("reply_schema").is_none());
    assert_eq!(report.missing_reply_schema, vec!["hgetex".to_owned()]);
    // …and the generator refuses it until a reply schema is declared, naming the file…
    let refused = typedis_codegen::Config::new()
        .spec_dir(&dir)
        .load()
        .and_then(|specs| typedis_codegen::generate_source(&specs, "Commands", false));
    let message = format!(
        "{:?}",
        refused.expect_err("a spec without a reply schema generates")
    );
    assert!(
        message.contains("hgetex.json") && message.contains("reply_schema"),
        "{message}"
    );
    let mut declared = back.clone();
    declared["HGETEX"]["reply_schema"] = serde_json::json!({});
    std::fs::write(
        dir.join("hgetex.json"),
        serde_json::to_vec_pretty(&declared).unwrap(),
    )
    .unwrap();
    // …then picks it up: a method for the new file.
    let specs = typedis_codegen::Config::new()
        .spec_dir(&dir)
        .load()
        .unwrap();
    let code = typedis_codegen::generate_source(&specs, "Commands", false).unwrap();
    // Its repeatable fields make the method generic over their `ManyArgs` marker.
    assert!(code.contains("fn hgetex(") || code.contains("fn hgetex<M0>("));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A spec without what is ours to write (reply schemas, renames, variants): the server
/// fields and the per-server data only.
fn dumped_part(path: &Path) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let body = v.as_object_mut().unwrap().values_mut().next().unwrap();
    let body = body.as_object_mut().unwrap();
    body.remove("reply_schema");
    if let Some(serde_json::Value::Object(ext)) = body.get_mut("typedis") {
        ext.retain(|k, _| ["servers", "since", "arguments"].contains(&k.as_str()));
    }
    v
}

#[tokio::test]
async fn dumping_into_an_empty_directory_in_either_order_gives_the_shipped_server_data() {
    let redis = Server::start(Kind::Redis);
    let valkey = Server::start(Kind::Valkey);
    for (tag, order) in [
        ("redis-first", [redis.url(), valkey.url()]),
        ("valkey-first", [valkey.url(), redis.url()]),
    ] {
        let dir = std::env::temp_dir().join(format!("typedis-regen-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for url in &order {
            xtask::regen::regen(url, &dir).await.unwrap();
        }
        let mut diffs = Vec::new();
        for e in std::fs::read_dir(shipped()).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_none_or(|x| x != "json") {
                continue;
            }
            let name = p.file_name().unwrap();
            let mine = dir.join(name);
            if !mine.exists() || dumped_part(&p) != dumped_part(&mine) {
                diffs.push(name.to_string_lossy().into_owned());
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            diffs.is_empty(),
            "{tag}: differs from the shipped specs: {diffs:?}"
        );
    }
}

#[tokio::test]
async fn a_rewritten_spec_keeps_its_connection_state_and_dispatch() {
    let server = Server::start(Kind::Valkey);
    let dir = temp_copy("state");
    // Stale server fields make the dumper rewrite the files.
    let edit = |file: &str| {
        let path = dir.join(file);
        let mut spec: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let (_, body) = spec.as_object_mut().unwrap().iter_mut().next().unwrap();
        body["summary"] = "stale".into();
        std::fs::write(&path, serde_json::to_vec_pretty(&spec).unwrap()).unwrap();
    };
    for file in [
        "select.json",
        "client-reply.json",
        "swapdb.json",
        "wait.json",
    ] {
        edit(file);
    }
    let report = xtask::regen::regen(&server.url(), &dir).await.unwrap();
    for (file, key, field) in [
        ("select.json", "SELECT", "connection_state"),
        ("client-reply.json", "REPLY", "connection_state"),
        ("swapdb.json", "SWAPDB", "connection_state"),
        ("wait.json", "WAIT", "dispatch"),
    ] {
        let stem = file.trim_end_matches(".json").to_owned();
        assert!(
            report.changed.contains(&stem),
            "{file} was rewritten: {report:?}"
        );
        let read = |d: &Path| -> serde_json::Value {
            serde_json::from_slice(&std::fs::read(d.join(file)).unwrap()).unwrap()
        };
        let (back, shipped) = (read(&dir), read(&shipped()));
        assert_ne!(
            back[key]["summary"], "stale",
            "{file}: the server's fields came back"
        );
        let state = &back[key]["typedis"][field];
        assert!(state.is_object(), "{file}: {back}");
        assert_eq!(state, &shipped[key]["typedis"][field], "{file}");
    }
    assert_eq!(
        read_state(&dir, "client-reply.json", "REPLY")["reply_modes"]["skip"],
        "skip"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn read_state(dir: &Path, file: &str, key: &str) -> serde_json::Value {
    let spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join(file)).unwrap()).unwrap();
    spec[key]["typedis"]["connection_state"].clone()
}

#[tokio::test]
async fn a_rewritten_spec_keeps_its_flattened_arguments() {
    let server = Server::start(Kind::Valkey);
    let dir = temp_copy("flatten");
    let path = dir.join("bitfield.json");
    let mut spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    spec["BITFIELD"]["summary"] = "stale".into();
    std::fs::write(&path, serde_json::to_vec_pretty(&spec).unwrap()).unwrap();
    let report = xtask::regen::regen(&server.url(), &dir).await.unwrap();
    assert!(
        report.changed.contains(&"bitfield".to_owned()),
        "{report:?}"
    );
    let back: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_ne!(back["BITFIELD"]["summary"], "stale");
    assert_eq!(
        back["BITFIELD"]["typedis"]["flatten"],
        serde_json::json!(["operation"])
    );
    // …and the generator still finds the argument it names.
    let specs = typedis_codegen::Config::new()
        .spec_dir(&dir)
        .load()
        .unwrap();
    let code = typedis_codegen::generate_source(&specs, "Commands", false).unwrap();
    assert!(code.contains("pub fn overflow(mut self, value: BitfieldOverflow)"));
    let _ = std::fs::remove_dir_all(&dir);
}
