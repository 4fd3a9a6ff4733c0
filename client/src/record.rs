//! Storing user types: the [`Record`] trait (a struct as a Redis hash or stream entry)
//! and the run-time support that `#[derive(Record)]` and `#[derive(Scalar)]` expand to.
//!
//! The derives themselves live in the `typedis-macros` crate and are re-exported as
//! `typedis::Record` and `typedis::Scalar` (feature `derive`, on by default). This module
//! owns decoding a hash reply field by field, with errors that name the struct and the
//! field; it knows nothing about particular commands.
//!
//! ```
//! use typedis::{Record, Scalar};
//!
//! #[derive(Debug, PartialEq, Scalar)]
//! #[typedis(rename_all = "lowercase")]
//! enum Plan { Free, Pro }
//!
//! #[derive(Debug, PartialEq, Record)]
//! struct User {
//!     name: String,
//!     #[typedis(rename = "years")]
//!     age: u32,
//!     plan: Plan,
//!     nickname: Option<String>,
//! }
//!
//! // What HGETALL sends (RESP2 flat array shown; a RESP3 map works the same).
//! use typedis::{FromValue, Value, Bytes};
//! let reply = Value::Array(
//!     ["name", "ann", "years", "31", "plan", "pro"]
//!         .iter()
//!         .map(|s| Value::Bulk(Bytes::from_static(s.as_bytes())))
//!         .collect(),
//! );
//! let user = User::from_value(reply).unwrap();
//! assert_eq!(user, User { name: "ann".into(), age: 31, plan: Plan::Pro, nickname: None });
//!
//! // Writing: `&user` iterates over (field, value) pairs, so it fits HSET and XADD.
//! let pairs: Vec<_> = (&user).into_iter().collect();
//! assert_eq!(pairs[1].0, "years");
//! assert_eq!(pairs[1].1.as_bytes(), b"31");
//! assert_eq!(pairs.len(), 3); // `nickname` is None: absent from the hash
//! ```

use bytes::Bytes;

use crate::cmd::Args;
use crate::error::{Error, Result};
use crate::value::{FromValue, ToArg, Value};

/// A struct stored as the fields of a Redis hash (or of a stream entry).
///
/// Implemented by `#[derive(Record)]`. Besides `FromValue` (decoding `HGETALL`,
/// `XRANGE` entries, …) a record knows its field names, so `HMGET` can ask for exactly
/// them, and it can list its `(field, value)` pairs for `HSET` / `XADD`.
pub trait Record: FromValue {
    /// The hash field names, in declaration order (after `rename`, without `skip`ped ones).
    const FIELDS: &'static [&'static str];

    /// The `(field, encoded value)` pairs to store; `None` options are left out.
    fn to_fields(&self) -> Vec<(&'static str, Encoded)>;

    /// Decodes the reply of `HMGET key <Self::FIELDS…>`: values in `FIELDS` order, nil
    /// for absent fields.
    fn from_positional(value: Value) -> Result<Self> {
        let values = match value.into_result()? {
            Value::Array(values) => values,
            other => {
                return Err(Error::decode(
                    format!(
                        "an array of {} values (HMGET of the record's fields)",
                        Self::FIELDS.len()
                    ),
                    other.kind_name(),
                ))
            }
        };
        if values.len() != Self::FIELDS.len() {
            return Err(Error::decode(
                format!("{} values, one per field", Self::FIELDS.len()),
                format!("{} values", values.len()),
            ));
        }
        let pairs = Self::FIELDS
            .iter()
            .zip(values)
            .filter(|(_, v)| !matches!(v, Value::Nil))
            .map(|(k, v)| (Value::Bulk(Bytes::from_static(k.as_bytes())), v))
            .collect();
        Self::from_value(Value::Map(pairs))
    }
}

/// One argument, already encoded (a field value of a [`Record`]).
///
/// Keeps an encoding error (e.g. failed JSON serialisation) so that the command that
/// carries it fails instead of being sent.
#[derive(Clone)]
pub struct Encoded(Args);

impl Encoded {
    /// Encodes `value` as one argument.
    pub fn new<A: ToArg + ?Sized>(value: &A) -> Self {
        let mut args = Args::new();
        value.write_arg(&mut args);
        Encoded(args)
    }

    /// Encodes with a custom writer (the `with = module` field attribute).
    pub fn with(write: impl FnOnce(&mut Args)) -> Self {
        let mut args = Args::new();
        write(&mut args);
        Encoded(args)
    }

    /// The encoded bytes (empty if encoding failed).
    pub fn as_bytes(&self) -> &[u8] {
        self.0.iter().next().unwrap_or_default()
    }
}

impl ToArg for Encoded {
    fn write_arg(&self, out: &mut Args) {
        out.extend_from(&self.0);
    }
}

impl std::fmt::Debug for Encoded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Encoded({:?})", String::from_utf8_lossy(self.as_bytes()))
    }
}

impl PartialEq for Encoded {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

/// Decodes a record from the reply of `HMGET key <FIELDS…>` (values by position).
///
/// ```no_run
/// # use typedis::{Record, record::Positional};
/// # #[derive(Record)] struct User { name: String }
/// # async fn f(client: &typedis::Client) -> typedis::Result<()> {
/// let Positional(user) = client
///     .cmd("HMGET").arg("user:1").args(User::FIELDS)
///     .decode::<Positional<User>>()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Positional<T>(pub T);

impl<T: Record> FromValue for Positional<T> {
    fn from_value(value: Value) -> Result<Self> {
        T::from_positional(value).map(Positional)
    }
}

/// Support code for the derive macros. Not a public API: it may change at any time.
#[doc(hidden)]
pub mod support {
    use super::*;

    /// The text of a scalar reply (bulk, simple or verbatim string).
    pub fn scalar_text(value: Value, ty: &'static str, expected: &str) -> Result<Bytes> {
        match value.into_result()? {
            Value::Bulk(b) | Value::SimpleString(b) | Value::Verbatim { text: b, .. } => Ok(b),
            other => Err(Error::decode(
                format!("{expected} for `{ty}`"),
                other.kind_name(),
            )),
        }
    }

    /// The error for a string that names no variant.
    pub fn unknown_variant(ty: &'static str, expected: &str, got: &[u8]) -> Error {
        Error::decode(
            format!("{expected} for `{ty}`"),
            format!("{:?}", String::from_utf8_lossy(&got[..got.len().min(64)])),
        )
    }

    /// The fields of a hash reply, taken out one by one by the derived decoder.
    #[derive(Debug)]
    pub struct Fields {
        ty: &'static str,
        pairs: Vec<(Bytes, Option<Value>)>,
    }

    impl Fields {
        /// Accepts a RESP3 map, a RESP2 flat array `[f1, v1, f2, v2, …]` or nil (no fields).
        pub fn new(value: Value, ty: &'static str) -> Result<Self> {
            let raw: Vec<(Value, Value)> = match value.into_result()? {
                Value::Map(pairs) => pairs,
                Value::Array(items) | Value::Set(items) => {
                    if items.len() % 2 != 0 {
                        return Err(Error::decode(
                            format!("field/value pairs for `{ty}`"),
                            format!("an array of odd length {}", items.len()),
                        ));
                    }
                    let mut it = items.into_iter();
                    let mut pairs = Vec::with_capacity(it.len() / 2);
                    while let (Some(k), Some(v)) = (it.next(), it.next()) {
                        pairs.push((k, v));
                    }
                    pairs
                }
                Value::Nil => Vec::new(),
                other => {
                    return Err(Error::decode(
                        format!("a hash (map or field/value array) for `{ty}`"),
                        other.kind_name(),
                    ))
                }
            };
            let mut pairs = Vec::with_capacity(raw.len());
            for (k, v) in raw {
                let key = match k {
                    Value::Bulk(b) | Value::SimpleString(b) | Value::Verbatim { text: b, .. } => b,
                    other => {
                        return Err(Error::decode(
                            format!("string field names for `{ty}`"),
                            other.kind_name(),
                        ))
                    }
                };
                pairs.push((key, Some(v)));
            }
            Ok(Fields { ty, pairs })
        }

        fn remove(&mut self, name: &str) -> Option<Value> {
            self.pairs
                .iter_mut()
                .find(|(k, v)| v.is_some() && &k[..] == name.as_bytes())
                .and_then(|(_, v)| v.take())
        }

        fn wrap(&self, field: &'static str, name: &str, err: Error) -> Error {
            match err {
                Error::Decode { expected, got } => Error::decode(
                    format!(
                        "field `{field}` (hash field \"{name}\") of `{}` as {expected}",
                        self.ty
                    ),
                    got,
                ),
                other => other,
            }
        }

        /// A required field.
        pub fn required<T: FromValue>(&mut self, name: &str, field: &'static str) -> Result<T> {
            self.required_with(name, field, T::from_value)
        }

        /// A required field decoded by a custom function.
        pub fn required_with<T>(
            &mut self,
            name: &str,
            field: &'static str,
            decode: impl FnOnce(Value) -> Result<T>,
        ) -> Result<T> {
            match self.remove(name) {
                Some(v) => decode(v).map_err(|e| self.wrap(field, name, e)),
                None => Err(Error::decode(
                    format!(
                        "field `{field}` (hash field \"{name}\") of `{}`; it is missing (make it an Option or add #[typedis(default)])",
                        self.ty
                    ),
                    "no such field",
                )),
            }
        }

        /// An `Option<T>` field: absent or nil → `None`.
        pub fn optional<T: FromValue>(
            &mut self,
            name: &str,
            field: &'static str,
        ) -> Result<Option<T>> {
            self.optional_with(name, field, T::from_value)
        }

        /// An optional field decoded by a custom function.
        pub fn optional_with<T>(
            &mut self,
            name: &str,
            field: &'static str,
            decode: impl FnOnce(Value) -> Result<T>,
        ) -> Result<Option<T>> {
            match self.remove(name) {
                None | Some(Value::Nil) => Ok(None),
                Some(v) => decode(v).map(Some).map_err(|e| self.wrap(field, name, e)),
            }
        }

        /// A `#[typedis(default)]` field: absent → `Default::default()`.
        pub fn or_default<T: FromValue + Default>(
            &mut self,
            name: &str,
            field: &'static str,
        ) -> Result<T> {
            Ok(self.optional(name, field)?.unwrap_or_default())
        }

        /// A `#[typedis(default)]` field decoded by a custom function.
        pub fn or_default_with<T: Default>(
            &mut self,
            name: &str,
            field: &'static str,
            decode: impl FnOnce(Value) -> Result<T>,
        ) -> Result<T> {
            Ok(self.optional_with(name, field, decode)?.unwrap_or_default())
        }
    }
}
