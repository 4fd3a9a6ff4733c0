//! Build script: generates the typed command API from ../commands.
fn main() {}
