//! Typed records for the replies that are records: a stream entry, an `XINFO` map, a
//! `SLOWLOG` entry, `ROLE`, `INFO` sections, a `CLIENT LIST` line, …
//!
//! The generated commands name these types as their default reply where the reply
//! schema says so (a schema node with `"typedis": {"type": "StreamEntry"}`, see
//! `commands/README.md`); any of them also works with `.decode::<T>()` and
//! [`Client::cmd`](crate::Client::cmd).
//!
//! Every record decodes both the RESP2 and the RESP3 shape of its reply (a map is a
//! RESP3 map or a RESP2 flat array of names and values) and skips the fields it does not
//! know, so a newer server adding fields does not break it. A field that some supported
//! servers do not send is an `Option`. Decode errors name the record and the field:
//!
//! ```
//! use typedis::reply::XInfoGroup;
//! use typedis::{Bytes, FromValue, Value};
//!
//! let bulk = |s: &'static str| Value::Bulk(Bytes::from_static(s.as_bytes()));
//! // RESP2: a flat array of names and values.
//! let group = XInfoGroup::from_value(Value::Array(vec![
//!     bulk("name"), bulk("workers"), bulk("consumers"), Value::Int(2),
//!     bulk("pending"), Value::Int(0), bulk("last-delivered-id"), bulk("1-1"),
//!     bulk("entries-read"), Value::Int(1), bulk("lag"), Value::Nil,
//!     bulk("added-by-a-newer-server"), Value::Int(7),
//! ]))
//! .unwrap();
//! assert_eq!(group.name, "workers");
//! assert_eq!((group.consumers, group.lag), (2, None));
//!
//! let err = XInfoGroup::from_value(Value::Array(vec![bulk("name"), bulk("w"), bulk("consumers"), bulk("two")]))
//!     .unwrap_err();
//! assert!(err.to_string().contains("`consumers` of an XINFO GROUPS entry"), "{err}");
//! ```
//!
//! This module owns the records and their decoding; which command answers with which
//! record is data in the specs, and the generic conversions (`Vec`, `HashMap`, tuples,
//! `Option`) are [`crate::FromValue`]'s.

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::value::{describe, map_entries, text_of, FromValue, Value};

mod cluster;
mod data;
mod server;
mod stream;
mod text;

pub use cluster::{ClusterLink, ClusterShard, ShardNode, SlotNode, SlotRange, SlotStats};
pub use data::{GeoMember, LcsMatch, LcsMatches};
pub use server::{
    AclLogEntry, AclSelector, AclUser, ArgumentDoc, CommandDoc, CommandHistogram, CommandInfo,
    CommandLogEntry, EngineStats, FunctionLibrary, FunctionStats, Hello, LatencyLatest,
    LibraryFunction, ModuleInfo, Role, RoleReplica, RunningScript, SlowlogEntry, TrackingInfo,
};
pub use stream::{
    StreamEntry, XAutoClaim, XInfoConsumer, XInfoConsumerPending, XInfoGroup, XInfoPending,
    XInfoStream, XInfoStreamConsumer, XInfoStreamFull, XInfoStreamGroup, XPendingEntry,
    XPendingSummary,
};
pub use text::{ClientInfo, Info};

/// The name/value entries of a record: a RESP3 map or a RESP2 flat array.
pub(crate) fn entries(v: Value, what: &str) -> Result<Vec<(Value, Value)>> {
    match v.into_result()? {
        v @ (Value::Map(_) | Value::Array(_)) => {
            map_entries(v).map_err(|e| within(e, &format!("{what} (a map)")))
        }
        other => Err(Error::decode(format!("{what} (a map)"), describe(&other))),
    }
}

/// The elements of a positional record: an array of at least `min` values.
pub(crate) fn items(v: Value, what: &str, min: usize) -> Result<std::vec::IntoIter<Value>> {
    match v.into_result()? {
        Value::Array(items) | Value::Set(items) if items.len() >= min => Ok(items.into_iter()),
        Value::Array(items) | Value::Set(items) => Err(Error::decode(
            format!("{what} (an array of at least {min})"),
            format!("array of {}", items.len()),
        )),
        other => Err(Error::decode(
            format!("{what} (an array)"),
            describe(&other),
        )),
    }
}

/// The bytes of a record's field name.
pub(crate) fn key_of(k: &Value) -> &[u8] {
    text_of(k).unwrap_or_default()
}

/// Decodes field `name` of record `what`; a missing field decodes from nil, so an
/// `Option` is `None` and a list is empty, and anything else says it is missing.
pub(crate) fn field<T: FromValue>(what: &str, name: &str, v: Option<Value>) -> Result<T> {
    match v {
        Some(v) => T::from_value(v).map_err(|e| within(e, &format!("`{name}` of {what}"))),
        None => T::from_value(Value::Nil).map_err(|_| {
            Error::decode(
                format!("{what} with a `{name}` field"),
                format!("{what} without it"),
            )
        }),
    }
}

/// Adds where a decode error happened ("… in `groups` of XINFO STREAM") to its message.
pub(crate) fn within(e: Error, place: &str) -> Error {
    match e {
        Error::Decode { expected, got } => Error::decode(format!("{expected} in {place}"), got),
        e => e,
    }
}

/// A record's struct: public, documented fields; `non_exhaustive`, so that fields a
/// newer server sends can be added.
macro_rules! record_struct {
    ($(#[$meta:meta])* $name:ident { $( $(#[$fmeta:meta])* $field:ident: $ty:ty, )* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }
    };
}

/// A record read from a map: each field from the entry of that name, others skipped.
macro_rules! map_record {
    (
        $(#[$meta:meta])*
        pub struct $name:ident($what:literal) {
            $( $(#[$fmeta:meta])* pub $field:ident: $ty:ty = $key:literal, )*
        }
    ) => {
        $crate::reply::record_struct! {
            $(#[$meta])*
            $name { $( $(#[$fmeta])* $field: $ty, )* }
        }

        impl $crate::value::FromValue for $name {
            fn from_value(v: $crate::value::Value) -> $crate::error::Result<Self> {
                $( let mut $field = None; )*
                for (k, v) in $crate::reply::entries(v, $what)? {
                    let k = $crate::reply::key_of(&k);
                    $( if k == $key.as_bytes() { $field = Some(v); continue; } )*
                }
                Ok($name { $( $field: $crate::reply::field($what, $key, $field)?, )* })
            }
        }
    };
}

/// A record read from an array: fields in order; missing trailing ones decode from nil,
/// extra ones are skipped.
macro_rules! array_record {
    (
        $(#[$meta:meta])*
        pub struct $name:ident($what:literal, at least $min:literal) {
            $( $(#[$fmeta:meta])* pub $field:ident: $ty:ty, )*
        }
    ) => {
        $crate::reply::record_struct! {
            $(#[$meta])*
            $name { $( $(#[$fmeta])* $field: $ty, )* }
        }

        impl $crate::value::FromValue for $name {
            fn from_value(v: $crate::value::Value) -> $crate::error::Result<Self> {
                let mut it = $crate::reply::items(v, $what, $min)?;
                Ok($name {
                    $( $field: $crate::reply::field($what, stringify!($field), it.next())?, )*
                })
            }
        }
    };
}

pub(crate) use array_record;
pub(crate) use map_record;
pub(crate) use record_struct;

/// `TIME`: seconds and microseconds since the Unix epoch.
///
/// ```
/// # use typedis::{Bytes, FromValue, Value};
/// let reply = Value::Array(vec![Value::Bulk(Bytes::from("1700000000")), Value::Bulk(Bytes::from("250000"))]);
/// let t = std::time::SystemTime::from_value(reply).unwrap();
/// assert_eq!(t.duration_since(std::time::UNIX_EPOCH).unwrap().as_millis(), 1_700_000_000_250);
/// ```
impl FromValue for std::time::SystemTime {
    fn from_value(v: Value) -> Result<Self> {
        let (secs, micros) = <(u64, u64)>::from_value(v)
            .map_err(|e| within(e, "TIME (seconds and microseconds)"))?;
        Ok(std::time::UNIX_EPOCH
            + std::time::Duration::from_secs(secs)
            + std::time::Duration::from_micros(micros))
    }
}

/// Text of a value that must be a string, for the parsers of text replies.
pub(crate) fn text(v: Value, what: &str) -> Result<Bytes> {
    match v.into_result()? {
        Value::Bulk(b) | Value::SimpleString(b) => Ok(b),
        Value::Verbatim { text, .. } => Ok(text),
        other => Err(Error::decode(format!("{what} (text)"), describe(&other))),
    }
}

#[cfg(test)]
mod tests;
