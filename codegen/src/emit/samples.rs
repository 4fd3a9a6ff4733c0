//! Sample values for the builder cases (`cases.rs`): a value of each argument's type, from
//! the spec's `typedis.samples` hints or derived from its kind (keys under the case's own
//! prefix, small numbers, the first alternative of a choice unless the case picks another).

use super::cases::{join, Selection};
use super::*;

impl Command<'_> {
    /// The values a flattened member's setter takes (`.set(encoding, offset, value)`).
    pub(super) fn flat_values(
        &self,
        leaf: &Argument,
        path: &str,
        selection: &Selection,
        enums: &mut Enums<'_>,
        keys: &str,
    ) -> Result<Vec<TokenStream>, Error> {
        Ok(match leaf.kind {
            ArgKind::PureToken => Vec::new(),
            ArgKind::Block => {
                let mut values = Vec::new();
                for m in self.block_parts(leaf) {
                    values.push(self.member(m, &join(path, &m.name), selection, enums, keys)?);
                }
                values
            }
            ArgKind::Oneof if is_token_oneof(leaf) => {
                let e = enums.get_named(leaf, leaf.token.as_deref().unwrap_or(&leaf.name));
                let picked = self.pick(leaf, path, selection)?;
                let v = format_ident!("{}", pascal(&picked.name));
                vec![quote!(#e::#v)]
            }
            _ => vec![self.sample(leaf, path, selection, enums, keys)?],
        })
    }

    /// A block member's value: an optional one is `Some` only when the case uses it.
    pub(super) fn member(
        &self,
        m: &Argument,
        path: &str,
        selection: &Selection,
        enums: &mut Enums<'_>,
        keys: &str,
    ) -> Result<TokenStream, Error> {
        let v = self.sample(m, path, selection, enums, keys)?;
        Ok(if m.optional && m.kind != ArgKind::PureToken {
            if selection.touches(path) {
                quote!(::core::option::Option::Some(#v))
            } else {
                let ty = self.value_type(m, enums, false);
                quote!(::core::option::Option::None::<#ty>)
            }
        } else {
            v
        })
    }

    /// The alternative of choice `a` (at `path`) a case uses: the one it touches, else
    /// the samples' pick, else the first.
    pub(super) fn pick<'b>(
        &self,
        a: &'b Argument,
        path: &str,
        selection: &Selection,
    ) -> Result<&'b Argument, Error> {
        if let Some(m) = a
            .arguments
            .iter()
            .find(|m| selection.touches(&join(path, &m.name)))
        {
            return Ok(m);
        }
        let hint = self
            .spec
            .typedis
            .samples
            .get(path)
            .and_then(|s| s.value.as_ref());
        let wrong = || self.sample_error(path, "`value` should name an alternative".into());
        match hint {
            Some(serde_json::Value::String(name)) => a
                .arguments
                .iter()
                .find(|m| &m.name == name)
                .ok_or_else(wrong),
            Some(_) => Err(wrong()),
            None => a.arguments.first().ok_or_else(wrong),
        }
    }

    /// A sample value of argument `a` (at `path`), of the type its setter or parameter
    /// takes. Keys are named after the argument under the case's own prefix `keys`.
    pub(super) fn sample(
        &self,
        a: &Argument,
        path: &str,
        selection: &Selection,
        enums: &mut Enums<'_>,
        keys: &str,
    ) -> Result<TokenStream, Error> {
        if let Some(t) = &a.writer {
            // The case's own value where the case is for a member, else the plain one.
            let picked = t
                .cases
                .iter()
                .find(|(k, _)| *k != path && selection.0.contains(*k))
                .or_else(|| t.cases.get_key_value(path))
                .map(|(_, v)| v);
            return match picked.map(|v| v.parse::<TokenStream>()) {
                Some(Ok(v)) => Ok(v),
                _ => {
                    Err(self
                        .sample_error(path, "`typedis.writer` cases: not a Rust expression".into()))
                }
            };
        }
        let hint = self
            .spec
            .typedis
            .samples
            .get(path)
            .and_then(|s| s.value.as_ref());
        if a.multiple {
            let hints: Vec<Option<&serde_json::Value>> = match hint {
                Some(serde_json::Value::Array(items)) => items.iter().map(Some).collect(),
                other => vec![other],
            };
            let mut items = Vec::new();
            for h in hints {
                items.push(self.sample_one(a, path, h, selection, enums, keys)?);
            }
            return Ok(quote!([#(#items),*]));
        }
        self.sample_one(a, path, hint, selection, enums, keys)
    }

    /// A value of the enum of the choice `a` (at `path`): its variant for the
    /// alternative `picked`, with sample values (owned: the enum holds `Bytes`, `Vec`s).
    pub(super) fn sample_variant(
        &self,
        a: &Argument,
        picked: &Argument,
        path: &str,
        selection: &Selection,
        enums: &mut Enums<'_>,
        keys: &str,
    ) -> Result<TokenStream, Error> {
        let e = self.value_enum(a, enums);
        let variants = self.variants_of(a, enums);
        let Some(var) = variants.iter().find(|v| std::ptr::eq(v.alt, picked)) else {
            return Err(self.no_setter(path));
        };
        let p = join(path, &picked.name);
        let owned = |v: TokenStream, multiple: bool| {
            if multiple {
                quote!(::core::iter::IntoIterator::into_iter(#v).map(::core::convert::Into::into).collect())
            } else {
                quote!(::core::convert::Into::into(#v))
            }
        };
        let mut values = Vec::new();
        for (_, c) in &var.carried {
            let c = Argument {
                optional: false,
                ..(*c).clone()
            };
            values.push(self.sample(&c, &c.name, selection, enums, keys)?);
        }
        if picked.kind == ArgKind::Block && !picked.multiple {
            for m in self.block_parts(picked) {
                let mp = join(&p, &m.name);
                let v = if m.optional && m.kind != ArgKind::PureToken {
                    if selection.touches(&mp) {
                        let v = self.sample(m, &mp, selection, enums, keys)?;
                        let v = owned(v, m.multiple);
                        quote!(::core::option::Option::Some(#v))
                    } else {
                        quote!(::core::option::Option::None)
                    }
                } else {
                    owned(self.sample(m, &mp, selection, enums, keys)?, m.multiple)
                };
                values.push(v);
            }
        } else if picked.kind != ArgKind::PureToken {
            let v = self.sample(picked, &p, selection, enums, keys)?;
            values.push(owned(v, picked.multiple));
        }
        let v = &var.ident;
        Ok(if var.named {
            let names = var
                .carried
                .iter()
                .map(|(n, _)| n)
                .chain(var.own.iter().map(|(n, _)| n));
            quote!(#e::#v { #(#names: #values),* })
        } else if values.is_empty() {
            quote!(#e::#v)
        } else {
            quote!(#e::#v(#(#values),*))
        })
    }

    /// One value of argument `a` (a `multiple` argument's element); `hint` from the specs.
    pub(super) fn sample_one(
        &self,
        a: &Argument,
        path: &str,
        hint: Option<&serde_json::Value>,
        selection: &Selection,
        enums: &mut Enums<'_>,
        keys: &str,
    ) -> Result<TokenStream, Error> {
        use serde_json::Value as Json;
        let wrong = |what: &str| {
            self.sample_error(
                path,
                format!("`value` should be {what} for a `{:?}` argument", a.kind),
            )
        };
        Ok(match a.kind {
            ArgKind::Key | ArgKind::String | ArgKind::Pattern => {
                let text = match hint {
                    Some(Json::String(s)) => s.clone(),
                    Some(Json::Number(n)) => n.to_string(),
                    Some(_) => return Err(wrong("a string")),
                    None => match a.kind {
                        ArgKind::Key => format!("{keys}{}", a.name),
                        ArgKind::Pattern => "*".to_owned(),
                        _ => a.name.replace('-', ""),
                    },
                };
                quote!(#text)
            }
            ArgKind::Integer | ArgKind::UnixTime => {
                let n = match hint {
                    Some(Json::Number(n)) => n.as_i64().ok_or_else(|| wrong("an integer"))?,
                    Some(_) => return Err(wrong("an integer")),
                    None if a.kind == ArgKind::UnixTime => 1_700_000_000,
                    None => 1,
                };
                let n = Literal::i64_unsuffixed(n);
                quote!(#n)
            }
            ArgKind::Double => {
                // Small, so that a blocking command's timeout is short.
                let x = match hint {
                    Some(Json::Number(n)) => n.as_f64().ok_or_else(|| wrong("a number"))?,
                    Some(_) => return Err(wrong("a number")),
                    None => 0.01,
                };
                let x = Literal::f64_suffixed(x);
                quote!(#x)
            }
            ArgKind::PureToken => {
                let on = selection.touches(path);
                quote!(#on)
            }
            ArgKind::Oneof => {
                let picked = self.pick(a, path, selection)?;
                if is_token_oneof(a) {
                    let e = enums.get(a);
                    let v = format_ident!("{}", pascal(&picked.name));
                    quote!(#e::#v)
                } else {
                    self.sample_variant(a, picked, path, selection, enums, keys)?
                }
            }
            ArgKind::Block => {
                let members = self.block_parts(a);
                let mut parts = Vec::new();
                match hint {
                    // One value per member, for one element of a `multiple` block
                    // (a polygon's vertices must differ).
                    Some(Json::Array(values)) if values.len() == members.len() => {
                        for (m, v) in members.into_iter().zip(values) {
                            let p = join(path, &m.name);
                            parts.push(self.sample_one(m, &p, Some(v), selection, enums, keys)?);
                        }
                    }
                    Some(_) => return Err(wrong("an array of one value per member")),
                    None => {
                        for m in members {
                            parts.push(self.member(
                                m,
                                &join(path, &m.name),
                                selection,
                                enums,
                                keys,
                            )?);
                        }
                    }
                }
                if parts.len() == 1 {
                    parts.remove(0)
                } else {
                    quote!((#(#parts),*))
                }
            }
        })
    }
}
