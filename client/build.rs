//! Build script: generates the typed command API from `../commands/*.json` into
//! `$OUT_DIR/commands.rs` (included by `src/commands.rs`).

fn main() {
    let specs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../commands");
    if let Err(e) = typedis_codegen::Config::new()
        .spec_dir(&specs)
        .trait_name("Commands")
        .lookup_table(true)
        .generate_to_out_dir("commands.rs")
    {
        // A malformed spec is a build error that names the file and the JSON path.
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
