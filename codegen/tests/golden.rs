//! Golden tests: the code generated for a handful of representative commands is checked
//! in (`tests/golden/*.rs`), so a change to the emitter shows up as a reviewable diff.
//! Rewrite the files with `UPDATE_GOLDEN=1 cargo test -p typedis-codegen --test golden`.

use std::path::Path;

fn check(file: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let spec = typedis_codegen::parse_file(&root.join("../commands").join(format!("{file}.json")))
        .unwrap();
    let code = typedis_codegen::generate_source(&[spec], "Commands", false).unwrap();
    let golden = root.join("tests/golden").join(format!("{file}.rs"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &code).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&golden)
        .unwrap_or_else(|_| panic!("{} is missing: run with UPDATE_GOLDEN=1", golden.display()));
    assert!(
        expected == code,
        "generated code for {file} changed; review and run with UPDATE_GOLDEN=1 to accept:\n{}",
        first_difference(&expected, &code)
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
