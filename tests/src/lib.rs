//! Shared code of the integration tests (the servers are started by
//! `tests/support/mod.rs`): argv synthesis from command specs, and whether a reply fits
//! a reply schema.

use serde_json::Value as Json;
use typedis::Value;
use typedis_codegen::spec::{ArgKind, Argument};

/// Builds an argv from an argument spec: required arguments only, or every optional one
/// too (first alternative of each `oneof`); `multiple` arguments twice.
pub fn synthesize(name: &str, args: &[Argument], with_optional: bool) -> Vec<String> {
    let mut out: Vec<String> = name.split(' ').map(str::to_owned).collect();
    let mut keyn = 0;
    for a in args {
        emit(a, with_optional, &mut out, &mut keyn, false);
    }
    out
}

fn emit(a: &Argument, opt: bool, out: &mut Vec<String>, keyn: &mut usize, nested: bool) {
    if a.optional && !opt && !nested {
        return;
    }
    if a.optional && !opt {
        return;
    }
    let reps = if a.multiple { 2 } else { 1 };
    for r in 0..reps {
        if let Some(t) = &a.token {
            if r == 0 || a.multiple_token {
                out.push(t.clone());
            }
        }
        match a.kind {
            ArgKind::Key => {
                *keyn += 1;
                out.push(format!("key{keyn}"));
            }
            ArgKind::Integer => {
                // Key counts must match the keys that follow (always 2 here).
                let n = if a.name.contains("num") { "2" } else { "1" };
                out.push(n.into());
            }
            ArgKind::Double => out.push("1.5".into()),
            ArgKind::UnixTime => out.push("1700000000".into()),
            ArgKind::String => out.push(format!("{}{}", a.name.replace('-', ""), r + 1)),
            ArgKind::Pattern => out.push("pat*".into()),
            ArgKind::PureToken => {
                if a.token.is_none() {
                    out.push(a.name.to_uppercase());
                }
            }
            ArgKind::Oneof => {
                if let Some(first) = a.arguments.first() {
                    emit(first, opt, out, keyn, true);
                }
            }
            ArgKind::Block => {
                for m in &a.arguments {
                    emit(m, opt, out, keyn, true);
                }
            }
        }
    }
}

/// Builds an argv that uses the argument at `path` (names from the top, `by/polygon`):
/// the required arguments, and on the way down to it the groups that hold it (the
/// `oneof` alternative on the path, every required member of a block). Keys are
/// `key1`, `key2`, …; counts (`num…`) match the `multiple` values that follow, which are
/// written `reps` times (a `multiple` oneof once). `value` may give a sample value by argument name.
pub fn synthesize_path(
    name: &str,
    args: &[Argument],
    path: &[&str],
    reps: usize,
    value: &dyn Fn(&Argument) -> Option<String>,
) -> Vec<String> {
    let mut s = Sampler {
        out: name.split(' ').map(str::to_owned).collect(),
        keyn: 0,
        reps,
        value,
    };
    s.list(args, path);
    s.out
}

struct Sampler<'a> {
    out: Vec<String>,
    keyn: usize,
    reps: usize,
    value: &'a dyn Fn(&Argument) -> Option<String>,
}

impl Sampler<'_> {
    /// The members of a block (or the top level): the one on `path`, and the required.
    fn list(&mut self, args: &[Argument], path: &[&str]) {
        for a in args {
            match path.split_first() {
                Some((first, rest)) if *first == a.name => self.arg(a, rest),
                _ if !a.optional => self.arg(a, &[]),
                _ => {}
            }
        }
    }

    /// One argument; `path` goes on inside it.
    fn arg(&mut self, a: &Argument, path: &[&str]) {
        // A repeated choice is made once: one is enough to use it.
        let reps = if a.multiple && a.kind != ArgKind::Oneof {
            self.reps
        } else {
            1
        };
        for r in 0..reps {
            if let Some(t) = &a.token {
                if r == 0 || a.multiple_token {
                    self.out.push(t.clone());
                }
            }
            if let Some(v) = (self.value)(a) {
                self.out.push(v);
                continue;
            }
            match a.kind {
                ArgKind::Key => {
                    self.keyn += 1;
                    self.out.push(format!("key{}", self.keyn));
                }
                ArgKind::Integer => {
                    let n = if a.name.contains("num") { self.reps } else { 1 };
                    self.out.push(n.to_string());
                }
                ArgKind::Double => self.out.push("1.5".into()),
                ArgKind::UnixTime => self.out.push("1700000000".into()),
                ArgKind::String => self.out.push(a.name.replace('-', "")),
                ArgKind::Pattern => self.out.push("pat*".into()),
                ArgKind::PureToken => {
                    if a.token.is_none() {
                        self.out.push(a.name.to_uppercase());
                    }
                }
                ArgKind::Oneof => {
                    let pick = match path.first() {
                        Some(n) => a.arguments.iter().find(|m| m.name == *n),
                        None => a.arguments.first(),
                    };
                    if let Some(m) = pick {
                        self.arg(m, path.get(1..).unwrap_or_default());
                    }
                }
                ArgKind::Block => self.list(&a.arguments, path),
            }
        }
    }
}

/// Whether `v` fits `schema` (the JSON-schema subset of the specs), in either protocol's
/// shape.
pub fn fits(v: &Value, schema: &Json) -> bool {
    let Json::Object(m) = schema else { return true };
    let v = match v {
        Value::Attribute { value, .. } => value,
        other => other,
    };
    if let Some(c) = m.get("const") {
        return match (c, v) {
            (Json::String(s), Value::SimpleString(b) | Value::Bulk(b)) => b == s.as_bytes(),
            (Json::Number(n), Value::Int(i)) => n.as_i64() == Some(*i),
            _ => false,
        };
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(Json::Array(alts)) = m.get(key) {
            return alts.iter().any(|a| fits(v, a));
        }
    }
    let text = |v: &Value| {
        matches!(
            v,
            Value::Bulk(_) | Value::SimpleString(_) | Value::Verbatim { .. } | Value::BigNumber(_)
        )
    };
    match m.get("type").and_then(Json::as_str) {
        None => true,
        Some("integer") => matches!(v, Value::Int(_)),
        Some("number") => match v {
            Value::Double(_) | Value::Int(_) => true,
            Value::Bulk(b) => std::str::from_utf8(b)
                .ok()
                .and_then(|s| {
                    s.parse::<f64>()
                        .ok()
                        .or(matches!(s, "inf" | "-inf" | "nan").then_some(0.0))
                })
                .is_some(),
            _ => false,
        },
        Some("boolean") => matches!(v, Value::Boolean(_) | Value::Int(0 | 1)),
        Some("string") => match m.get("pattern").and_then(Json::as_str) {
            Some("^[0-9]+$") => match v {
                Value::Bulk(b) | Value::SimpleString(b) => {
                    !b.is_empty() && b.iter().all(u8::is_ascii_digit)
                }
                _ => false,
            },
            _ => text(v),
        },
        Some("null") => matches!(v, Value::Nil),
        Some("array") => {
            let items = match v {
                Value::Array(i) | Value::Set(i) | Value::Push(i) => i.clone(),
                Value::Map(p) => p.iter().flat_map(|(k, v)| [k.clone(), v.clone()]).collect(),
                _ => return false,
            };
            let min = m.get("minItems").and_then(Json::as_u64).unwrap_or(0) as usize;
            let max = m.get("maxItems").and_then(Json::as_u64).map(|n| n as usize);
            if items.len() < min || max.is_some_and(|max| items.len() > max) {
                return false;
            }
            match m.get("items") {
                Some(Json::Array(tuple)) => items.iter().zip(tuple).all(|(i, s)| fits(i, s)),
                Some(item) => {
                    if items.iter().all(|i| fits(i, item)) {
                        return true;
                    }
                    // A flat RESP2 run of closed tuples for an array of them.
                    let closed = item.get("maxItems").and_then(Json::as_u64);
                    match item.get("items") {
                        Some(Json::Array(tuple))
                            if tuple.len() >= 2
                                && closed == Some(tuple.len() as u64)
                                && items.len() % tuple.len() == 0 =>
                        {
                            items
                                .chunks(tuple.len())
                                .all(|c| c.iter().zip(tuple).all(|(i, s)| fits(i, s)))
                        }
                        _ => false,
                    }
                }
                None => true,
            }
        }
        Some("object") => {
            let pairs: Vec<(Value, Value)> = match v {
                Value::Map(p) => p.clone(),
                // RESP2: pairs (`XREAD`) or a flat run of names and values.
                Value::Array(i)
                    if !i.is_empty()
                        && i.iter()
                            .all(|p| matches!(p, Value::Array(p) if p.len() == 2)) =>
                {
                    i.iter()
                        .map(|p| match p {
                            Value::Array(p) => (p[0].clone(), p[1].clone()),
                            _ => unreachable!("checked above"),
                        })
                        .collect()
                }
                Value::Array(i) if i.len() % 2 == 0 => {
                    i.chunks(2).map(|c| (c[0].clone(), c[1].clone())).collect()
                }
                _ => return false,
            };
            if let Some(Json::Object(props)) = m.get("properties") {
                return pairs.iter().all(|(k, v)| {
                    let name = match k {
                        Value::Bulk(b) | Value::SimpleString(b) => String::from_utf8_lossy(b),
                        _ => return false,
                    };
                    props.get(name.as_ref()).is_none_or(|s| fits(v, s))
                });
            }
            // RESP3 map keys may be integers (`LATENCY HISTOGRAM`'s buckets).
            let key = |k: &Value| text(k) || matches!(k, Value::Int(_));
            match m.get("additionalProperties") {
                Some(s @ Json::Object(_)) => pairs.iter().all(|(k, v)| key(k) && fits(v, s)),
                _ => true,
            }
        }
        Some(_) => true,
    }
}
