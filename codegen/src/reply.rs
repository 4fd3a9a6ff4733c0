//! From a `reply_schema` (JSON-schema subset) to the default Rust reply type.
//!
//! Rules, in order (documented in commands/README.md):
//! - no schema, `{}`, or alternatives of different shapes → `Value`;
//! - `const "OK"` → `()`; `oneOf [const OK, null]` (e.g. `SET … NX`) → `bool`
//!   (`true` when it was done);
//! - a `null` alternative → `Option<T>`;
//! - `integer` → `i64`, `number` → `f64`, `boolean` → `bool`, `string` → `Bytes`;
//! - `array` with `items: schema` → `Vec<T>`; with `items: [schemas]` (a fixed shape, up
//!   to 12) → a tuple;
//! - `object` with `additionalProperties: schema` → `HashMap<Bytes, T>`; other objects →
//!   `HashMap<String, Value>`.
//!
//! Every type produced here decodes both the RESP2 and the RESP3 shape of the reply.

use proc_macro2::TokenStream;
use quote::quote;
use serde_json::Value as Json;

/// The Rust type for a schema.
pub fn reply_type(schema: Option<&Json>) -> TokenStream {
    match schema {
        Some(s) => Shape::of(s).tokens(),
        None => quote!(::typedis::Value),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Shape {
    Any,
    Ok,
    Null,
    Int,
    Float,
    Bool,
    Str,
    OkOrNull,
    Option(Box<Shape>),
    Vec(Box<Shape>),
    Tuple(Vec<Shape>),
    Map(Box<Shape>),
    Object,
}

impl Shape {
    fn of(s: &Json) -> Shape {
        let Json::Object(m) = s else {
            return Shape::Any;
        };
        if let Some(c) = m.get("const") {
            return match c {
                Json::String(t) if t == "OK" => Shape::Ok,
                Json::String(_) => Shape::Str,
                Json::Number(n) if n.is_i64() => Shape::Int,
                Json::Number(_) => Shape::Float,
                Json::Bool(_) => Shape::Bool,
                Json::Null => Shape::Null,
                _ => Shape::Any,
            };
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(Json::Array(alts)) = m.get(key) {
                return Shape::union(alts.iter().map(Shape::of).collect());
            }
        }
        let base = match m.get("type") {
            Some(Json::String(t)) => Shape::typed(t, m),
            Some(Json::Array(types)) => Shape::union(
                types
                    .iter()
                    .filter_map(|t| t.as_str())
                    .map(|t| Shape::typed(t, m))
                    .collect(),
            ),
            _ => Shape::Any,
        };
        if m.get("nullable") == Some(&Json::Bool(true)) {
            Shape::union(vec![base, Shape::Null])
        } else {
            base
        }
    }

    fn typed(t: &str, m: &serde_json::Map<String, Json>) -> Shape {
        match t {
            "integer" => Shape::Int,
            "number" => Shape::Float,
            "boolean" => Shape::Bool,
            "string" => Shape::Str,
            "null" => Shape::Null,
            "array" => match m.get("items") {
                Some(Json::Array(items)) if !items.is_empty() && items.len() <= 12 => {
                    Shape::Tuple(items.iter().map(Shape::of).collect())
                }
                Some(item @ Json::Object(_)) => Shape::Vec(Box::new(Shape::of(item))),
                _ => Shape::Vec(Box::new(Shape::Any)),
            },
            "object" => match m.get("additionalProperties") {
                Some(v @ Json::Object(_)) => Shape::Map(Box::new(Shape::of(v))),
                _ => Shape::Object,
            },
            _ => Shape::Any,
        }
    }

    fn union(alts: Vec<Shape>) -> Shape {
        let nullable = alts.contains(&Shape::Null);
        let mut rest: Vec<Shape> = alts.into_iter().filter(|a| *a != Shape::Null).collect();
        rest.dedup();
        // `OK` and a plain string are both strings.
        if rest.len() > 1 && rest.iter().all(|a| matches!(a, Shape::Ok | Shape::Str)) {
            rest = vec![Shape::Str];
        }
        let inner = match rest.len() {
            0 => return Shape::Null,
            1 => rest.pop().unwrap_or(Shape::Any),
            _ => Shape::Any,
        };
        match (nullable, inner) {
            (false, s) => s,
            (true, Shape::Ok) => Shape::OkOrNull,
            (true, Shape::Any) => Shape::Any,
            (true, s) => Shape::Option(Box::new(s)),
        }
    }

    fn tokens(&self) -> TokenStream {
        match self {
            Shape::Any => quote!(::typedis::Value),
            Shape::Ok | Shape::Null => quote!(()),
            Shape::Int => quote!(i64),
            Shape::Float => quote!(f64),
            Shape::Bool | Shape::OkOrNull => quote!(bool),
            Shape::Str => quote!(::typedis::Bytes),
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
            Shape::Object => {
                quote!(::std::collections::HashMap<::std::string::String, ::typedis::Value>)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ty(s: Json) -> String {
        reply_type(Some(&s)).to_string().replace(' ', "")
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
            ty(json!({"type": "array", "items": [{"type": "string"}, {"type": "number"}]})),
            "(::typedis::Bytes,f64,)"
        );
        assert_eq!(
            ty(json!({"type": "object", "additionalProperties": {"type": "string"}})),
            "::std::collections::HashMap<::typedis::Bytes,::typedis::Bytes>"
        );
        assert_eq!(
            ty(json!({"oneOf": [{"type": "string"}, {"type": "integer"}]})),
            "::typedis::Value"
        );
        assert_eq!(ty(json!({})), "::typedis::Value");
    }
}
