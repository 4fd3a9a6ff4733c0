//! From a `reply_schema` (JSON-schema subset) to the default Rust reply type.
//!
//! Rules (documented in commands/README.md):
//! - a node with `"typedis": {"type": "T"}` → `T` (a record of `typedis::reply`, see
//!   [`rust_type`] for how names are resolved);
//! - `{}` (the declared "any") → `Value`; no schema at all is an error;
//! - `const "OK"` → `()`; `oneOf [const OK, null]` (e.g. `SET … NX`) → `bool`
//!   (`true` when it was done); integer constants 0 and 1 only → `bool`;
//! - a `null` alternative → `Option<T>`; an empty-array alternative to a tuple (`ZPOPMIN
//!   key` with nothing to pop) → `Option<tuple>`;
//! - `integer` → `i64`, `number` → `f64`, `boolean` → `bool`, `string` → `Bytes`, a
//!   string of digits (`"pattern": "[0-9]+"`: cursors, `TIME`) → `u64`;
//! - `array` with `items: schema` → `Vec<T>`; with `items: [schemas]` (a fixed shape, up
//!   to 12) → a tuple;
//! - `object` with `additionalProperties` (or one `patternProperties`) → `HashMap<Bytes, T>`.
//!
//! Anything else is an error, not a silent `Value`: an object with fixed fields needs a
//! record type, alternatives of different shapes need `typedis.reply_variants` or a type.
//!
//! Every type produced here decodes both the RESP2 and the RESP3 shape of the reply.

use proc_macro2::{Group, Ident, Punct, Spacing, Span, TokenStream, TokenTree};
use quote::quote;
use serde_json::Value as Json;

/// The Rust type for a schema, or why there is none.
pub fn reply_type(schema: Option<&Json>) -> Result<TokenStream, String> {
    match schema {
        Some(s) => Ok(Shape::of(s, "")?.tokens()),
        None => Err("no reply schema: declare one (`{}` for a reply of any shape, a `Value`) or a `typedis.reply_type`".into()),
    }
}

/// A Rust type written in a spec (`typedis.reply_type`, a schema's `typedis.type`), with
/// short names resolved: `Vec`, `Option`, `HashMap`, `BTreeMap`, `String`, `Bytes` and
/// `Value` are the usual ones, primitives stay, and any other single capitalized name is
/// a record of `typedis::reply` (`Vec<StreamEntry>` is
/// `::std::vec::Vec<::typedis::reply::StreamEntry>`). Paths (`my_crate::Reply`) are kept.
pub fn rust_type(text: &str) -> Result<TokenStream, String> {
    let tokens: TokenStream = text
        .parse()
        .map_err(|_| format!("not a Rust type: {text}"))?;
    syn::parse2::<syn::Type>(tokens.clone()).map_err(|_| format!("not a Rust type: {text}"))?;
    Ok(resolve(tokens))
}

/// A generated type as a reader would write it, for docs: `Vec<(Bytes, f64)>`.
pub fn short_name(ty: &TokenStream) -> String {
    let mut s = ty.to_string().replace(' ', "");
    for path in [
        "::std::vec::",
        "::core::option::",
        "::std::collections::",
        "::std::string::",
        "::typedis::reply::",
        "::typedis::",
    ] {
        s = s.replace(path, "");
    }
    s.replace(",)", ")").replace(',', ", ")
}

fn resolve(tokens: TokenStream) -> TokenStream {
    let mut out = TokenStream::new();
    let mut prev_colon = false;
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, t) in trees.iter().enumerate() {
        match t {
            TokenTree::Group(g) => {
                let mut ng = Group::new(g.delimiter(), resolve(g.stream()));
                ng.set_span(g.span());
                out.extend([TokenTree::Group(ng)]);
                prev_colon = false;
            }
            TokenTree::Ident(id) => {
                let next_is_path =
                    matches!(trees.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == ':');
                if prev_colon || next_is_path {
                    out.extend([t.clone()]);
                } else {
                    out.extend(path_of(&id.to_string()));
                }
                prev_colon = false;
            }
            TokenTree::Punct(p) => {
                prev_colon = p.as_char() == ':';
                out.extend([t.clone()]);
            }
            TokenTree::Literal(_) => {
                prev_colon = false;
                out.extend([t.clone()]);
            }
        }
    }
    out
}

fn path_of(name: &str) -> TokenStream {
    let segments: &[&str] = match name {
        "Vec" => &["std", "vec", "Vec"],
        "Option" => &["core", "option", "Option"],
        "HashMap" => &["std", "collections", "HashMap"],
        "BTreeMap" => &["std", "collections", "BTreeMap"],
        "String" => &["std", "string", "String"],
        "Bytes" => &["typedis", "Bytes"],
        "Value" => &["typedis", "Value"],
        n if n.starts_with(|c: char| c.is_ascii_uppercase()) => &["typedis", "reply", n],
        n => {
            let id = Ident::new(n, Span::call_site());
            return quote!(#id);
        }
    };
    let mut out = TokenStream::new();
    for s in segments {
        out.extend([
            TokenTree::Punct(Punct::new(':', Spacing::Joint)),
            TokenTree::Punct(Punct::new(':', Spacing::Alone)),
            TokenTree::Ident(Ident::new(s, Span::call_site())),
        ]);
    }
    out
}

#[derive(Debug, Clone, PartialEq)]
enum Shape {
    Any,
    Ok,
    Null,
    /// An integer; `Some(n)` for a constant.
    Int(Option<i64>),
    Float,
    Bool,
    Str,
    /// A string of decimal digits.
    Digits,
    OkOrNull,
    EmptyArray,
    Option(Box<Shape>),
    Vec(Box<Shape>),
    Tuple(Vec<Shape>),
    Map(Box<Shape>),
    Named(String),
}

/// The JSON path of a node, for errors: `items/0`, `oneOf/1`, …
fn at(path: &str, key: impl std::fmt::Display) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}/{key}")
    }
}

fn fail<T>(path: &str, message: impl std::fmt::Display) -> Result<T, String> {
    if path.is_empty() {
        Err(message.to_string())
    } else {
        Err(format!("at `{path}`: {message}"))
    }
}

impl Shape {
    fn of(s: &Json, path: &str) -> Result<Shape, String> {
        let Json::Object(m) = s else {
            return fail(path, "a schema is an object");
        };
        if let Some(ext) = m.get("typedis") {
            let ty = ext.get("type").and_then(Json::as_str);
            return match ty {
                Some(t) => {
                    rust_type(t).map_err(|e| format!("at `{}`: {e}", at(path, "typedis/type")))?;
                    Ok(Shape::Named(t.to_owned()))
                }
                None => fail(&at(path, "typedis"), "expected {\"type\": \"RustType\"}"),
            };
        }
        if let Some(c) = m.get("const") {
            return match c {
                Json::String(t) if t == "OK" => Ok(Shape::Ok),
                Json::String(_) => Ok(Shape::Str),
                Json::Number(n) if n.is_i64() => Ok(Shape::Int(n.as_i64())),
                Json::Number(_) => Ok(Shape::Float),
                Json::Bool(_) => Ok(Shape::Bool),
                Json::Null => Ok(Shape::Null),
                other => fail(path, format!("no Rust type for the constant {other}")),
            };
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(alts) = m.get(key) {
                let Json::Array(alts) = alts else {
                    return fail(&at(path, key), "expected an array of schemas");
                };
                let shapes = alts
                    .iter()
                    .enumerate()
                    .map(|(i, a)| Shape::of(a, &at(&at(path, key), i)))
                    .collect::<Result<Vec<_>, _>>()?;
                return Shape::union(shapes, &at(path, key));
            }
        }
        let base = match m.get("type") {
            Some(Json::String(t)) => Shape::typed(t, m, path)?,
            Some(Json::Array(types)) => {
                let shapes = types
                    .iter()
                    .map(|t| match t.as_str() {
                        Some(t) => Shape::typed(t, m, path),
                        None => fail(&at(path, "type"), "expected type names"),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Shape::union(shapes, &at(path, "type"))?
            }
            Some(other) => return fail(&at(path, "type"), format!("not a type: {other}")),
            // `{}` (with at most a description) is the declared "any reply".
            None => Shape::Any,
        };
        if m.get("nullable") == Some(&Json::Bool(true)) {
            Shape::union(vec![base, Shape::Null], path)
        } else {
            Ok(base)
        }
    }

    fn typed(t: &str, m: &serde_json::Map<String, Json>, path: &str) -> Result<Shape, String> {
        Ok(match t {
            "integer" => Shape::Int(None),
            "number" => Shape::Float,
            "boolean" => Shape::Bool,
            "string" => match m.get("pattern").and_then(Json::as_str) {
                Some("[0-9]+" | "^[0-9]+$") => Shape::Digits,
                _ => Shape::Str,
            },
            "null" => Shape::Null,
            "array" => match m.get("items") {
                Some(Json::Array(items))
                    if m.get("maxItems").and_then(Json::as_u64) != Some(items.len() as u64) =>
                {
                    return fail(
                        path,
                        format!("an array of {} or more items has no tuple type: name a record type", items.len()),
                    )
                }
                Some(Json::Array(items)) if !items.is_empty() && items.len() <= 12 => {
                    Shape::Tuple(
                        items
                            .iter()
                            .enumerate()
                            .map(|(i, s)| Shape::of(s, &at(&at(path, "items"), i)))
                            .collect::<Result<_, _>>()?,
                    )
                }
                Some(Json::Array(items)) => {
                    return fail(
                        &at(path, "items"),
                        format!("a fixed array of {} items has no tuple type (at most 12): name a record type", items.len()),
                    )
                }
                Some(item @ Json::Object(_)) => {
                    Shape::Vec(Box::new(Shape::of(item, &at(path, "items"))?))
                }
                Some(other) => return fail(&at(path, "items"), format!("not a schema: {other}")),
                None if m.get("maxItems").and_then(Json::as_u64) == Some(0) => Shape::EmptyArray,
                None => Shape::Vec(Box::new(Shape::Any)),
            },
            "object" => {
                let patterns = m.get("patternProperties").and_then(Json::as_object);
                match (m.get("additionalProperties"), patterns) {
                    (Some(v @ Json::Object(_)), _) => {
                        Shape::Map(Box::new(Shape::of(v, &at(path, "additionalProperties"))?))
                    }
                    (_, Some(p)) if p.len() == 1 => {
                        let (k, v) = p.iter().next().expect("one pattern");
                        Shape::Map(Box::new(Shape::of(v, &at(&at(path, "patternProperties"), k))?))
                    }
                    _ if m.contains_key("properties") => {
                        return fail(
                            path,
                            "an object with fixed fields needs a record type: add \"typedis\": {\"type\": \"Name\"} to it",
                        )
                    }
                    _ => {
                        return fail(
                            path,
                            "an object needs `additionalProperties` (an open map; `{}` for any values) or a record type (\"typedis\": {\"type\": \"Name\"})",
                        )
                    }
                }
            }
            other => return fail(&at(path, "type"), format!("unknown type {other:?}")),
        })
    }

    fn union(alts: Vec<Shape>, path: &str) -> Result<Shape, String> {
        let nullable = alts.contains(&Shape::Null);
        let empty_array = alts.contains(&Shape::EmptyArray);
        let mut rest: Vec<Shape> = Vec::new();
        for a in alts {
            if !matches!(a, Shape::Null | Shape::EmptyArray) && !rest.contains(&a) {
                rest.push(a);
            }
        }
        // A 0/1 answer is a yes or a no.
        if rest.len() == 2 && rest.iter().all(|a| matches!(a, Shape::Int(Some(0 | 1)))) {
            rest = vec![Shape::Bool];
        }
        // Integers, constant or not, are integers.
        if rest.len() > 1 && rest.iter().all(|a| matches!(a, Shape::Int(_))) {
            rest = vec![Shape::Int(None)];
        }
        // `OK` and a plain string are both strings.
        if rest.len() > 1 && rest.iter().all(|a| matches!(a, Shape::Ok | Shape::Str)) {
            rest = vec![Shape::Str];
        }
        let inner = match rest.len() {
            0 if empty_array => return Ok(Shape::Vec(Box::new(Shape::Any))),
            0 => return Ok(Shape::Null),
            1 => rest.pop().unwrap_or(Shape::Any),
            _ => {
                let shown: Vec<String> = rest.iter().map(|s| s.tokens().to_string()).collect();
                return fail(
                    path,
                    format!(
                        "alternatives of different shapes ({}): split them into `typedis.reply_variants` by the argument that picks one, or name a type",
                        shown.join(" | ").replace(' ', "")
                    ),
                );
            }
        };
        let inner = match (empty_array, inner) {
            (false, s) => s,
            // An empty array where a tuple would be: there is none.
            (true, s @ Shape::Tuple(_)) => Shape::Option(Box::new(s)),
            (true, s @ Shape::Vec(_)) => s,
            (true, s) => {
                return fail(
                    path,
                    format!("an empty array as an alternative to {}", s.tokens()),
                )
            }
        };
        Ok(match (nullable, inner) {
            (false, s) => s,
            (true, Shape::Ok) => Shape::OkOrNull,
            (true, Shape::Any) => Shape::Any,
            (true, s @ Shape::Option(_)) => s,
            (true, s) => Shape::Option(Box::new(s)),
        })
    }

    fn tokens(&self) -> TokenStream {
        match self {
            Shape::Any => quote!(::typedis::Value),
            Shape::Ok | Shape::Null => quote!(()),
            Shape::Int(_) => quote!(i64),
            Shape::Float => quote!(f64),
            Shape::Bool | Shape::OkOrNull => quote!(bool),
            Shape::Str => quote!(::typedis::Bytes),
            Shape::Digits => quote!(u64),
            Shape::EmptyArray => quote!(::std::vec::Vec<::typedis::Value>),
            Shape::Option(s) => {
                let s = s.tokens();
                quote!(::core::option::Option<#s>)
            }
            Shape::Vec(s) => {
                let s = s.tokens();
                quote!(::std::vec::Vec<#s>)
            }
            Shape::Tuple(items) => {
                let items: Vec<TokenStream> = items.iter().map(Shape::tokens).collect();
                quote!((#(#items,)*))
            }
            Shape::Map(v) => {
                let v = v.tokens();
                quote!(::std::collections::HashMap<::typedis::Bytes, #v>)
            }
            // Checked when the shape was made.
            Shape::Named(t) => rust_type(t).unwrap_or_else(|_| quote!(::typedis::Value)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ty(s: Json) -> String {
        reply_type(Some(&s)).unwrap().to_string().replace(' ', "")
    }

    fn err(s: Json) -> String {
        reply_type(Some(&s)).unwrap_err()
    }

    #[test]
    fn maps_common_shapes() {
        assert_eq!(ty(json!({"type": "integer"})), "i64");
        assert_eq!(ty(json!({"const": "OK"})), "()");
        assert_eq!(
            ty(json!({"oneOf": [{"const": "OK"}, {"type": "null"}]})),
            "bool"
        );
        assert_eq!(
            ty(json!({"oneOf": [{"type": "string"}, {"type": "null"}]})),
            "::core::option::Option<::typedis::Bytes>"
        );
        assert_eq!(
            ty(json!({"type": "array", "items": {"type": "string"}})),
            "::std::vec::Vec<::typedis::Bytes>"
        );
        assert_eq!(
            ty(
                json!({"type": "array", "items": [{"type": "string"}, {"type": "number"}], "maxItems": 2})
            ),
            "(::typedis::Bytes,f64,)"
        );
        assert_eq!(
            ty(json!({"type": "object", "additionalProperties": {"type": "string"}})),
            "::std::collections::HashMap<::typedis::Bytes,::typedis::Bytes>"
        );
        assert_eq!(ty(json!({})), "::typedis::Value");
        assert_eq!(
            ty(json!({"description": "what the script returns"})),
            "::typedis::Value"
        );
    }

    #[test]
    fn predicates_cursors_and_empty_pops() {
        // EXPIRE, SISMEMBER, …: 0 or 1.
        assert_eq!(ty(json!({"oneOf": [{"const": 0}, {"const": 1}]})), "bool");
        // TTL: -2, -1 or a number of seconds.
        assert_eq!(
            ty(json!({"oneOf": [{"type": "integer"}, {"const": -1}, {"const": -2}]})),
            "i64"
        );
        // SCAN's cursor, TIME.
        assert_eq!(
            ty(
                json!({"type": "array", "items": [{"type": "string", "pattern": "[0-9]+"}, {"type": "array", "items": {"type": "string"}}], "maxItems": 2})
            ),
            "(u64,::std::vec::Vec<::typedis::Bytes>,)"
        );
        // ZPOPMIN key: a pair, or an empty array.
        assert_eq!(
            ty(
                json!({"oneOf": [{"type": "array", "items": [{"type": "string"}, {"type": "number"}], "maxItems": 2}, {"type": "array", "maxItems": 0}]})
            ),
            "::core::option::Option<(::typedis::Bytes,f64,)>"
        );
    }

    #[test]
    fn records_by_name() {
        assert_eq!(
            ty(
                json!({"type": "array", "items": {"type": "array", "items": [{"type": "string"}, {"type": "array"}], "typedis": {"type": "StreamEntry"}}})
            ),
            "::std::vec::Vec<::typedis::reply::StreamEntry>"
        );
        assert_eq!(
            ty(json!({"type": "string", "typedis": {"type": "Vec<ClientInfo>"}})),
            "::std::vec::Vec<::typedis::reply::ClientInfo>"
        );
        assert_eq!(
            ty(json!({"typedis": {"type": "XAutoClaim<Bytes>"}})),
            "::typedis::reply::XAutoClaim<::typedis::Bytes>"
        );
        assert_eq!(
            ty(json!({"typedis": {"type": "(u64, HashMap<String, my_crate::Thing>)"}})),
            "(u64,::std::collections::HashMap<::std::string::String,my_crate::Thing>)"
        );
        assert_eq!(
            ty(json!({"typedis": {"type": "::std::time::SystemTime"}})),
            "::std::time::SystemTime"
        );
    }

    #[test]
    fn refuses_what_it_cannot_map() {
        let e = err(json!({"oneOf": [{"type": "string"}, {"type": "integer"}]}));
        assert!(e.contains("different shapes") && e.contains("oneOf"), "{e}");
        let e = err(json!({"type": "object", "properties": {"name": {"type": "string"}}}));
        assert!(e.contains("record type"), "{e}");
        let e = err(json!({"type": "object"}));
        assert!(e.contains("additionalProperties"), "{e}");
        let e = err(json!({"type": "array", "items": {"type": "thing"}}));
        assert!(e.contains("at `items/type`") && e.contains("thing"), "{e}");
        let e = err(json!({"typedis": {"type": "Vec<"}}));
        assert!(e.contains("not a Rust type"), "{e}");
        let e = err(
            json!({"type": "array", "items": (0..13).map(|_| json!({"type": "integer"})).collect::<Vec<_>>(), "maxItems": 13}),
        );
        assert!(e.contains("13 items"), "{e}");
        let e = err(json!({"type": "array", "items": [{"type": "string"}], "minItems": 1}));
        assert!(e.contains("1 or more items"), "{e}");
    }
}
