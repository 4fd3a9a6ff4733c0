//! Reply values and the two conversion traits: [`FromValue`] (reply → Rust type) and
//! [`ToArg`] (Rust value → one command argument), and `decode`, what a reply becomes.
//!
//! `Value` mirrors every RESP2 and RESP3 type. Bulk payloads are `Bytes` slices of the
//! connection's read buffer, so decoding a large reply copies nothing until the caller's
//! target type asks for it (e.g. `String`). This module owns the conversions only; the
//! wire format lives in [`crate::resp`]. `from.rs`: `FromValue` for the std types;
//! `to_arg.rs`: `ToArg` for them.

mod from;
mod to_arg;

use bytes::Bytes;

use crate::cmd::Notes;
use crate::error::{Error, Result, ServerError};

pub(crate) use from::map_entries;
pub use to_arg::ToArg;

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
        /// The format, e.g. `*b"txt"`.
        format: [u8; 3],
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

    /// Whether this type is a two-element tuple (so a map's entries convert to it).
    #[doc(hidden)]
    const PAIR: bool = false;

    /// Whether an empty array is `None` as an `Option<Self>` (tuples: an empty array
    /// cannot be one, and `ZPOPMIN key` answers one when there is nothing to pop).
    #[doc(hidden)]
    const NONE_WHEN_EMPTY: bool = false;

    /// How `Vec<Self>` is made from a byte string, if it can be: `Vec<u8>` is the bytes,
    /// `Vec<ClientInfo>` the lines of `CLIENT LIST`.
    #[doc(hidden)]
    fn from_byte_string(bytes: Bytes) -> Option<Result<Vec<Self>>> {
        let _ = bytes;
        None
    }
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

    /// The value under any RESP3 attributes attached to it (itself when it has none).
    pub fn unattributed(&self) -> &Value {
        let mut v = self;
        while let Value::Attribute { value, .. } = v {
            v = value;
        }
        v
    }

    /// The value under any RESP3 attributes attached to it, which are dropped.
    pub fn into_unattributed(self) -> Value {
        let mut v = self;
        while let Value::Attribute { value, .. } = v {
            v = *value;
        }
        v
    }

    /// Whether this frame is a RESP3 push (PubSub message, invalidation, …), also when
    /// attributes precede it. This is how every reader of a connection tells an
    /// out-of-band frame, which answers no command, from a reply: by what the frame is
    /// under its attributes, never by its outermost type alone (an attribute may precede
    /// any frame, a push included).
    ///
    /// ```
    /// use typedis::Value;
    /// let push = Value::Push(vec![]);
    /// let attributed = Value::Attribute { attributes: vec![], value: Box::new(push.clone()) };
    /// assert!(push.is_push() && attributed.is_push());
    /// assert!(!Value::Attribute { attributes: vec![], value: Box::new(Value::Nil) }.is_push());
    /// ```
    #[inline]
    pub fn is_push(&self) -> bool {
        match self {
            Value::Push(_) => true,
            Value::Attribute { .. } => matches!(self.unattributed(), Value::Push(_)),
            _ => false,
        }
    }

    /// Turns a nested error value into `Err`, and removes RESP3 attributes.
    #[inline]
    pub fn into_result(self) -> Result<Value> {
        match self {
            Value::Error(_) | Value::Attribute { .. } => self.into_result_slow(),
            v => Ok(v),
        }
    }

    /// [`Value::into_result`] of errors and attributes (out of line: rare).
    #[cold]
    #[inline(never)]
    fn into_result_slow(self) -> Result<Value> {
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

/// What a command's reply becomes, for every handle and path (generated builders, raw
/// [`Cmd`](crate::exec::Cmd)s, scripts, pipelines): an error reply is
/// `Err(Error::Server)`, with the notes of arguments not every server accepts added when
/// the server did not understand them; anything else is converted by `R`'s
/// [`FromValue`]. A typed reply is the value under its RESP3 attributes (an error reply
/// under attributes is an error too); a `raw` one keeps them, for the callers of the raw
/// paths that asked for the [`Value`] as the server sent it.
pub(crate) fn decode<R: FromValue>(reply: Result<Value>, notes: &Notes, raw: bool) -> Result<R> {
    let value = match reply {
        Ok(v) if !raw => v.into_result(),
        Ok(Value::Error(e)) => Err(Error::Server(e)),
        other => other,
    };
    notes.apply(value.and_then(R::from_value))
}

// ---------------------------------------------------------------- helpers

/// Describes a value for error messages, with a short preview of text payloads.
pub(crate) fn describe(v: &Value) -> String {
    fn preview(b: &[u8]) -> String {
        let cut = &b[..b.len().min(40)];
        let mut s = format!("{:?}", String::from_utf8_lossy(cut));
        if b.len() > 40 {
            s.push('…');
        }
        s
    }
    match v {
        Value::Bulk(b) => format!("bulk string {}", preview(b)),
        Value::SimpleString(b) => format!("simple string {}", preview(b)),
        Value::Int(n) => format!("integer {n}"),
        Value::Double(d) => format!("double {d}"),
        Value::Array(a) => format!("array of {}", a.len()),
        Value::Map(m) => format!("map of {}", m.len()),
        Value::Set(s) => format!("set of {}", s.len()),
        Value::Error(e) => format!("error {e}"),
        other => other.kind_name().to_owned(),
    }
}

pub(crate) fn mismatch<T>(expected: &str, got: &Value) -> Result<T> {
    Err(Error::decode(expected, describe(got)))
}

/// The bytes of a string-like value.
pub(crate) fn text_of(v: &Value) -> Option<&[u8]> {
    match v {
        Value::Bulk(b) | Value::SimpleString(b) | Value::BigNumber(b) => Some(b),
        Value::Verbatim { text, .. } => Some(text),
        _ => None,
    }
}

/// Removes attributes and turns nested errors into `Err`.
pub(crate) fn plain(v: Value) -> Result<Value> {
    v.into_result()
}

#[cfg(test)]
mod tests;
