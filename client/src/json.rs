//! Storing any `serde` type as a JSON string value: the [`Json`] wrapper.
//!
//! `Json(value)` is an argument (serialised with `serde_json` when the command is
//! built) and a reply target (deserialised from a bulk string). This module only
//! converts; it does not use the RedisJSON module.
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use typedis::{Json, FromValue, Value, Bytes};
//!
//! #[derive(Debug, PartialEq, Serialize, Deserialize)]
//! struct Settings { theme: String, volume: u8 }
//!
//! let reply = Value::Bulk(Bytes::from_static(br#"{"theme":"dark","volume":7}"#));
//! let Json(s) = Json::<Settings>::from_value(reply).unwrap();
//! assert_eq!(s, Settings { theme: "dark".into(), volume: 7 });
//! // As an argument: `client.set("settings", Json(&s)).await?`
//! ```

use serde::{de::DeserializeOwned, Serialize};

use crate::cmd::Args;
use crate::error::{Error, Result, UsageKind};
use crate::value::{FromValue, ToArg, Value};

/// A value stored as its JSON text. See the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Json<T>(pub T);

impl<T: Serialize> ToArg for Json<T> {
    fn write_arg(&self, out: &mut Args) {
        match serde_json::to_vec(&self.0) {
            Ok(text) => out.push_bytes(&text),
            Err(e) => {
                // Keep the argument count right, and make the command fail before sending.
                out.push_bytes(b"");
                out.fail(Error::usage(
                    UsageKind::InvalidArgument,
                    format!("cannot serialise the value as JSON: {e}"),
                ));
            }
        }
    }
}

impl<T: DeserializeOwned> FromValue for Json<T> {
    fn from_value(value: Value) -> Result<Self> {
        let text = match value.into_result()? {
            Value::Bulk(b) | Value::SimpleString(b) | Value::Verbatim { text: b, .. } => b,
            other => return Err(Error::decode("a JSON string", other.kind_name())),
        };
        serde_json::from_slice(&text).map(Json).map_err(|e| {
            Error::decode(
                format!("JSON for `{}`", std::any::type_name::<T>()),
                format!("invalid JSON ({e})"),
            )
        })
    }
}
