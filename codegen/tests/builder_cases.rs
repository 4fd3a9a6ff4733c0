//! The builder cases (`BUILDER_CASES`): one per optional argument and alternative, with
//! what the spec says a case needs (`typedis.requires`, `typedis.samples`), and a clear
//! error for a hint that names no argument.

use std::path::{Path, PathBuf};

fn spec(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(format!("{name}.json"))
}

fn generate(files: &[PathBuf]) -> Result<String, typedis_codegen::Error> {
    let mut config = typedis_codegen::Config::new();
    for f in files {
        config.extra_spec(f);
    }
    config.lookup_table(true).builder_cases(true).generate()
}

/// The text of the case `label` of `command`: from its entry to the next one.
fn case<'a>(code: &'a str, command: &str, label: &str) -> &'a str {
    let table = &code[code.find("BUILDER_CASES").expect("the table")..];
    let at = table
        .find(&format!("\"{command}\",\n        \"{label}\","))
        .unwrap_or_else(|| panic!("no case {command} [{label}]"));
    let rest = &table[at + 1..];
    let end = rest
        .find(&format!("\"{command}\",\n"))
        .unwrap_or(rest.len());
    &rest[..end]
}

#[test]
fn every_optional_argument_and_alternative_has_a_case() {
    let code = generate(&[spec("zrange")]).unwrap();
    for label in [
        "",
        "sortby",
        "sortby/byscore",
        "sortby/bylex",
        "rev",
        "limit",
        "withscores",
    ] {
        case(&code, "ZRANGE", label);
    }
    let minimal = case(&code, "ZRANGE", "");
    assert!(minimal.contains("Zrange::new("), "{minimal}");
    assert!(!minimal.contains(".limit("), "{minimal}");
    // Keys under the case's own prefix; samples from the spec.
    assert!(minimal.contains("\"{ZRANGE|}:key\""), "{minimal}");
    assert!(minimal.contains("\"0\""), "{minimal}");
    // `samples.limit.with`: LIMIT needs BYSCORE or BYLEX.
    let limit = case(&code, "ZRANGE", "limit");
    assert!(
        limit.contains(".byscore()") && limit.contains(".limit("),
        "{limit}"
    );
    assert!(!case(&code, "ZRANGE", "rev").contains(".byscore()"));
}

#[test]
fn an_alternative_gets_what_it_requires() {
    let code = generate(&[spec("geosearch")]).unwrap();
    // BY… is a required choice: a parameter. BYRADIUS (the first alternative) carries
    // the FROM… it needs; BYPOLYGON does not take it.
    let minimal = case(&code, "GEOSEARCH", "");
    assert!(
        minimal.contains("GeosearchBy::Circle {")
            && minimal.contains("from: GeosearchFrom::Member("),
        "{minimal}"
    );
    let lonlat = case(&code, "GEOSEARCH", "from/fromlonlat");
    assert!(lonlat.contains("from: GeosearchFrom::LonLat {"), "{lonlat}");
    let polygon = case(&code, "GEOSEARCH", "by/polygon");
    assert!(!polygon.contains("GeosearchFrom"), "{polygon}");
    assert!(polygon.contains("GeosearchBy::Polygon("), "{polygon}");
    assert!(polygon.contains("(2f64, 2f64)"), "{polygon}");
    // FROM… has no setter of its own, and nothing is left to check before sending.
    assert!(!code.contains("pub fn frommember("), "{code}");
    assert!(!code.contains("needs its `from` argument"));
    assert!(code.contains("pub fn new(sink: S, key: impl ::typedis::ToArg, by: GeosearchBy)"));
}

#[test]
fn a_sample_for_no_argument_is_an_error() {
    let dir = std::env::temp_dir().join(format!("typedis-builder-cases-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("ping.json");
    std::fs::write(
        &file,
        r#"{"PING": {"arity": -1, "arguments": [{"name": "message", "type": "string", "optional": true}],
            "reply_schema": {}, "typedis": {"samples": {"msg": {"value": "hi"}}}}}"#,
    )
    .unwrap();
    let err = generate(std::slice::from_ref(&file))
        .unwrap_err()
        .to_string();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(err.contains("typedis.samples.msg"), "{err}");
    assert!(err.contains("no argument has this path"), "{err}");
}

/// Writes one spec file into a directory of its own and generates from it.
fn generate_one(name: &str, text: &str) -> Result<String, typedis_codegen::Error> {
    let dir = std::env::temp_dir().join(format!("typedis-names-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{name}.json"));
    std::fs::write(&file, text).unwrap();
    let out = generate(std::slice::from_ref(&file));
    std::fs::remove_dir_all(&dir).unwrap();
    out
}

#[test]
fn a_setter_named_after_a_keyword_needs_a_name() {
    let spec = |names: &str| {
        format!(
            r#"{{"FLUSHALL": {{"arity": -1, "arguments": [{{"name": "flush-type", "type": "oneof", "optional": true,
                "arguments": [{{"name": "async", "type": "pure-token", "token": "ASYNC"}},
                              {{"name": "sync", "type": "pure-token", "token": "SYNC"}}]}}],
                "reply_schema": {{}}, "typedis": {{{names}}}}}}}"#
        )
    };
    let err = generate_one("flushall", &spec("")).unwrap_err().to_string();
    assert!(err.contains("typedis.names"), "{err}");
    assert!(err.contains("async_"), "{err}");
    let code = generate_one(
        "flushall",
        &spec(r#""names": {"flush-type/async": "asynchronous"}"#),
    )
    .unwrap();
    assert!(code.contains("pub fn asynchronous(mut self)"), "{code}");
    let err = generate_one("flushall", &spec(r#""names": {"flush-type/nope": "x"}"#))
        .unwrap_err()
        .to_string();
    assert!(err.contains("typedis.names.flush-type/nope"), "{err}");
}

#[test]
fn names_that_repeat_themselves_are_avoided() {
    let code = generate(&[spec("client-list"), spec("georadius"), spec("xinfo-stream")]).unwrap();
    for good in [
        "pub fn not_type_normal(mut self)",
        "pub fn normal(mut self)",
        "pub fn count(mut self, count: i64)",
        "pub fn count_any(mut self, count: i64)",
        "pub fn full(mut self)",
        "pub fn full_count(",
    ] {
        assert!(code.contains(good), "missing {good}");
    }
    for bad in ["normal_normal", "count_block", "full_block"] {
        assert!(!code.contains(&format!("pub fn {bad}")), "still {bad}");
    }
}
