//! The command API shipped in `client/src/generated/commands.rs` is exactly what the
//! generator makes of `commands/*.json`.

#[test]
fn generated_code_matches_specs() {
    let root = xtask::servers::workspace_root();
    let expected = xtask::codegen::config(&root)
        .generate()
        .expect("the shipped specs generate");
    let shipped = std::fs::read_to_string(xtask::codegen::output(&root))
        .expect("client/src/generated/commands.rs exists");
    if shipped != expected {
        let line = shipped
            .lines()
            .zip(expected.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| shipped.lines().count().min(expected.lines().count()));
        panic!(
            "client/src/generated/commands.rs differs from the generator's output from line {} \
             on ({} vs {} lines): run `cargo xtask codegen`",
            line + 1,
            shipped.lines().count(),
            expected.lines().count()
        );
    }
}
