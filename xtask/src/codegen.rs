//! `cargo xtask codegen [--check]`: regenerates the typed command API in
//! `client/src/generated/` from the specs: `commands/` from `commands/*.json` (`mod.rs`
//! with the trait and tables, one file per command group), and one
//! file per module folder of `commands/modules/` (`json.rs`, `search.rs`, `bloom.rs`, each
//! its own trait, compiled behind its cargo feature). The generated files are part of the
//! source tree, so building typedis does not run the generator; the
//! `generated_code_matches_specs` test fails when a file and its specs disagree.

use std::path::{Path, PathBuf};

/// One generated file: its specs, its trait and where it goes.
#[derive(Debug, Clone)]
pub struct Output {
    /// Short name (`commands`, `json`, …).
    pub name: &'static str,
    /// The generator settings.
    pub config: typedis_codegen::Config,
    /// The generated file.
    pub file: PathBuf,
}

/// The module folders under `commands/modules/`: folder (and generated file) name and
/// trait name.
pub const MODULES: &[(&str, &str)] = &[
    ("json", "JsonCommands"),
    ("search", "SearchCommands"),
    ("bloom", "BloomCommands"),
];

/// The generator settings typedis itself is built with: the core commands first, then
/// each module folder into its own file. Each module file has its own lookup table
/// (`COMMANDS`), which `typedis::meta::lookup` consults when the module's feature is on.
pub fn outputs(root: &Path) -> Vec<Output> {
    let mut outputs = vec![Output {
        name: "commands",
        config: config(root),
        file: output(root),
    }];
    for (name, trait_name) in MODULES {
        let mut config = typedis_codegen::Config::new();
        config
            .spec_dir(root.join("commands/modules").join(name))
            .trait_name(*trait_name)
            .lookup_table(true)
            .within_typedis(true);
        outputs.push(Output {
            name,
            config,
            file: root.join(format!("client/src/generated/{name}.rs")),
        });
    }
    outputs
}

/// The generator settings of the core command API.
pub fn config(root: &Path) -> typedis_codegen::Config {
    let mut config = typedis_codegen::Config::new();
    config
        .spec_dir(root.join("commands"))
        .trait_name("Commands")
        .lookup_table(true)
        .builder_cases(true)
        .within_typedis(true)
        .split_groups(true);
    config
}

/// Where the core command API lives.
pub fn output(root: &Path) -> PathBuf {
    root.join("client/src/generated/commands/mod.rs")
}

/// Regenerates the command API; with `--check`, only reports whether it is current.
pub fn main(args: &[String]) -> Result<u8, String> {
    let check = match args {
        [] => false,
        [flag] if flag == "--check" => true,
        _ => {
            return Err(format!(
                "unexpected arguments {args:?}; usage: codegen [--check]"
            ))
        }
    };
    let root = crate::servers::workspace_root();
    if check {
        let mut stale = 0;
        for out in outputs(&root) {
            let files = out
                .config
                .generate_files(&out.file)
                .map_err(|e| e.to_string())?;
            for (file, code) in files {
                if std::fs::read_to_string(&file).ok().as_deref() == Some(code.as_str()) {
                    println!("{} is up to date", file.display());
                } else {
                    eprintln!(
                        "{} does not match its specs: run `cargo xtask codegen`",
                        file.display()
                    );
                    stale += 1;
                }
            }
        }
        return Ok(u8::from(stale > 0));
    }
    regenerate(&root)?;
    Ok(0)
}

/// Regenerates every generated file (rewriting each only when it changes); `regen` and
/// `schemas` call it after changing the specs.
pub fn regenerate(root: &Path) -> Result<(), String> {
    for out in outputs(root) {
        out.config
            .generate_to(&out.file)
            .map_err(|e| e.to_string())?;
        println!("{} is current", out.file.display());
    }
    Ok(())
}
