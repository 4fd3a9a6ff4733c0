//! `cargo xtask codegen [--check]`: regenerates `client/src/generated/commands.rs` from
//! `commands/*.json`. The generated file is part of the source tree, so building typedis
//! does not run the generator; the `generated_code_matches_specs` test fails when the
//! file and the specs disagree.

use std::path::{Path, PathBuf};

/// The generator settings typedis itself is built with.
pub fn config(root: &Path) -> typedis_codegen::Config {
    let mut config = typedis_codegen::Config::new();
    config
        .spec_dir(root.join("commands"))
        .trait_name("Commands")
        .lookup_table(true);
    config
}

/// Where the generated command API lives.
pub fn output(root: &Path) -> PathBuf {
    root.join("client/src/generated/commands.rs")
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
    let out = output(&root);
    if check {
        let code = config(&root).generate().map_err(|e| e.to_string())?;
        if std::fs::read_to_string(&out).ok().as_deref() == Some(code.as_str()) {
            println!("{} is up to date", out.display());
            return Ok(0);
        }
        eprintln!(
            "{} does not match commands/*.json: run `cargo xtask codegen`",
            out.display()
        );
        return Ok(1);
    }
    regenerate(&root)?;
    Ok(0)
}

/// Regenerates the command API (rewriting the file only when it changes); `regen` and
/// `schemas` call it after changing the specs.
pub fn regenerate(root: &Path) -> Result<(), String> {
    let out = output(root);
    config(root).generate_to(&out).map_err(|e| e.to_string())?;
    println!("{} is current", out.display());
    Ok(())
}
