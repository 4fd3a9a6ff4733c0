//! The command API shipped in `client/src/generated/` is exactly what the generator makes
//! of the specs: `commands/` (one file per command group) of `commands/*.json`, and each module's file of its folder
//! in `commands/modules/`.

#[test]
fn generated_code_matches_specs() {
    let root = xtask::servers::workspace_root();
    let outputs = xtask::codegen::outputs(&root);
    assert_eq!(outputs.len(), 1 + xtask::codegen::MODULES.len());
    for out in outputs {
        let files = out
            .config
            .generate_files(&out.file)
            .unwrap_or_else(|e| panic!("the shipped specs of `{}` generate: {e}", out.name));
        if let Some(dir) = out.file.parent().filter(|_| files.len() > 1) {
            // No group file is left of a group that is gone.
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                assert!(
                    files.iter().any(|(f, _)| *f == p),
                    "{} is no longer generated: run `cargo xtask codegen`",
                    p.display()
                );
            }
        }
        for (file, expected) in files {
            let shipped = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("{} exists: {e}", file.display()));
            if shipped != expected {
                let line = shipped
                    .lines()
                    .zip(expected.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or_else(|| shipped.lines().count().min(expected.lines().count()));
                panic!(
                    "{} differs from the generator's output from line {} on ({} vs {} lines): \
                 run `cargo xtask codegen`",
                    file.display(),
                    line + 1,
                    shipped.lines().count(),
                    expected.lines().count()
                );
            }
        }
    }
}
