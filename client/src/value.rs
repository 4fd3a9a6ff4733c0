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

/// Writes a Rust value as exactly one command argument (a RESP bulk string).
///
/// Implemented for strings, byte slices, `Bytes`, integers and floats, and references to
/// them. Deliberately *not* implemented for `bool`, `()` or `Option<T>`: Redis has no
/// representation for them, so passing one is a compile error rather than a surprise.
///
/// ```compile_fail
/// # let mut args = typedis::Args::new();
/// args.push(&true); // bool is not an argument
/// ```
/// ```compile_fail
/// # let mut args = typedis::Args::new();
/// args.push(&Some("x")); // neither is Option
/// ```
/// ```compile_fail
/// # let mut args = typedis::Args::new();
/// args.push(&()); // nor ()
/// ```
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

fn mismatch<T>(expected: &str, got: &Value) -> Result<T> {
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
fn plain(v: Value) -> Result<Value> {
    v.into_result()
}

// ---------------------------------------------------------------- strings and bytes

impl FromValue for Bytes {
    #[inline]
    fn from_value(v: Value) -> Result<Self> {
        // The common case first, without moving the value through `plain`.
        match v {
            Value::Bulk(b) => Ok(b),
            v => bytes_from(v),
        }
    }

    fn from_values(values: Vec<Value>) -> Result<Vec<Self>> {
        // Bulk strings first: large arrays of them (LRANGE, SMEMBERS…) are the hot case.
        values
            .into_iter()
            .map(|v| match v {
                Value::Bulk(b) => Ok(b),
                other => Bytes::from_value(other),
            })
            .collect()
    }
}

/// [`Bytes::from_value`] of everything but a bulk string.
fn bytes_from(v: Value) -> Result<Bytes> {
    match plain(v)? {
        Value::Bulk(b) | Value::SimpleString(b) | Value::BigNumber(b) => Ok(b),
        Value::Verbatim { text, .. } => Ok(text),
        Value::Int(n) => Ok(Bytes::from(n.to_string())),
        Value::Double(d) => Ok(Bytes::from(format_double(d))),
        other => mismatch("a string", &other),
    }
}

fn format_double(d: f64) -> String {
    if d.is_infinite() {
        if d > 0.0 { "inf" } else { "-inf" }.to_owned()
    } else {
        d.to_string()
    }
}

impl FromValue for String {
    fn from_value(v: Value) -> Result<Self> {
        let v = plain(v)?;
        match v {
            Value::Int(n) => return Ok(n.to_string()),
            Value::Double(d) => return Ok(format_double(d)),
            _ => {}
        }
        match text_of(&v) {
            Some(b) => {
                String::from_utf8(b.to_vec()).map_err(|_| Error::decode("UTF-8 text", describe(&v)))
            }
            None => mismatch("a string", &v),
        }
    }
}

// ---------------------------------------------------------------- numbers

fn parse_text<T: std::str::FromStr>(v: &Value, expected: &str) -> Result<T> {
    text_of(v)
        .and_then(|b| std::str::from_utf8(b).ok())
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Error::decode(expected, describe(v)))
}

macro_rules! int_from_value {
    ($($t:ty $({ $($extra:tt)* })?),*) => {$(
        impl FromValue for $t {
            $($($extra)*)?

            fn from_value(v: Value) -> Result<Self> {
                let expected = concat!("an integer (", stringify!($t), ")");
                if let Value::Int(n) = v {
                    // The common case, without moving the value through `plain`.
                    return <$t>::try_from(n).map_err(|_| Error::decode(expected, describe(&v)));
                }
                let v = plain(v)?;
                match &v {
                    Value::Int(n) => <$t>::try_from(*n).map_err(|_| Error::decode(expected, describe(&v))),
                    Value::Boolean(b) => Ok(if *b { 1 } else { 0 }),
                    Value::Double(d) if d.fract() == 0.0 && d.is_finite() => {
                        let n = *d as i128;
                        <$t>::try_from(n).map_err(|_| Error::decode(expected, describe(&v)))
                    }
                    _ => parse_text(&v, expected),
                }
            }
        }
    )*};
}

int_from_value!(i8, i16, i32, i64, i128, isize, u16, u32, u64, u128, usize);
int_from_value!(u8 {
    /// `Vec<u8>` is a byte string, not an array of small integers.
    fn from_byte_string(bytes: Bytes) -> Option<Result<Vec<Self>>> {
        Some(Ok(bytes.to_vec()))
    }
});

fn parse_float(v: &Value) -> Result<f64> {
    match v {
        Value::Double(d) => Ok(*d),
        Value::Int(n) => Ok(*n as f64),
        _ => {
            let s = text_of(v)
                .and_then(|b| std::str::from_utf8(b).ok())
                .ok_or_else(|| Error::decode("a number", describe(v)))?;
            match s {
                "inf" | "+inf" | "infinity" | "+infinity" => Ok(f64::INFINITY),
                "-inf" | "-infinity" => Ok(f64::NEG_INFINITY),
                "nan" | "-nan" => Ok(f64::NAN),
                _ => s
                    .parse()
                    .map_err(|_| Error::decode("a number", describe(v))),
            }
        }
    }
}

impl FromValue for f64 {
    fn from_value(v: Value) -> Result<Self> {
        parse_float(&plain(v)?)
    }
}

impl FromValue for f32 {
    fn from_value(v: Value) -> Result<Self> {
        parse_float(&plain(v)?).map(|d| d as f32)
    }
}

/// `bool` accepts RESP3 booleans, integers 0/1, and — for commands that answer `OK` or
/// nil, such as `SET … NX` — `OK` as `true` and nil as `false`.
impl FromValue for bool {
    fn from_value(v: Value) -> Result<Self> {
        let v = plain(v)?;
        match &v {
            Value::Boolean(b) => Ok(*b),
            Value::Nil => Ok(false),
            Value::Int(0) => Ok(false),
            Value::Int(1) => Ok(true),
            _ => match text_of(&v) {
                Some(b"0") => Ok(false),
                Some(b"1") => Ok(true),
                Some(b"OK") => Ok(true),
                _ => mismatch("a boolean (0/1)", &v),
            },
        }
    }
}

/// `()` accepts any non-error reply (commands that answer `OK`).
impl FromValue for () {
    fn from_value(v: Value) -> Result<Self> {
        plain(v).map(|_| ())
    }
}

// ---------------------------------------------------------------- option

impl<T: FromValue> FromValue for Option<T> {
    #[inline]
    fn from_value(v: Value) -> Result<Self> {
        match v {
            Value::Nil => Ok(None),
            Value::Array(items) if T::NONE_WHEN_EMPTY && items.is_empty() => Ok(None),
            v @ (Value::Error(_) | Value::Attribute { .. }) => Self::from_value(plain(v)?),
            v => T::from_value(v).map(Some),
        }
    }
}

// ---------------------------------------------------------------- aggregates

/// The elements of an aggregate. Nil is an empty collection (e.g. a missing key).
fn elements(v: Value, expected: &str) -> Result<Vec<Value>> {
    match plain(v)? {
        Value::Array(items) | Value::Set(items) | Value::Push(items) => Ok(items),
        Value::Map(pairs) => Ok(pairs.into_iter().flat_map(|(k, v)| [k, v]).collect()),
        Value::Nil => Ok(Vec::new()),
        other => mismatch(expected, &other),
    }
}

impl<T: FromValue> FromValue for Vec<T> {
    fn from_value(v: Value) -> Result<Self> {
        match plain(v)? {
            Value::Bulk(b) | Value::SimpleString(b) | Value::Verbatim { text: b, .. } => {
                let shown = Value::Bulk(b.clone());
                T::from_byte_string(b)
                    .unwrap_or_else(|| Err(Error::decode("an array", describe(&shown))))
            }
            // A map becomes its entries: pairs for pair element types (`Vec<(K, V)>`),
            // flattened keys and values for anything else.
            Value::Map(pairs) if T::PAIR => T::from_values(
                pairs
                    .into_iter()
                    .map(|(k, v)| Value::Array(vec![k, v]))
                    .collect(),
            ),
            other => T::from_values(elements(other, "an array")?),
        }
    }
}

impl<T: FromValue + Eq + std::hash::Hash, S: std::hash::BuildHasher + Default> FromValue
    for std::collections::HashSet<T, S>
{
    fn from_value(v: Value) -> Result<Self> {
        Ok(Vec::<T>::from_value(v)?.into_iter().collect())
    }
}

impl<T: FromValue + Ord> FromValue for std::collections::BTreeSet<T> {
    fn from_value(v: Value) -> Result<Self> {
        Ok(Vec::<T>::from_value(v)?.into_iter().collect())
    }
}

/// Key/value pairs from a RESP3 map, a RESP2 flat array `[k1, v1, k2, v2, …]`, or a
/// RESP2 array of pairs `[[k1, v1], [k2, v2]]` (`XREAD`: keys are never arrays, so the
/// two flat forms cannot be confused).
pub(crate) fn map_entries(v: Value) -> Result<Vec<(Value, Value)>> {
    match plain(v)? {
        Value::Map(pairs) => Ok(pairs),
        Value::Array(items)
            if !items.is_empty()
                && items
                    .iter()
                    .all(|i| matches!(i, Value::Array(p) if p.len() == 2)) =>
        {
            Ok(items
                .into_iter()
                .filter_map(|i| match i {
                    Value::Array(p) => {
                        let mut p = p.into_iter();
                        Some((p.next()?, p.next()?))
                    }
                    _ => None,
                })
                .collect())
        }
        Value::Array(items) | Value::Set(items) => {
            if items.len() % 2 != 0 {
                return Err(Error::decode(
                    "a map (or an array of alternating keys and values)",
                    format!("array of odd length {}", items.len()),
                ));
            }
            let mut out = Vec::with_capacity(items.len() / 2);
            let mut it = items.into_iter();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                out.push((k, v));
            }
            Ok(out)
        }
        Value::Nil => Ok(Vec::new()),
        other => mismatch("a map", &other),
    }
}

impl<K, V, S> FromValue for std::collections::HashMap<K, V, S>
where
    K: FromValue + Eq + std::hash::Hash,
    V: FromValue,
    S: std::hash::BuildHasher + Default,
{
    fn from_value(v: Value) -> Result<Self> {
        map_entries(v)?
            .into_iter()
            .map(|(k, v)| Ok((K::from_value(k)?, V::from_value(v)?)))
            .collect()
    }
}

impl<K: FromValue + Ord, V: FromValue> FromValue for std::collections::BTreeMap<K, V> {
    fn from_value(v: Value) -> Result<Self> {
        map_entries(v)?
            .into_iter()
            .map(|(k, v)| Ok((K::from_value(k)?, V::from_value(v)?)))
            .collect()
    }
}

// ---------------------------------------------------------------- tuples

macro_rules! tuple_from_value {
    ($n:expr; $($name:ident),+) => {
        #[allow(clippy::modulo_one)] // the 1-tuple divides lengths by 1 too
        impl<$($name: FromValue),+> FromValue for ($($name,)+) {
            const PAIR: bool = $n == 2;
            const NONE_WHEN_EMPTY: bool = true;

            fn from_value(v: Value) -> Result<Self> {
                let items = match plain(v)? {
                    Value::Array(items) | Value::Set(items) | Value::Push(items) => items,
                    Value::Map(pairs) if $n == 2 && pairs.len() == 1 => {
                        pairs.into_iter().flat_map(|(k, v)| [k, v]).collect()
                    }
                    other => return mismatch(concat!("an array of ", $n, " elements"), &other),
                };
                if items.len() != $n {
                    return Err(Error::decode(
                        concat!("an array of ", $n, " elements"),
                        format!("array of {}", items.len()),
                    ));
                }
                let mut it = items.into_iter();
                Ok(($(
                    $name::from_value(it.next().unwrap_or(Value::Nil))?,
                )+))
            }

            /// Accepts nested tuples (`[[a, b], [a, b]]`, RESP3) and flat runs
            /// (`[a, b, a, b]`, RESP2).
            fn from_values(values: Vec<Value>) -> Result<Vec<Self>> {
                let nested = values.iter().all(|v| matches!(v, Value::Array(_)));
                if nested {
                    return values.into_iter().map(Self::from_value).collect();
                }
                if values.len() % $n != 0 {
                    return Err(Error::decode(
                        concat!("groups of ", $n, " elements"),
                        format!("array of {}", values.len()),
                    ));
                }
                let mut out = Vec::with_capacity(values.len() / $n);
                let mut it = values.into_iter();
                while let Some(first) = it.next() {
                    let mut first = Some(first);
                    out.push(($(
                        {
                            let v = match first.take() {
                                Some(v) => v,
                                None => it.next().unwrap_or(Value::Nil),
                            };
                            $name::from_value(v)?
                        },
                    )+));
                }
                Ok(out)
            }
        }
    };
}

tuple_from_value!(1; A);
tuple_from_value!(2; A, B);
tuple_from_value!(3; A, B, C);
tuple_from_value!(4; A, B, C, D);
tuple_from_value!(5; A, B, C, D, E);
tuple_from_value!(6; A, B, C, D, E, F);
tuple_from_value!(7; A, B, C, D, E, F, G);
tuple_from_value!(8; A, B, C, D, E, F, G, H);
tuple_from_value!(9; A, B, C, D, E, F, G, H, I);
tuple_from_value!(10; A, B, C, D, E, F, G, H, I, J);
tuple_from_value!(11; A, B, C, D, E, F, G, H, I, J, K);
tuple_from_value!(12; A, B, C, D, E, F, G, H, I, J, K, L);

// ---------------------------------------------------------------- ToArg

impl ToArg for [u8] {
    fn write_arg(&self, out: &mut Args) {
        out.push_bytes(self);
    }
}

impl<const N: usize> ToArg for [u8; N] {
    fn write_arg(&self, out: &mut Args) {
        out.push_bytes(self);
    }
}

impl ToArg for Vec<u8> {
    fn write_arg(&self, out: &mut Args) {
        out.push_bytes(self);
    }
}

impl ToArg for Bytes {
    fn write_arg(&self, out: &mut Args) {
        out.push_bytes(self);
    }
}

impl ToArg for bytes::BytesMut {
    fn write_arg(&self, out: &mut Args) {
        out.push_bytes(self);
    }
}

impl ToArg for str {
    fn write_arg(&self, out: &mut Args) {
        out.push_bytes(self.as_bytes());
    }
}

impl ToArg for String {
    fn write_arg(&self, out: &mut Args) {
        out.push_bytes(self.as_bytes());
    }
}

impl ToArg for std::borrow::Cow<'_, str> {
    fn write_arg(&self, out: &mut Args) {
        out.push_bytes(self.as_bytes());
    }
}

impl ToArg for std::borrow::Cow<'_, [u8]> {
    fn write_arg(&self, out: &mut Args) {
        out.push_bytes(self);
    }
}

impl ToArg for char {
    fn write_arg(&self, out: &mut Args) {
        let mut buf = [0u8; 4];
        out.push_bytes(self.encode_utf8(&mut buf).as_bytes());
    }
}

macro_rules! int_to_arg {
    (signed: $($t:ty),*; unsigned: $($u:ty),*) => {
        $(impl ToArg for $t {
            #[inline]
            fn write_arg(&self, out: &mut Args) {
                out.push_i64(*self as i64);
            }
        })*
        $(impl ToArg for $u {
            #[inline]
            fn write_arg(&self, out: &mut Args) {
                out.push_u64(*self as u64);
            }
        })*
    };
}

int_to_arg!(signed: i8, i16, i32, i64, isize; unsigned: u8, u16, u32, u64, usize);

impl ToArg for i128 {
    fn write_arg(&self, out: &mut Args) {
        let mut b = itoa::Buffer::new();
        out.push_bytes(b.format(*self).as_bytes());
    }
}

impl ToArg for u128 {
    fn write_arg(&self, out: &mut Args) {
        let mut b = itoa::Buffer::new();
        out.push_bytes(b.format(*self).as_bytes());
    }
}

impl ToArg for f64 {
    #[inline]
    fn write_arg(&self, out: &mut Args) {
        out.push_f64(*self);
    }
}

impl ToArg for f32 {
    #[inline]
    fn write_arg(&self, out: &mut Args) {
        // Through the shortest f32 text, so 0.1f32 is sent as "0.1", not 0.10000000149….
        let mut b = ryu::Buffer::new();
        if self.is_finite() {
            let s = b.format_finite(*self);
            out.push_bytes(s.strip_suffix(".0").unwrap_or(s).as_bytes());
        } else {
            out.push_f64(*self as f64);
        }
    }
}

impl<T: ToArg + ?Sized> ToArg for &T {
    #[inline]
    fn write_arg(&self, out: &mut Args) {
        (**self).write_arg(out);
    }
}

impl<T: ToArg + ?Sized> ToArg for &mut T {
    #[inline]
    fn write_arg(&self, out: &mut Args) {
        (**self).write_arg(out);
    }
}

impl<T: ToArg + ?Sized> ToArg for Box<T> {
    fn write_arg(&self, out: &mut Args) {
        (**self).write_arg(out);
    }
}

impl<T: ToArg + ?Sized> ToArg for std::sync::Arc<T> {
    fn write_arg(&self, out: &mut Args) {
        (**self).write_arg(out);
    }
}

impl<T: ToArg + ?Sized> ToArg for std::rc::Rc<T> {
    fn write_arg(&self, out: &mut Args) {
        (**self).write_arg(out);
    }
}

#[cfg(test)]
mod tests;
