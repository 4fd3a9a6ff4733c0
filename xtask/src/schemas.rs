//! `cargo xtask schemas`: writes the reply schemas kept in `xtask/data/reply_schemas.txt`
//! (a compact shorthand, one line per command) into `commands/*.json` as `reply_schema`
//! and `typedis.reply_variants`, and applies `@block_order` lines.
//!
//! Shorthand: `i` integer, `f` number, `s` string, `n` a string of digits (a cursor),
//! `b` the integers 0 or 1 (a yes/no answer), `ok` const "OK", `"text"` a constant,
//! `any`, `X?` nullable, `[X]` array, `[]` an empty array, `{X}` map by string key,
//! `(X,Y,…)` fixed-size array (`(X,Y,...)`: at least those), `obj{name:X,…}` a map with
//! those fields, `X/Y` alternatives, `X@Type` the Rust type for `X` (`"typedis":
//! {"type": "Type"}` in the schema), and `Name` a record defined by an `@type Name: X`
//! line (its schema, typed `Name`). `name: shape | when=arg,arg: shape` adds a reply
//! variant.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Map, Value as Json};

use crate::merge::{read_spec, write_spec};

/// The records defined by `@type` lines: name → schema.
pub type Records = BTreeMap<String, Json>;

/// Parses one shape, with no records defined.
pub fn parse_shape(s: &str) -> Result<Json, String> {
    parse_with(s, &Records::new())
}

/// Parses one shape; `Name`s are looked up in `records`.
pub fn parse_with(s: &str, records: &Records) -> Result<Json, String> {
    let s = s.trim();
    if let Some((shape, ty)) = split_last_top(s, '@') {
        let mut schema = parse_with(shape, records)?;
        annotate(&mut schema, ty.trim())?;
        return Ok(schema);
    }
    let alts = split_top(s, '/');
    if alts.len() > 1 {
        let alts = alts
            .iter()
            .map(|a| parse_with(a, records))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(json!({ "oneOf": alts }));
    }
    if let Some(inner) = s.strip_suffix('?') {
        return Ok(json!({"oneOf": [parse_with(inner, records)?, {"type": "null"}]}));
    }
    if s == "[]" {
        return Ok(json!({"type": "array", "maxItems": 0}));
    }
    if let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return Ok(json!({"type": "array", "items": parse_with(inner, records)?}));
    }
    if let Some(inner) = s.strip_prefix("obj{").and_then(|r| r.strip_suffix('}')) {
        let mut properties = Map::new();
        for field in split_top(inner, ',') {
            let (name, shape) = field
                .split_once(':')
                .ok_or_else(|| format!("expected `name:shape` in obj{{…}}, got {field:?}"))?;
            properties.insert(name.trim().to_owned(), parse_with(shape, records)?);
        }
        return Ok(json!({"type": "object", "properties": properties}));
    }
    if let Some(inner) = s.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
        return Ok(json!({"type": "object", "additionalProperties": parse_with(inner, records)?}));
    }
    if let Some(inner) = s.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        let mut parts = split_top(inner, ',');
        let open = parts.last().is_some_and(|p| p.trim() == "...");
        if open {
            parts.pop();
        }
        let items = parts
            .iter()
            .map(|p| parse_with(p, records))
            .collect::<Result<Vec<_>, _>>()?;
        let n = items.len();
        return Ok(if open {
            json!({"type": "array", "items": items, "minItems": n})
        } else {
            json!({"type": "array", "items": items, "minItems": n, "maxItems": n})
        });
    }
    if let Some(text) = s.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        return Ok(json!({ "const": text }));
    }
    Ok(match s {
        "i" => json!({"type": "integer"}),
        "f" => json!({"type": "number"}),
        "s" => json!({"type": "string"}),
        "n" => json!({"type": "string", "pattern": "^[0-9]+$"}),
        "b" => json!({"oneOf": [{"const": 0}, {"const": 1}]}),
        "ok" => json!({"const": "OK"}),
        "any" => json!({}),
        name if name.starts_with(|c: char| c.is_ascii_uppercase()) => match records.get(name) {
            Some(schema) => {
                let mut schema = schema.clone();
                annotate(&mut schema, name)?;
                schema
            }
            None => {
                return Err(format!(
                    "unknown record {name:?} (define it with `@type {name}: shape`)"
                ))
            }
        },
        other => return Err(format!("unknown shape {other:?}")),
    })
}

/// Adds the Rust type of a schema node.
fn annotate(schema: &mut Json, ty: &str) -> Result<(), String> {
    let Json::Object(m) = schema else {
        return Err(format!("cannot type {schema}"));
    };
    m.insert("typedis".into(), json!({ "type": ty }));
    Ok(())
}

/// Splits at top-level `sep`s: not inside `()`, `[]`, `{}`, `<>` or quotes.
fn split_top(s: &str, sep: char) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut quoted = false;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '"' => quoted = !quoted,
            '(' | '[' | '{' | '<' if !quoted => depth += 1,
            ')' | ']' | '}' | '>' if !quoted => depth -= 1,
            c if c == sep && depth == 0 && !quoted => {
                parts.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    parts.push(cur);
    parts
}

/// Splits at the last top-level `sep`, if there is one.
fn split_last_top(s: &str, sep: char) -> Option<(&str, &str)> {
    let parts = split_top(s, sep);
    if parts.len() < 2 {
        return None;
    }
    let last = parts.last()?.len();
    let at = s.len() - last - sep.len_utf8();
    Some((&s[..at], &s[at + sep.len_utf8()..]))
}

/// An edit of one spec body.
type Edit = Box<dyn Fn(&mut Map<String, Json>) -> Result<(), String>>;

fn ext(body: &mut Map<String, Json>) -> &mut Map<String, Json> {
    let e = body.entry("typedis").or_insert_with(|| json!({}));
    if !e.is_object() {
        *e = json!({});
    }
    e.as_object_mut().expect("just made an object")
}

/// Applies the data file to the spec directory; returns how many files changed.
pub fn apply(data: &str, dir: &Path) -> Result<usize, String> {
    let mut changed = 0;
    let mut records = Records::new();
    for (n, line) in data.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = |e: String| format!("reply_schemas.txt line {}: {e}", n + 1);
        if let Some(rest) = line.strip_prefix("@type ") {
            let (name, shape) = rest
                .split_once(':')
                .ok_or_else(|| at("expected `@type Name: shape`".into()))?;
            let schema = parse_with(shape, &records).map_err(at)?;
            records.insert(name.trim().to_owned(), schema);
            continue;
        }
        let (name, edit): (&str, Edit) = if let Some(rest) = line.strip_prefix("@block_order ") {
            let (head, order) = rest
                .split_once(':')
                .ok_or_else(|| at("expected `@block_order cmd block: a,b`".into()))?;
            let (cmd, block) = head
                .trim()
                .split_once(' ')
                .ok_or_else(|| at("expected a command and a block name".into()))?;
            let block = block.trim().to_owned();
            let order: Vec<String> = order.split(',').map(|s| s.trim().to_owned()).collect();
            (
                cmd,
                Box::new(move |body| {
                    let e = ext(body);
                    let bo = e.entry("block_order").or_insert_with(|| json!({}));
                    bo[&block] = json!(order);
                    Ok(())
                }),
            )
        } else {
            let (name, shapes) = line
                .split_once(':')
                .ok_or_else(|| at("expected `name: shape`".into()))?;
            let mut parts = shapes.split('|');
            let base = parse_with(parts.next().unwrap_or("any"), &records).map_err(at)?;
            let mut variants = Vec::new();
            for p in parts {
                let p = p.trim();
                let rest = p
                    .strip_prefix("when=")
                    .ok_or_else(|| at(format!("expected `when=args: shape`, got {p:?}")))?;
                let (args, shape) = rest
                    .split_once(':')
                    .ok_or_else(|| at(format!("expected `when=args: shape`, got {p:?}")))?;
                let when: Vec<&str> = args.split(',').map(str::trim).collect();
                variants.push(
                    json!({"when": when, "reply_schema": parse_with(shape, &records).map_err(at)?}),
                );
            }
            (
                name,
                Box::new(move |body| {
                    body.insert("reply_schema".into(), base.clone());
                    let e = ext(body);
                    if variants.is_empty() {
                        e.remove("reply_variants");
                    } else {
                        e.insert("reply_variants".into(), json!(variants));
                    }
                    Ok(())
                }),
            )
        };
        let path = dir.join(format!("{}.json", name.trim()));
        let Some((key, mut body)) = read_spec(&path)? else {
            return Err(at(format!("no spec file {}", path.display())));
        };
        let before = body.clone();
        edit(&mut body)?;
        // Keep our fields last.
        for k in ["reply_schema", "typedis"] {
            if let Some(v) = body.remove(k) {
                body.insert(k.into(), v);
            }
        }
        if body != before {
            write_spec(&path, &key, &body)?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// The `cargo xtask` entry of this task.
pub fn main(args: &[String]) -> Result<u8, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = match args {
        [flag, d] if flag == "--out" => Path::new(d).to_owned(),
        [] => root.join("../commands"),
        _ => return Err("usage: cargo xtask schemas [--out DIR]".into()),
    };
    let data =
        std::fs::read_to_string(root.join("data/reply_schemas.txt")).map_err(|e| e.to_string())?;
    let changed = apply(&data, &dir)?;
    println!("reply schemas: {changed} spec files updated");
    let workspace = crate::servers::workspace_root();
    if dir.canonicalize().ok() == workspace.join("commands").canonicalize().ok() {
        crate::codegen::regenerate(&workspace)?;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorthand() {
        assert_eq!(
            parse_shape("s?").unwrap(),
            json!({"oneOf": [{"type": "string"}, {"type": "null"}]})
        );
        assert_eq!(
            parse_shape("[(s,f)]").unwrap(),
            json!({"type": "array", "items": {"type": "array", "items": [{"type": "string"}, {"type": "number"}], "minItems": 2, "maxItems": 2}})
        );
        assert!(parse_shape("x").is_err());
    }

    #[test]
    fn digits_predicates_alternatives_and_open_tuples() {
        assert_eq!(
            parse_shape("n").unwrap(),
            json!({"type": "string", "pattern": "^[0-9]+$"})
        );
        assert_eq!(
            parse_shape("b").unwrap(),
            json!({"oneOf": [{"const": 0}, {"const": 1}]})
        );
        assert_eq!(
            parse_shape("(s,f)/[]").unwrap(),
            json!({"oneOf": [
                {"type": "array", "items": [{"type": "string"}, {"type": "number"}], "minItems": 2, "maxItems": 2},
                {"type": "array", "maxItems": 0}
            ]})
        );
        assert_eq!(
            parse_shape("(s,i,...)").unwrap(),
            json!({"type": "array", "items": [{"type": "string"}, {"type": "integer"}], "minItems": 2})
        );
        assert_eq!(
            parse_shape("(\"master\",i)").unwrap()["items"][0],
            json!({"const": "master"})
        );
    }

    #[test]
    fn records_and_rust_types() {
        let mut records = Records::new();
        records.insert("Entry".into(), parse_shape("(s,[s])").unwrap());
        let s = parse_with("{[Entry]}?", &records).unwrap();
        let entry = &s["oneOf"][0]["additionalProperties"]["items"];
        assert_eq!(entry["typedis"], json!({"type": "Entry"}));
        assert_eq!(
            entry["items"][1],
            json!({"type": "array", "items": {"type": "string"}})
        );
        let s = parse_with("s@Vec<ClientInfo>", &records).unwrap();
        assert_eq!(
            s,
            json!({"type": "string", "typedis": {"type": "Vec<ClientInfo>"}})
        );
        let s = parse_with("obj{name:s,lag:i?}", &records).unwrap();
        assert_eq!(s["properties"]["lag"]["oneOf"][1], json!({"type": "null"}));
        assert!(parse_with("[Nope]", &records)
            .unwrap_err()
            .contains("@type Nope"));
    }
}
