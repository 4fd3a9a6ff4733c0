//! Developer tasks for typedis: `cargo xtask <task>`.
//!
//! - `tour`: runs the tour example against `REDIS_URL`, or a throwaway server it starts
//!   (fetching valkey-server into `target/servers/` when no server binary is found).
//! - `test [cargo test args…]`: installs the test servers when missing, then runs the
//!   whole test suite against them.
//! - `servers`: only installs the servers (and the module libraries) and prints where
//!   they are.
//! - `regen --url redis://…  [--out commands/] [--check]`: dumps a live server's command
//!   specs into `commands/` (see commands/README.md); `regen --from-source PATH
//!   [--server NAME-VERSION] [--module NAME]` merges a release's own spec files instead.
//! - `codegen [--check]`: regenerates `client/src/generated/` (the core commands and one
//!   file per module folder of `commands/modules/`) from the specs.
//! - `schemas`: writes the reply schemas of `xtask/data/reply_schemas.txt` into the specs.

use xtask::{codegen, regen, schemas, servers, tour};

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (task, rest) = match args.split_first() {
        Some((t, rest)) => (t.as_str(), rest),
        None => ("help", &[][..]),
    };
    let result = match task {
        "tour" => tour::main(rest),
        "test" => servers::test(rest),
        "servers" => servers::install().map(|s| {
            println!("redis-server:  {}", s.redis.display());
            println!("valkey-server: {}", s.valkey.display());
            println!("modules:       {}", s.modules.display());
            0
        }),
        "regen" => regen::main(rest),
        "codegen" => codegen::main(rest),
        "schemas" => schemas::main(rest),
        _ => {
            eprintln!(
                "usage: cargo xtask <task>\n\n  tour               run the tour against REDIS_URL or a throwaway server (fetched if need be)\n  test [args]        install test servers if missing, run the whole test suite\n  servers            install the test servers (redis-server 7.0, valkey-server 9.1) and modules\n  regen --url URL    dump a live server's command specs into commands/ (--out DIR, --check)\n  regen --from-source PATH [--server NAME-VERSION] [--module NAME]\n                     merge a release's src/commands/*.json or a module's commands.json instead\n  codegen [--check]  regenerate client/src/generated/ from commands/ and commands/modules/\n  schemas            write xtask/data/reply_schemas.txt into commands/"
            );
            Ok(if task == "help" { 0 } else { 2 })
        }
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("xtask {task}: {e}");
            ExitCode::from(1)
        }
    }
}
