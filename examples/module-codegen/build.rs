//! Generates `CounterCommands` from `specs/*.json` (the format of the server's
//! `COMMAND DOCS`/`INFO`, as `cargo xtask regen` dumps it for a loaded module).

fn main() {
    typedis_codegen::Config::new()
        .spec_dir("specs")
        .trait_name("CounterCommands")
        .generate_to_out_dir("counter.rs")
        .expect("the module's specs are valid");
}
