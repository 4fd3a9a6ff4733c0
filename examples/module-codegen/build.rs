//! Generates `BloomCommands` from a module's spec folder: RedisBloom's, as typedis ships
//! it in `commands/modules/bloom/` (the format of `commands/*.json`: the syntax, key
//! specs and reply schemas of each command). A crate of yours would keep its module's
//! folder next to this file and name it here.

fn main() {
    typedis_codegen::Config::new()
        .spec_dir("../../commands/modules/bloom")
        .trait_name("BloomCommands")
        .generate_to_out_dir("bloom.rs")
        .expect("the module's specs are valid");
}
