//! A module's commands as a typed extension trait, generated at build time by
//! `typedis_codegen` from the module's spec folder (see `build.rs`): here RedisBloom's
//! (`commands/modules/bloom/`), the way a crate types a module that typedis does not
//! ship, or a newer version of one it does. typedis has these commands itself behind its
//! `redis-bloom` feature; this crate does not turn that on, and gets the same trait from
//! the same specs.
//!
//! ```no_run
//! # async fn f() -> typedis::Result<()> {
//! use typedis::prelude::*;
//! use typedis_example_module_codegen::BloomCommands;
//! let client = typedis::Client::connect("redis://127.0.0.1:6379").await?;
//! client.bf_reserve("seen", 0.01, 1000).await?;
//! let added: bool = client.bf_add("seen", "ann").await?;
//! let known: Vec<bool> = client.bf_mexists("seen", ["ann", "bob"]).await?;
//! # let _ = (added, known); Ok(()) }
//! ```

/// The generated code, with the lints it does not follow allowed here only.
#[allow(missing_docs, clippy::all, deprecated)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/bloom.rs"));
}
pub use generated::*;

/// The module's commands on a client…
impl BloomCommands for &typedis::Client {}

/// …and in pipelines.
impl<T> BloomCommands for typedis::pipeline::Pipeline<'_, T> {}
