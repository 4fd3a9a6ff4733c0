//! Compile-fail tests of the generated API: what the type system must refuse. The
//! expected compiler output is checked in next to each case; regenerate it with
//! `TRYBUILD=overwrite cargo test -p typedis --test typed_ui`.

#[test]
fn misuse_of_the_typed_api_does_not_compile() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui-typed/*.rs");
}
