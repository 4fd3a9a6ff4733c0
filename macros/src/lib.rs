//! Derive macros for storing user types with typedis.
//!
//! - `#[derive(Scalar)]`: a newtype or a field-less enum becomes one Redis value
//!   (`ToArg` + `FromValue`); enums are stored as their variant names.
//! - `#[derive(Record)]`: a struct with named fields becomes a Redis hash or stream
//!   entry (`FromValue` from `HGETALL`/`XRANGE`, `Record::FIELDS` for `HMGET`, and
//!   `(field, value)` pairs for `HSET`/`XADD`).
//!
//! Use them through the `typedis` crate (`typedis::{Scalar, Record}`); the expanded code
//! refers to `::typedis`. Each entry point parses, then validates and expands; errors
//! are collected and reported at the offending attribute or field, never as a panic.

mod attr;
mod record;
mod scalar;

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

/// Stores a newtype or a field-less enum as one Redis value. See the `typedis` docs.
#[proc_macro_derive(Scalar, attributes(typedis))]
pub fn derive_scalar(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    scalar::expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Stores a struct with named fields as a Redis hash or stream entry. See the `typedis` docs.
#[proc_macro_derive(Record, attributes(typedis))]
pub fn derive_record(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    record::expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
