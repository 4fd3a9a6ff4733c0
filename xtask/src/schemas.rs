//! `cargo xtask schemas`: writes the reply schemas kept in `xtask/data/reply_schemas.txt`
//! (a compact shorthand, one line per command) into `commands/*.json` as `reply_schema`
//! and `typedis.reply_variants`, and applies `@block_order` lines.
//!
//! Shorthand: `i` integer, `f` number, `s` string, `ok` const "OK", `any`, `obj` (a map
//! with fixed fields), `X?` nullable, `[X]` array, `{X}` map by string key, `(X,Y,…)`
//! fixed-size array. `name: shape | when=arg,arg: shape` adds a reply variant.

use std::path::Path;

use serde_json::{json, Map, Value as Json};

use crate::merge::{read_spec, write_spec};

/// Parses one shape.
pub fn parse_shape(s: &str) -> Result<Json, String> {
    let s = s.trim();
    if let Some(inner) = s.strip_suffix('?') {
        return Ok(json!({"oneOf": [parse_shape(inner)?, {"type": "null"}]}));
    }
    if let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return Ok(json!({"type": "array", "items": parse_shape(inner)?}));
    }
    if let Some(inner) = s.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
        return Ok(json!({"type": "object", "additionalProperties": parse_shape(inner)?}));
    }
    if let Some(inner) = s.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        let items = split_top(inner)
            .iter()
            .map(|p| parse_shape(p))
            .collect::<Result<Vec<_>, _>>()?;
        let n = items.len();
        return Ok(json!({"type": "array", "items": items, "minItems": n, "maxItems": n}));
    }
    Ok(match s {
        "i" => json!({"type": "integer"}),
        "f" => json!({"type": "number"}),
        "s" => json!({"type": "string"}),
        "ok" => json!({"const": "OK"}),
        "any" => json!({}),
        "obj" => json!({"type": "object"}),
        other => return Err(format!("unknown shape {other:?}")),
    })
}

/// Splits `a,(b,c),[d]` at top-level commas.
fn split_top(s: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
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
    for (n, line) in data.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = |e: String| format!("reply_schemas.txt line {}: {e}", n + 1);
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
            let base = parse_shape(parts.next().unwrap_or("any")).map_err(at)?;
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
                variants
                    .push(json!({"when": when, "reply_schema": parse_shape(shape).map_err(at)?}));
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
}
