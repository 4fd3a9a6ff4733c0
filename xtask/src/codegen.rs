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
    let code = config(&root).generate().map_err(|e| e.to_string())?;
    let current = std::fs::read_to_string(&out).unwrap_or_default();
    if current == code {
        println!("{} is up to date", out.display());
        return Ok(0);
    }
    if check {
        eprintln!(
            "{} does not match commands/*.json: run `cargo xtask codegen`",
            out.display()
        );
        return Ok(1);
    }
    write(&out, &code)?;
    println!("wrote {} ({} lines)", out.display(), code.lines().count());
    Ok(0)
}

/// Regenerates the command API after the specs changed (used by `regen`).
pub fn regenerate(root: &Path) -> Result<(), String> {
    let code = config(root).generate().map_err(|e| e.to_string())?;
    let out = output(root);
    if std::fs::read_to_string(&out).ok().as_deref() != Some(code.as_str()) {
        write(&out, &code)?;
        println!("wrote {}", out.display());
    }
    Ok(())
}

fn write(path: &Path, code: &str) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(path, code).map_err(|e| format!("{}: {e}", path.display()))
}
