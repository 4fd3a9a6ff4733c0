//! Reply values and the two conversion traits: [`FromValue`] (reply → Rust type) and
//! [`ToArg`] (Rust value → one command argument).
//!
//! `Value` mirrors every RESP2 and RESP3 type. Bulk payloads are `Bytes` slices of the
//! connection's read buffer, so decoding a large reply copies nothing until the caller's
//! target type asks for it (e.g. `String`). This module owns the conversions only; the
//! wire format lives in [`crate::resp`].

use bytes::Bytes;

use crate::cmd::Args;
use crate::error::{Error, Result, ServerError};

/// One reply from the server, of any RESP2 or RESP3 type.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// RESP2 null bulk / null array, RESP3 `_`.
    Nil,
    /// `+OK`-style simple string.
    SimpleString(Bytes),
    /// An error reply nested inside an aggregate (`-ERR …` or RESP3 blob error `!`).
    /// A top-level error reply is returned as `Err(Error::Server)` instead.
    Error(ServerError),
    /// `:` integer.
    Int(i64),
    /// `$` bulk string (binary safe).
    Bulk(Bytes),
    /// `*` array.
    Array(Vec<Value>),
    /// RESP3 `,` double (may be `inf`, `-inf` or `nan`).
    Double(f64),
    /// RESP3 `#` boolean.
    Boolean(bool),
    /// RESP3 `(` big number, kept as its decimal text.
    BigNumber(Bytes),
    /// RESP3 `=` verbatim string: a three-letter format (`txt`, `mkd`) and the text.
    Verbatim {
        /// The format, e.g. `txt`.
        format: Bytes,
        /// The text.
        text: Bytes,
    },
    /// RESP3 `%` map, in the order the server sent it.
    Map(Vec<(Value, Value)>),
    /// RESP3 `~` set.
    Set(Vec<Value>),
    /// RESP3 `|` attribute: out-of-band data attached to the value that follows it.
    Attribute {
        /// The attribute map.
        attributes: Vec<(Value, Value)>,
        /// The value the attributes describe.
        value: Box<Value>,
    },
    /// RESP3 `>` push (PubSub messages, invalidations). Routed aside by the client.
    Push(Vec<Value>),
}

/// Converts a [`Value`] into a Rust type.
///
/// Implemented for the std types a reply can sensibly become; decoders accept both the
/// RESP2 and the RESP3 shape of a reply (e.g. a map from a RESP3 `%` map *or* a RESP2
/// flat array of alternating keys and values).
pub trait FromValue: Sized {
    /// Converts one value.
    fn from_value(value: Value) -> Result<Self>;

    /// Converts the elements of an aggregate. Pairs override this to accept a RESP2
    /// flat array (`[k1, v1, k2, v2]`) as well as RESP3 nested pairs.
    #[doc(hidden)]
    fn from_values(values: Vec<Value>) -> Result<Vec<Self>> {
        values.into_iter().map(Self::from_value).collect()
    }
}

/// Writes a Rust value as exactly one command argument (a RESP bulk string).
///
/// Implemented for strings, byte slices, `Bytes`, integers and floats, and references to
/// them. Deliberately *not* implemented for `bool`, `()` or `Option<T>`: Redis has no
/// representation for them, so passing one is a compile error rather than a surprise.
pub trait ToArg {
    /// Appends this value as one argument.
    fn write_arg(&self, out: &mut Args);
}

impl Value {
    /// A short description of the value's type, for error messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Nil => "nil",
            Value::SimpleString(_) => "simple string",
            Value::Error(_) => "error",
            Value::Int(_) => "integer",
            Value::Bulk(_) => "bulk string",
            Value::Array(_) => "array",
            Value::Double(_) => "double",
            Value::Boolean(_) => "boolean",
            Value::BigNumber(_) => "big number",
            Value::Verbatim { .. } => "verbatim string",
            Value::Map(_) => "map",
            Value::Set(_) => "set",
            Value::Attribute { .. } => "attribute",
            Value::Push(_) => "push",
        }
    }

    /// Turns a nested error value into `Err`, and removes RESP3 attributes.
    pub fn into_result(self) -> Result<Value> {
        match self {
            Value::Error(e) => Err(Error::Server(e)),
            Value::Attribute { value, .. } => value.into_result(),
            v => Ok(v),
        }
    }
}

impl FromValue for Value {
    fn from_value(value: Value) -> Result<Self> {
        Ok(value)
    }
}
