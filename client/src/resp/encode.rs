//! Writing values as RESP. Commands do not come through here (`Args` encodes them as
//! they are built); this serves fake servers in tests and round-trip property tests.

use bytes::{BufMut, BytesMut};

use crate::value::Value;

fn header(out: &mut BytesMut, kind: u8, n: usize) {
    let mut b = itoa::Buffer::new();
    out.put_u8(kind);
    out.put_slice(b.format(n).as_bytes());
    out.put_slice(b"\r\n");
}

fn blob(out: &mut BytesMut, kind: u8, data: &[u8]) {
    header(out, kind, data.len());
    out.put_slice(data);
    out.put_slice(b"\r\n");
}

/// Writes `value` as RESP3.
pub fn encode_value(value: &Value, out: &mut BytesMut) {
    match value {
        Value::Nil => out.put_slice(b"_\r\n"),
        Value::SimpleString(s) => {
            out.put_u8(b'+');
            out.put_slice(s);
            out.put_slice(b"\r\n");
        }
        Value::Error(e) => blob(out, b'!', e.to_string().as_bytes()),
        Value::Int(n) => {
            let mut b = itoa::Buffer::new();
            out.put_u8(b':');
            out.put_slice(b.format(*n).as_bytes());
            out.put_slice(b"\r\n");
        }
        Value::Bulk(b) => blob(out, b'$', b),
        Value::Array(items) => {
            header(out, b'*', items.len());
            items.iter().for_each(|v| encode_value(v, out));
        }
        Value::Double(d) => {
            out.put_u8(b',');
            if d.is_nan() {
                out.put_slice(b"nan");
            } else if d.is_infinite() {
                out.put_slice(if *d > 0.0 { b"inf" } else { b"-inf" });
            } else {
                let mut b = ryu::Buffer::new();
                out.put_slice(b.format_finite(*d).as_bytes());
            }
            out.put_slice(b"\r\n");
        }
        Value::Boolean(b) => out.put_slice(if *b { b"#t\r\n" } else { b"#f\r\n" }),
        Value::BigNumber(n) => {
            out.put_u8(b'(');
            out.put_slice(n);
            out.put_slice(b"\r\n");
        }
        Value::Verbatim { format, text } => {
            header(out, b'=', format.len() + 1 + text.len());
            out.put_slice(&format[..]);
            out.put_u8(b':');
            out.put_slice(text);
            out.put_slice(b"\r\n");
        }
        Value::Map(pairs) => {
            header(out, b'%', pairs.len());
            for (k, v) in pairs {
                encode_value(k, out);
                encode_value(v, out);
            }
        }
        Value::Set(items) => {
            header(out, b'~', items.len());
            items.iter().for_each(|v| encode_value(v, out));
        }
        Value::Attribute { attributes, value } => {
            header(out, b'|', attributes.len());
            for (k, v) in attributes {
                encode_value(k, out);
                encode_value(v, out);
            }
            encode_value(value, out);
        }
        Value::Push(items) => {
            header(out, b'>', items.len());
            items.iter().for_each(|v| encode_value(v, out));
        }
    }
}

/// Writes `value` the way a RESP2 server would: maps and sets as flat arrays, doubles
/// and big numbers as bulk strings, nil as a null bulk, booleans as integers.
pub fn encode_value_resp2(value: &Value, out: &mut BytesMut) {
    match value {
        Value::Nil => out.put_slice(b"$-1\r\n"),
        Value::Error(e) => {
            out.put_u8(b'-');
            out.put_slice(e.to_string().replace(['\r', '\n'], " ").as_bytes());
            out.put_slice(b"\r\n");
        }
        Value::Double(d) => {
            let text = if d.is_infinite() {
                if *d > 0.0 {
                    "inf".to_owned()
                } else {
                    "-inf".to_owned()
                }
            } else {
                d.to_string()
            };
            blob(out, b'$', text.as_bytes());
        }
        Value::Boolean(b) => out.put_slice(if *b { b":1\r\n" } else { b":0\r\n" }),
        Value::BigNumber(n) => blob(out, b'$', n),
        Value::Verbatim { text, .. } => blob(out, b'$', text),
        Value::Array(items) | Value::Set(items) | Value::Push(items) => {
            header(out, b'*', items.len());
            items.iter().for_each(|v| encode_value_resp2(v, out));
        }
        Value::Map(pairs) => {
            header(out, b'*', pairs.len() * 2);
            for (k, v) in pairs {
                encode_value_resp2(k, out);
                encode_value_resp2(v, out);
            }
        }
        Value::Attribute { value, .. } => encode_value_resp2(value, out),
        other => encode_value(other, out),
    }
}
