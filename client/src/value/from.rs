//! [`FromValue`] for the std types a reply can become: strings and bytes, numbers,
//! booleans, `Option`, collections, maps and tuples, each from either protocol's shape.

use bytes::Bytes;

use super::{describe, mismatch, plain, text_of, FromValue, Value};
use crate::error::{Error, Result};

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
