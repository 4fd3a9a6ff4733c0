//! `typedis-codegen`: the generator as a command, for generated code kept in a source
//! tree instead of `OUT_DIR`.
//!
//! ```text
//! typedis-codegen --specs DIR [--specs DIR…] [--spec FILE…] --out FILE
//!                 [--trait NAME] [--lookup-table] [--builder-cases] [--split-groups] [--check]
//! ```
//! `--check` writes nothing and exits with 1 when `FILE` is not what the specs generate.

use std::process::ExitCode;

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("typedis-codegen: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Vec<String>) -> Result<u8, String> {
    let mut config = typedis_codegen::Config::new();
    let (mut out, mut check, mut has_specs) = (None, false, false);
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--specs" => {
                config.spec_dir(value()?);
                has_specs = true;
            }
            "--spec" => {
                config.extra_spec(value()?);
                has_specs = true;
            }
            "--out" => out = Some(std::path::PathBuf::from(value()?)),
            "--trait" => {
                config.trait_name(value()?);
            }
            "--lookup-table" => {
                config.lookup_table(true);
            }
            "--builder-cases" => {
                config.builder_cases(true);
            }
            "--within-typedis" => {
                config.within_typedis(true);
            }
            "--split-groups" => {
                config.split_groups(true);
            }
            "--check" => check = true,
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    let out = out.ok_or("--out FILE is required")?;
    if !has_specs {
        return Err("no specs: pass --specs DIR or --spec FILE".into());
    }
    if check {
        let files = config.generate_files(&out).map_err(|e| e.to_string())?;
        let mut stale = 0;
        for (file, code) in files {
            if std::fs::read_to_string(&file).ok().as_deref() != Some(code.as_str()) {
                eprintln!("{} does not match its specs", file.display());
                stale += 1;
            }
        }
        return Ok(u8::from(stale > 0));
    }
    // Rewrites the file only when its content changes.
    config.generate_to(&out).map_err(|e| e.to_string())?;
    Ok(0)
}
