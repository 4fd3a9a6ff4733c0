//! The command API shipped in `client/src/generated/` is exactly what the generator makes
//! of the specs: `commands.rs` of `commands/*.json`, and each module's file of its folder
//! in `commands/modules/`.

#[test]
fn generated_code_matches_specs() {
    let root = xtask::servers::workspace_root();
    let outputs = xtask::codegen::outputs(&root);
    assert_eq!(outputs.len(), 1 + xtask::codegen::MODULES.len());
    for out in outputs {
        let expected = out
            .config
            .generate()
            .unwrap_or_else(|e| panic!("the shipped specs of `{}` generate: {e}", out.name));
        let shipped = std::fs::read_to_string(&out.file)
            .unwrap_or_else(|e| panic!("{} exists: {e}", out.file.display()));
        if shipped != expected {
            let line = shipped
                .lines()
                .zip(expected.lines())
                .position(|(a, b)| a != b)
                .unwrap_or_else(|| shipped.lines().count().min(expected.lines().count()));
            panic!(
                "{} differs from the generator's output from line {} on ({} vs {} lines): \
                 run `cargo xtask codegen`",
                out.file.display(),
                line + 1,
                shipped.lines().count(),
                expected.lines().count()
            );
        }
    }
}
