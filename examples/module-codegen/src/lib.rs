//! A module's commands as a typed extension trait, generated at build time by
//! `typedis_codegen` from `specs/*.json` (see `build.rs`).
//!
//! ```no_run
//! # async fn f() -> typedis::Result<()> {
//! use typedis::prelude::*;
//! use typedis_example_module_codegen::CounterCommands;
//! let client = typedis::Client::connect("redis://127.0.0.1:6379").await?;
//! let n: i64 = client.counter_incrmax("visits", 1, 100).ex(60).await?;
//! let v: Option<i64> = client.counter_get("visits").await?;
//! # Ok(()) }
//! ```
#![allow(missing_docs)]

include!(concat!(env!("OUT_DIR"), "/counter.rs"));

/// The module's commands on a client…
impl CounterCommands for &typedis::Client {}

/// …and in pipelines.
impl<T> CounterCommands for typedis::pipeline::Pipeline<'_, T> {}
