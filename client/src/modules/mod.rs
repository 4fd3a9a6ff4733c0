//! Typed commands of server modules, each behind its cargo feature: RedisJSON
//! (`json`, feature `redis-json`), RediSearch (`search`, `redis-search`) and RedisBloom
//! (`bloom`, `redis-bloom`: Bloom and Cuckoo filters, Count-Min sketches, Top-K,
//! t-digest).
//!
//! Each module is generated like the core commands, from its own spec folder
//! (`commands/modules/<module>/`) into its own file and trait (`JsonCommands`,
//! `SearchCommands`, `BloomCommands`): one builder and one method per command, with key
//! specs for cluster routing and reply types from the specs' reply schemas. Every handle
//! that has the core [`Commands`](crate::commands::Commands) has them too (`&Client`,
//! pipelines and transactions, `&ClusterClient`, `cluster.on(…)`, WATCH sessions,
//! dedicated connections), and
//! the prelude brings the traits of the enabled modules into scope. What a spec alone
//! cannot type is written here by hand: serde values for JSON documents
//! (`json::JsonValueCommands`), the FT.CREATE schema (`search::Field`), FT.SEARCH and
//! FT.AGGREGATE results in RESP2 and RESP3 (`search::SearchResult`).
//!
//! This module owns those types and the lookup of the modules' command tables
//! ([`TABLES`], which [`command_keys`](crate::command_keys) consults). It does not load
//! modules into servers, and sends nothing on its own: module commands go through the
//! same runtime as every other command.

use crate::error::{Error, Result};
use crate::meta::CommandMeta;
use crate::value::{FromValue, Value};

#[cfg(feature = "redis-bloom")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis-bloom")))]
pub mod bloom;
#[cfg(feature = "redis-json")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis-json")))]
pub mod json;
#[cfg(feature = "redis-search")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis-search")))]
pub mod search;

/// The command tables (sorted by name) of the modules compiled in, searched after the
/// core commands' by [`crate::meta::lookup`].
pub static TABLES: &[&[&CommandMeta]] = &[
    #[cfg(feature = "redis-json")]
    json::COMMANDS,
    #[cfg(feature = "redis-search")]
    search::COMMANDS,
    #[cfg(feature = "redis-bloom")]
    bloom::COMMANDS,
];

/// Implements a generated module trait for everything that has the core `Commands`.
#[allow(unused_macros)]
macro_rules! for_every_handle {
    ($trait:ident) => {
        impl<S: crate::__private::Sink> $trait for S {}
    };
}
#[allow(unused_imports)]
pub(crate) use for_every_handle;

/// One value that a module may wrap: in a one-element array (RESP2) or a one-entry map
/// (RESP3), as `BF.INFO key CAPACITY` answers, or bare.
///
/// ```
/// use typedis::modules::Single;
/// use typedis::{FromValue, Value};
/// let resp2 = Value::Array(vec![Value::Int(100)]);
/// let resp3 = Value::Map(vec![(Value::SimpleString("Capacity".into()), Value::Int(100))]);
/// assert_eq!(Single::<i64>::from_value(resp2).unwrap().0, 100);
/// assert_eq!(Single::<i64>::from_value(resp3).unwrap().0, 100);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Single<T>(pub T);

impl<T: FromValue> FromValue for Single<T> {
    fn from_value(value: Value) -> Result<Self> {
        match value.into_result()? {
            Value::Array(mut items) if items.len() == 1 => items.pop().map(T::from_value),
            Value::Map(mut pairs) if pairs.len() == 1 => pairs.pop().map(|(_, v)| T::from_value(v)),
            v @ (Value::Array(_) | Value::Map(_)) => {
                return Err(Error::decode(
                    "one value (in a one-element array or map)",
                    v.kind_name(),
                ))
            }
            other => Some(T::from_value(other)),
        }
        .unwrap_or_else(|| Err(Error::decode("one value", "nothing")))
        .map(Single)
    }
}
