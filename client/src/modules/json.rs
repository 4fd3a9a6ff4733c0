//! RedisJSON commands (feature `redis-json`): the generated [`JsonCommands`] (one method per
//! `JSON.*` command of `commands/modules/json/`) and, by hand, serde documents
//! ([`JsonValueCommands`]) and the replies whose shape differs between RESP2 and RESP3
//! ([`JsonNumbers`], [`JsonTypes`]).
//!
//! Paths are JSONPath (`$`, `$.a`, `$..name`): a command answers with one entry per
//! match, so the reply types are vectors (`Vec<Option<i64>>` for `JSON.STRLEN`: `None`
//! where a match is not a string). The typed methods therefore take the path as a
//! required argument wherever the module's reply depends on it (the module also accepts
//! the older `.a` paths, which answer with a single value: decode those with
//! `.decode::<T>()`).
//!
//! ```no_run
//! # async fn f(client: &typedis::Client) -> typedis::Result<()> {
//! use serde::{Deserialize, Serialize};
//! use typedis::prelude::*;
//! use typedis::Json;
//!
//! #[derive(Serialize, Deserialize)]
//! struct User { name: String, visits: u32 }
//!
//! client.json_set("user:1", "$", &User { name: "ann".into(), visits: 1 }).await?;
//! let lengths: Vec<Option<i64>> = client.json_strlen("user:1", "$.name").await?;
//! client.json_numincrby("user:1", "$.visits", 1.0).await?;
//! let Some(Json(names)) = client.json_get::<String>("user:1", "$.name").await? else {
//!     return Ok(()); // no such key
//! };
//! let user: Option<Json<User>> = client.json_get_doc("user:1").await?;
//! # let _ = (lengths, names, user); Ok(()) }
//! ```
//!
//! Values that are JSON text in the module's syntax (`JSON.ARRAPPEND`'s values,
//! `JSON.ARRINDEX`'s value, …) take any [`ToArg`]: pass
//! [`Json(&value)`](crate::Json) to serialize a serde value.
//!
//! In a cluster, `JSON.MGET` is routed by its first key (the module declares only that
//! one, and a key of another node reads as missing there): give its keys one hash tag
//! (`{user}:1`, `{user}:2`). `JSON.MSET` declares all its keys, which must then share a
//! slot like those of `MSET`.

use bytes::Bytes;
use serde::{de::DeserializeOwned, Serialize};

use crate::error::{Error, Result};
use crate::json::Json;
use crate::private::Sink;
use crate::value::{FromValue, ToArg, Value};

#[allow(missing_docs, clippy::all, deprecated, unused_imports)]
mod generated {
    include!("../generated/json.rs");
}
pub use generated::*;

super::for_every_handle!(JsonCommands);

/// serde values for RedisJSON documents, on every handle with [`JsonCommands`]; in the
/// prelude with the feature `redis-json`. See the [module docs](self).
pub trait JsonValueCommands: JsonCommands {
    /// `JSON.SET key path value`, the value serialized with serde; `true` when set (the
    /// builder's `.nx()` / `.xx()` make it `false` when the condition fails).
    fn json_set<T: Serialize + ?Sized>(
        self,
        key: impl ToArg,
        path: impl ToArg,
        value: &T,
    ) -> <Self as Sink>::Output<JsonSet<Self>> {
        <Self as Sink>::wrap(JsonSet::new(self, key, path, Json(value)))
    }

    /// `JSON.GET key path` for a JSONPath (`$…`): every match, deserialized into `T`;
    /// `None` when there is no such key.
    #[allow(clippy::type_complexity)]
    fn json_get<T: DeserializeOwned>(
        self,
        key: impl ToArg,
        path: impl ToArg,
    ) -> <Self as Sink>::Output<JsonGet<Self, Option<Json<Vec<T>>>>> {
        <Self as Sink>::wrap(JsonGet::new(self, key).path([path]).decode())
    }

    /// `JSON.GET key`: the whole document, deserialized into `T`; `None` when there is no
    /// such key.
    fn json_get_doc<T: DeserializeOwned>(
        self,
        key: impl ToArg,
    ) -> <Self as Sink>::Output<JsonGet<Self, Option<Json<T>>>> {
        <Self as Sink>::wrap(JsonGet::new(self, key).decode())
    }

    /// `JSON.MGET key [key …] path` for a JSONPath: for each key, every match
    /// deserialized into `T` (`None` for a missing key).
    #[allow(clippy::type_complexity)]
    fn json_mget<T: DeserializeOwned>(
        self,
        keys: impl IntoIterator<Item = impl ToArg>,
        path: impl ToArg,
    ) -> <Self as Sink>::Output<JsonMget<Self, Vec<Option<Json<Vec<T>>>>>> {
        <Self as Sink>::wrap(JsonMget::new(self, keys, path).decode())
    }

    /// `JSON.MERGE key path value` (RFC 7396 merge patch), the value serialized with
    /// serde.
    fn json_merge<T: Serialize + ?Sized>(
        self,
        key: impl ToArg,
        path: impl ToArg,
        value: &T,
    ) -> <Self as Sink>::Output<JsonMerge<Self>> {
        <Self as Sink>::wrap(JsonMerge::new(self, key, path, Json(value)))
    }

    /// `JSON.MSET key path value [key path value …]`, the values serialized with serde.
    fn json_mset<'v, K: ToArg, P: ToArg, T: Serialize + ?Sized + 'v>(
        self,
        triplets: impl IntoIterator<Item = (K, P, &'v T)>,
    ) -> <Self as Sink>::Output<JsonMset<Self>> {
        <Self as Sink>::wrap(JsonMset::new(
            self,
            triplets.into_iter().map(|(k, p, v)| (k, p, Json(v))),
        ))
    }
}

impl<C: JsonCommands> JsonValueCommands for C {}

/// The numbers `JSON.NUMINCRBY` and `JSON.NUMMULTBY` answer, one per match (`None` where
/// a match is not a number). RESP2 sends them as JSON text (`[3,null]`), RESP3 as an
/// array.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JsonNumbers(pub Vec<Option<f64>>);

impl FromValue for JsonNumbers {
    fn from_value(value: Value) -> Result<Self> {
        match value.into_result()? {
            Value::Bulk(text) | Value::SimpleString(text) => serde_json::from_slice(&text)
                .map(JsonNumbers)
                .map_err(|e| Error::decode("a JSON array of numbers", format!("{e}"))),
            other => Vec::<Option<f64>>::from_value(other).map(JsonNumbers),
        }
    }
}

/// A JSON value's type, as `JSON.TYPE` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JsonType {
    /// `object`.
    Object,
    /// `array`.
    Array,
    /// `string`.
    String,
    /// `integer`.
    Integer,
    /// `number` (not an integer).
    Number,
    /// `boolean`.
    Boolean,
    /// `null`.
    Null,
}

impl FromValue for JsonType {
    fn from_value(value: Value) -> Result<Self> {
        let text = Bytes::from_value(value)?;
        Ok(match &text[..] {
            b"object" => JsonType::Object,
            b"array" => JsonType::Array,
            b"string" => JsonType::String,
            b"integer" => JsonType::Integer,
            b"number" => JsonType::Number,
            b"boolean" => JsonType::Boolean,
            b"null" => JsonType::Null,
            other => {
                return Err(Error::decode(
                    "a JSON type name",
                    String::from_utf8_lossy(other),
                ))
            }
        })
    }
}

/// The types `JSON.TYPE` answers, one per match (`None`: no such key). RESP3 wraps the
/// list in one more array than RESP2.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JsonTypes(pub Vec<Option<JsonType>>);

impl FromValue for JsonTypes {
    fn from_value(value: Value) -> Result<Self> {
        match value.into_result()? {
            // RESP2 lists names or nils, never arrays: one array inside is RESP3's wrapping.
            Value::Array(mut items) if matches!(items.as_slice(), [Value::Array(_)]) => {
                Vec::from_value(items.pop().unwrap_or(Value::Nil)).map(JsonTypes)
            }
            other => Vec::from_value(other).map(JsonTypes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_decode_both_protocols() {
        let resp2 = Value::Bulk(Bytes::from_static(b"[7,null,3.5]"));
        assert_eq!(
            JsonNumbers::from_value(resp2).unwrap().0,
            vec![Some(7.0), None, Some(3.5)]
        );
        let resp3 = Value::Array(vec![Value::Int(7), Value::Nil, Value::Double(3.5)]);
        assert_eq!(
            JsonNumbers::from_value(resp3).unwrap().0,
            vec![Some(7.0), None, Some(3.5)]
        );
        assert!(JsonNumbers::from_value(Value::Bulk(Bytes::from_static(b"[\"x\"]"))).is_err());
    }

    #[test]
    fn types_decode_both_protocols() {
        let names = || {
            vec![
                Value::Bulk(Bytes::from_static(b"integer")),
                Value::Nil,
                Value::Bulk(Bytes::from_static(b"object")),
            ]
        };
        let want = vec![Some(JsonType::Integer), None, Some(JsonType::Object)];
        assert_eq!(
            JsonTypes::from_value(Value::Array(names())).unwrap().0,
            want
        );
        let resp3 = Value::Array(vec![Value::Array(names())]);
        assert_eq!(JsonTypes::from_value(resp3).unwrap().0, want);
        assert!(JsonType::from_value(Value::Bulk(Bytes::from_static(b"float"))).is_err());
    }
}
