//! RediSearch commands (feature `redis-search`): the generated [`SearchCommands`] (one
//! method per `FT.*` command of `commands/modules/search/`) and, by hand, the FT.CREATE
//! schema ([`Field`]) and the replies a spec cannot type: [`SearchResult`] (FT.SEARCH),
//! [`AggregateResult`] (FT.AGGREGATE, FT.CURSOR READ) and [`SpellCheck`], each decoded from
//! RESP2 and RESP3.
//!
//! ```no_run
//! # async fn f(client: &typedis::Client) -> typedis::Result<()> {
//! use typedis::prelude::*;
//! use typedis::modules::search::{Field, FtCreateDataType, SearchResult};
//!
//! client
//!     .ft_create("books", [
//!         Field::text("title").weight(2.0).sortable(),
//!         Field::numeric("year").sortable(),
//!         Field::tag("genre"),
//!     ])
//!     .on(FtCreateDataType::Hash)
//!     .prefix((1, ["book:"]))
//!     .await?;
//! client.hset("book:1", [("title", "Dune"), ("year", "1965"), ("genre", "sf")]).await?;
//! let found: SearchResult = client.ft_search("books", "@genre:{sf}").withscores().await?;
//! for doc in &found.documents {
//!     println!("{:?} {:?} {:?}", doc.id, doc.score, doc.get("title"));
//! }
//! # Ok(()) }
//! ```
//!
//! RediSearch 2.10 loads into Valkey 9.1 and Redis ≥ 7.1 (not Redis 7.0). Its index name
//! is what the module declares as the key (`COMMAND GETKEYS FT.SEARCH idx …` is `idx`),
//! so `command_keys` and cluster routing use it: in a cluster an index lives on the
//! primary of its name's slot, and the module (without its coordinator) indexes only that
//! node's keys.
//!
//! In RESP2 an FT.SEARCH reply is a flat list whose layout depends on the query's flags:
//! [`SearchResult`] reads the default layout, `WITHSCORES`, all three of `WITHSCORES`,
//! `WITHPAYLOADS` and `WITHSORTKEYS`, and `NOCONTENT`; with only some of those three it
//! needs RESP3 (the client's default on servers that
//! speak it) and refuses what it cannot tell apart rather than guess. `NOCONTENT`
//! together with `WITHSCORES` interleaves ids and scores without a marker: in RESP2,
//! decode that one into [`Value`](crate::Value).

mod results;
mod schema;

pub use self::results::{AggregateResult, Document, SearchResult, SpellCheck};
pub use self::schema::{Field, VectorAlgorithm};

#[allow(missing_docs, clippy::all, deprecated, unused_imports)]
mod generated {
    include!("../../generated/search.rs");
}
pub use generated::*;

super::for_every_handle!(SearchCommands);
