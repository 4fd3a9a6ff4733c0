//! What a kept reply weighs ([`leaf_bytes`], [`nodes`]) and the compact copy that is
//! kept ([`compact`]): its strings in one fresh buffer, so that a cached reply never
//! keeps a connection's read buffer alive.

use bytes::{Bytes, BytesMut};

use crate::value::Value;

/// Bytes of the strings in a reply.
pub(super) fn leaf_bytes(v: &Value) -> usize {
    match v {
        Value::SimpleString(b) | Value::Bulk(b) | Value::BigNumber(b) => b.len(),
        Value::Verbatim { text, .. } => text.len(),
        Value::Array(items) | Value::Set(items) | Value::Push(items) => {
            items.iter().map(leaf_bytes).sum()
        }
        Value::Map(pairs) => pairs
            .iter()
            .map(|(k, v)| leaf_bytes(k) + leaf_bytes(v))
            .sum(),
        Value::Attribute { attributes, value } => {
            leaf_bytes(value)
                + attributes
                    .iter()
                    .map(|(k, v)| leaf_bytes(k) + leaf_bytes(v))
                    .sum::<usize>()
        }
        _ => 0,
    }
}

/// Values in a reply (each costs a `Value` in memory).
pub(super) fn nodes(v: &Value) -> usize {
    1 + match v {
        Value::Array(items) | Value::Set(items) | Value::Push(items) => {
            items.iter().map(nodes).sum()
        }
        Value::Map(pairs) => pairs.iter().map(|(k, v)| nodes(k) + nodes(v)).sum(),
        Value::Attribute { attributes, value } => {
            nodes(value)
                + attributes
                    .iter()
                    .map(|(k, v)| nodes(k) + nodes(v))
                    .sum::<usize>()
        }
        _ => 0,
    }
}

/// A copy of `v` whose strings share `buf` (which holds room for all of them): the
/// kept reply holds exactly its bytes, and cloning a string counts a reference.
pub(super) fn compact(v: &Value, buf: &mut BytesMut) -> Value {
    let mut copy = |b: &Bytes| {
        if b.is_empty() {
            return Bytes::new();
        }
        buf.extend_from_slice(b);
        buf.split().freeze()
    };
    match v {
        Value::SimpleString(b) => Value::SimpleString(copy(b)),
        Value::Bulk(b) => Value::Bulk(copy(b)),
        Value::BigNumber(b) => Value::BigNumber(copy(b)),
        Value::Verbatim { format, text } => Value::Verbatim {
            format: *format,
            text: copy(text),
        },
        Value::Array(items) => Value::Array(items.iter().map(|v| compact(v, buf)).collect()),
        Value::Set(items) => Value::Set(items.iter().map(|v| compact(v, buf)).collect()),
        Value::Push(items) => Value::Push(items.iter().map(|v| compact(v, buf)).collect()),
        Value::Map(pairs) => Value::Map(
            pairs
                .iter()
                .map(|(k, v)| (compact(k, buf), compact(v, buf)))
                .collect(),
        ),
        Value::Attribute { attributes, value } => Value::Attribute {
            attributes: attributes
                .iter()
                .map(|(k, v)| (compact(k, buf), compact(v, buf)))
                .collect(),
            value: Box::new(compact(value, buf)),
        },
        other => other.clone(),
    }
}
