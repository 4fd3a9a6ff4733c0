//! Golden tests: the code generated for a handful of representative commands (their specs
//! are fixtures in `tests/fixtures/`) is checked in (`tests/golden/*.rs`), so a change to
//! the emitter shows up as a reviewable diff.
//! Rewrite the files with `UPDATE_GOLDEN=1 cargo test -p typedis-codegen --test golden`.

use std::path::Path;

fn check(file: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The inputs are fixtures of their own (copies of specs), so that a regeneration of
    // `commands/` does not rewrite the goldens; only a change of the emitter does.
    let spec =
        typedis_codegen::parse_file(&root.join("tests/fixtures").join(format!("{file}.json")))
            .unwrap();
    let code = typedis_codegen::generate_source(&[spec], "Commands", false).unwrap();
    compare(&root.join("tests/golden").join(format!("{file}.rs")), &code);
}

/// Checks `code` against the golden file (rewrites it with `UPDATE_GOLDEN`).
fn compare(golden: &Path, code: &str) {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
        std::fs::write(golden, code).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(golden)
        .unwrap_or_else(|_| panic!("{} is missing: run with UPDATE_GOLDEN=1", golden.display()));
    assert!(
        expected == code,
        "generated code for {} changed; review and run with UPDATE_GOLDEN=1 to accept:\n{}",
        golden.display(),
        first_difference(&expected, code)
    );
}

fn first_difference(a: &str, b: &str) -> String {
    for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        if x != y {
            return format!("line {}:\n- {x}\n+ {y}", i + 1);
        }
    }
    format!(
        "lengths differ: {} vs {} lines",
        a.lines().count(),
        b.lines().count()
    )
}

#[test]
fn set() {
    check("set");
}

#[test]
fn zadd() {
    check("zadd");
}

#[test]
fn zrange() {
    check("zrange");
}

#[test]
fn xread() {
    check("xread");
}

#[test]
fn client_kill() {
    check("client-kill");
}

#[test]
fn migrate() {
    check("migrate");
}

#[test]
fn client_reply() {
    check("client-reply");
}

fn spec_with_state(state: &str) -> String {
    format!(
        r#"{{"SELECT": {{"arity": 2, "arguments": [{{"name": "index", "type": "integer"}}],
            "reply_schema": {{"const": "OK"}},
            "typedis": {{"connection_state": {state}}}}}}}"#
    )
}

fn generate(text: &str) -> Result<String, typedis_codegen::Error> {
    let spec = typedis_codegen::parse_str(Path::new("select.json"), text)?;
    typedis_codegen::generate_source(&[spec], "Commands", false)
}

#[test]
fn connection_state_commands_are_bound_to_handles_owning_their_connection() {
    let marked = generate(&spec_with_state(
        r#"{"state": "database", "reason": "it moves the connection"}"#,
    ))
    .unwrap();
    assert!(
        marked.contains("Self: ::typedis::exec::OwnsConnection"),
        "{marked}"
    );
    assert!(marked.contains("kind: ::typedis::meta::StateKind::Database"));
    assert!(marked.contains("reason: \"it moves the connection\""));
    assert!(marked.contains("client.dedicated().await?"));
    // A recorded decision that it is harmless: no bound, no state in the tables.
    let harmless = generate(&spec_with_state(
        r#"{"state": "none", "reason": "nobody notices"}"#,
    ))
    .unwrap();
    assert!(!harmless.contains("OwnsConnection"), "{harmless}");
    assert!(!harmless.contains("connection_state:"), "{harmless}");
    assert!(harmless.contains("..::typedis::meta::CommandMeta::DEFAULTS"));
    assert!(harmless.contains("runs on shared connections too: nobody notices"));
    // Without the field, neither.
    let plain = generate(
        r#"{"SELECT": {"arity": 2, "arguments": [{"name": "index", "type": "integer"}], "reply_schema": {}}}"#,
    )
    .unwrap();
    assert!(!plain.contains("OwnsConnection"));
}

#[test]
fn malformed_connection_states_name_the_file_and_path() {
    let cases = [
        (
            r#"{"state": "databse", "reason": "r"}"#,
            "typedis.connection_state.state",
            "databse",
        ),
        (
            r#"{"state": "database"}"#,
            "typedis.connection_state",
            "reason",
        ),
        (
            r#"{"state": "database", "reason": " "}"#,
            "typedis.connection_state.reason",
            "say why",
        ),
        (
            r#"{"state": "reply_mode", "reason": "r", "reply_modes": {"index": "off"}}"#,
            "typedis.connection_state.reply_modes.index",
            "pure-token",
        ),
        (
            r#"{"state": "database", "reason": "r", "reply_modes": {"index": "off"}}"#,
            "typedis.connection_state.reply_modes",
            "reply_mode",
        ),
        (
            r#"{"state": "eviction", "reason": "r", "undo": ["OFF"], "survives_reset": true}"#,
            "typedis.connection_state.undo",
            "survive",
        ),
        (
            r#"{"state": "database", "reason": "r", "scope": "shared"}"#,
            "typedis.connection_state",
            "scope",
        ),
    ];
    for (state, path, needle) in cases {
        let err = generate(&spec_with_state(state)).unwrap_err().to_string();
        assert!(err.contains("select.json"), "{err}");
        assert!(err.contains(path), "{state}: {err}");
        assert!(err.contains(needle), "{state}: {err}");
    }
}

#[test]
fn malformed_specs_name_the_file_and_path() {
    let err = typedis_codegen::parse_str(
        Path::new("bad.json"),
        r#"{"GET": {"arity": 2, "arguments": [{"name": "key", "type": "key", "optionl": true}]}}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("bad.json"), "{err}");
    assert!(err.contains("arguments[0]"), "{err}");
    assert!(err.contains("optionl"), "{err}");
    let err = typedis_codegen::parse_str(
        Path::new("t.json"),
        r#"{"GET": {"arguments": [{"name": "k", "type": "kee"}]}}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("kee"), "{err}");
}

#[test]
fn bitfield() {
    check("bitfield");
}

#[test]
fn flatten_names_an_optional_repeatable_argument() {
    let spec = |flatten: &str| {
        format!(
            r#"{{"OPS": {{"arity": -2, "arguments": [
                {{"name": "key", "type": "key"}},
                {{"name": "mode", "type": "pure-token", "token": "M", "optional": true}},
                {{"name": "op", "type": "oneof", "optional": true, "multiple": true, "arguments": [
                    {{"name": "get", "type": "block", "token": "GET", "arguments": [
                        {{"name": "offset", "type": "integer"}}]}},
                    {{"name": "put", "type": "block", "token": "PUT", "arguments": [
                        {{"name": "offset", "type": "integer"}},
                        {{"name": "value", "type": "string"}}]}}]}}],
            "reply_schema": {{}}, "typedis": {{"flatten": ["{flatten}"]}}}}}}"#
        )
    };
    let code = |text: &str| {
        let spec = typedis_codegen::parse_str(Path::new("ops.json"), text)?;
        typedis_codegen::generate_source(&[spec], "Commands", false)
    };
    let ok = code(&spec("op")).unwrap();
    assert!(ok.contains("pub fn get(mut self, offset: i64)"), "{ok}");
    assert!(
        ok.contains("pub fn put(mut self, offset: i64, value: impl ::typedis::ToArg)"),
        "{ok}"
    );
    assert!(ok.contains("self.rest.append(1)"), "{ok}");
    for wrong in ["mode", "key", "nothing"] {
        let e = code(&spec(wrong)).unwrap_err().to_string();
        assert!(
            e.contains("typedis.flatten[0]") && e.contains(wrong),
            "{wrong}: {e}"
        );
    }
}

#[test]
fn a_reply_without_a_schema_or_with_one_it_cannot_map_names_the_file_and_path() {
    let spec = |reply: &str| {
        format!(
            r#"{{"GET": {{"arity": 2, "arguments": [{{"name": "key", "type": "key"}}]{reply}}}}}"#
        )
    };
    let err = generate_named("get.json", &spec(""))
        .unwrap_err()
        .to_string();
    assert!(err.contains("get.json"), "{err}");
    assert!(err.contains("reply_schema"), "{err}");
    assert!(err.contains("no reply schema"), "{err}");
    // Fields without a record type are no `Value` either.
    let err = generate_named(
        "get.json",
        &spec(r#", "reply_schema": {"type": "object", "properties": {"a": {"type": "integer"}}}"#),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("get.json") && err.contains("reply_schema"),
        "{err}"
    );
    let err = generate_named(
        "get.json",
        &spec(r#", "reply_schema": {}, "typedis": {"reply_type": "Vec<"}"#),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("typedis.reply_type") && err.contains("not a Rust type"),
        "{err}"
    );
    // A declared `Value` is one.
    let ok = generate_named("get.json", &spec(r#", "reply_schema": {}"#)).unwrap();
    assert!(ok.contains("R = ::typedis::Value"), "{ok}");
}

#[test]
fn an_unknown_command_flag_names_the_file_and_path() {
    let spec = |flags: &str| {
        format!(
            r#"{{"GET": {{"arity": 2, "command_flags": [{flags}], "arguments": [{{"name": "key", "type": "key"}}], "reply_schema": {{}}}}}}"#
        )
    };
    let err = generate_named("get.json", &spec(r#""readonly", "teleport""#))
        .unwrap_err()
        .to_string();
    assert!(err.contains("get.json"), "{err}");
    assert!(err.contains("command_flags[1]"), "{err}");
    assert!(err.contains("teleport"), "{err}");
    // Valkey's name of the slow log flag is the same flag.
    let ok = generate_named("get.json", &spec(r#""readonly", "skip_commandlog""#)).unwrap();
    assert!(ok.contains("flags::SKIP_SLOWLOG"), "{ok}");
}

fn generate_named(name: &str, text: &str) -> Result<String, typedis_codegen::Error> {
    let spec = typedis_codegen::parse_str(Path::new(name), text)?;
    typedis_codegen::generate_source(&[spec], "Commands", false)
}

/// The split output (`split_groups`, typedis' own): the umbrella trait and tables in
/// `mod.rs`, and per group its trait, then each command's metadata and builder.
#[test]
fn split_groups() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut config = typedis_codegen::Config::new();
    for f in ["set", "zadd", "zrange"] {
        config.extra_spec(root.join("tests/fixtures").join(format!("{f}.json")));
    }
    config
        .lookup_table(true)
        .within_typedis(true)
        .split_groups(true);
    let dir = root.join("tests/golden/split");
    let files = config.generate_files(&dir.join("mod.rs")).unwrap();
    let names: Vec<String> = files
        .iter()
        .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["mod.rs", "sorted_set.rs", "string.rs"]);
    let (_, sorted_set) = &files[1];
    assert!(sorted_set.contains("pub trait SortedSetCommands: ::typedis::__private::Sink {"));
    assert!(sorted_set.contains("impl<S: ::typedis::__private::Sink> SortedSetCommands for S {}"));
    // The trait comes first, then its commands in its order.
    let at = |s: &str| sorted_set.find(s).unwrap();
    assert!(at("fn zadd<M0>(") < at("fn zrange(") && at("fn zrange(") < at("pub struct Zadd<"));
    assert!(at("pub struct Zadd<") < at("pub struct Zrange<"));
    assert!(files[0]
        .1
        .contains("pub trait Commands: SortedSetCommands + StringCommands {}"));
    for (path, code) in &files {
        compare(path, code);
    }
}
