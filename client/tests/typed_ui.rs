//! Compile-fail tests of the generated API: what the type system must refuse. The
//! expected compiler output is checked in next to each case; regenerate it with
//! `TRYBUILD=overwrite cargo test -p typedis --features blocking --test typed_ui` (the
//! output is the workspace's, where the tests crate turns `blocking` on).

#[test]
fn misuse_of_the_typed_api_does_not_compile() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui-typed/*.rs");
}

/// The connection-state cases name every command the specs mark, on each kind of shared
/// handle, and expect one error for each: a newly marked command without a case fails
/// here rather than going unchecked.
#[test]
fn every_connection_state_command_has_a_compile_fail_case() {
    let marked: Vec<&str> = typedis::commands::COMMANDS
        .iter()
        .filter(|m| m.changes_connection())
        .map(|m| m.name)
        .collect();
    assert!(marked.len() > 25, "{marked:?}");
    let method = |name: &str| {
        typedis::commands::METHODS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, m)| *m)
            .unwrap_or_else(|| panic!("no method for {name}"))
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui-typed");
    for case in ["client", "pipeline", "cluster"] {
        let file = dir.join(format!("connection_state_on_{case}.rs"));
        let source = std::fs::read_to_string(&file).unwrap();
        let stderr = std::fs::read_to_string(file.with_extension("stderr")).unwrap();
        for name in &marked {
            let m = method(name);
            assert!(
                source.contains(&format!(".{m}(")) || source.contains(&format!("::{m}(")),
                "{}: no call of `{m}` ({name})",
                file.display()
            );
        }
        let errors = stderr
            .matches("does not own its connection, and this command changes the state")
            .count();
        assert_eq!(
            errors,
            marked.len(),
            "{}: one error per connection-state command",
            file.display()
        );
        assert!(stderr.contains("client.dedicated().await?"), "{stderr}");
    }
}
