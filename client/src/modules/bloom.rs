//! RedisBloom commands (feature `redis-bloom`): the generated [`BloomCommands`], one
//! method per command of `commands/modules/bloom/`: Bloom filters (`BF.*`), Cuckoo
//! filters (`CF.*`), Count-Min sketches (`CMS.*`), Top-K (`TOPK.*`) and t-digest
//! (`TDIGEST.*`). Membership replies are `bool`s and vectors of them in RESP2 and RESP3
//! alike, counts `i64`s, estimates `f64`s, and the `*.INFO` replies maps by field name.
//!
//! ```no_run
//! # async fn f(client: &typedis::Client) -> typedis::Result<()> {
//! use typedis::prelude::*;
//! client.bf_reserve("seen", 0.01, 10_000).await?;
//! let added: bool = client.bf_add("seen", "ann").await?;
//! let known: Vec<bool> = client.bf_mexists("seen", ["ann", "bob"]).await?;
//! client.tdigest_create("latency").await?;
//! client.tdigest_add("latency", [1.5, 2.0, 9.0]).await?;
//! let p99: Vec<f64> = client.tdigest_quantile("latency", [0.99]).await?;
//! # let _ = (added, known, p99); Ok(()) }
//! ```
//!
//! In a cluster, `CMS.MERGE` and `TDIGEST.MERGE` are routed by their destination key (the
//! module declares only that one): give the source keys the same hash tag.

#[allow(missing_docs, clippy::all, deprecated, unused_imports)]
mod generated {
    include!("../generated/bloom.rs");
}
pub use generated::*;

super::for_every_handle!(BloomCommands);
