//! Compile-fail tests for `#[derive(Scalar)]` and `#[derive(Record)]`: each misuse is a
//! compile error at the offending span, with the message checked in next to the case.
//! Regenerate the expected output with `TRYBUILD=overwrite cargo test --test derive_ui`.

#[test]
fn derive_misuse_is_a_compile_error() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui-derive/*.rs");
}
