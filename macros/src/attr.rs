//! Parsing and validating `#[typedis(...)]` attributes. Errors are collected (all of
//! them are reported at once), each spanned at the offending attribute.

use syn::{Attribute, LitStr, Path};

/// Accumulates errors so that every problem is reported, not only the first.
#[derive(Default)]
pub struct Errors(Option<syn::Error>);

impl Errors {
    pub fn push(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }

    pub fn finish(self) -> syn::Result<()> {
        match self.0 {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// `rename_all` conventions, as in serde.
#[derive(Clone, Copy)]
pub enum RenameAll {
    Lower,
    Upper,
    Snake,
    ScreamingSnake,
    Kebab,
    ScreamingKebab,
    Camel,
    Pascal,
}

const RENAME_ALL_NAMES: &str = "\"lowercase\", \"UPPERCASE\", \"snake_case\", \"SCREAMING_SNAKE_CASE\", \"kebab-case\", \"SCREAMING-KEBAB-CASE\", \"camelCase\", \"PascalCase\"";

impl RenameAll {
    fn parse(s: &LitStr) -> syn::Result<Self> {
        Ok(match s.value().as_str() {
            "lowercase" => RenameAll::Lower,
            "UPPERCASE" => RenameAll::Upper,
            "snake_case" => RenameAll::Snake,
            "SCREAMING_SNAKE_CASE" => RenameAll::ScreamingSnake,
            "kebab-case" => RenameAll::Kebab,
            "SCREAMING-KEBAB-CASE" => RenameAll::ScreamingKebab,
            "camelCase" => RenameAll::Camel,
            "PascalCase" => RenameAll::Pascal,
            other => {
                return Err(syn::Error::new(
                    s.span(),
                    format!(
                    "unknown rename_all convention \"{other}\"; expected one of {RENAME_ALL_NAMES}"
                ),
                ))
            }
        })
    }

    /// Applies the convention to a Rust identifier (a PascalCase variant or a
    /// snake_case field).
    pub fn apply(self, ident: &str) -> String {
        let words = split_words(ident);
        let join = |sep: &str, f: &dyn Fn(&str) -> String| {
            words.iter().map(|w| f(w)).collect::<Vec<_>>().join(sep)
        };
        let cap = |w: &str| {
            let mut c = w.chars();
            match c.next() {
                Some(first) => first
                    .to_uppercase()
                    .chain(c.flat_map(char::to_lowercase))
                    .collect(),
                None => String::new(),
            }
        };
        match self {
            RenameAll::Lower => join("", &|w| w.to_lowercase()),
            RenameAll::Upper => join("", &|w| w.to_uppercase()),
            RenameAll::Snake => join("_", &|w| w.to_lowercase()),
            RenameAll::ScreamingSnake => join("_", &|w| w.to_uppercase()),
            RenameAll::Kebab => join("-", &|w| w.to_lowercase()),
            RenameAll::ScreamingKebab => join("-", &|w| w.to_uppercase()),
            RenameAll::Pascal => join("", &cap),
            RenameAll::Camel => {
                let mut out = String::new();
                for (i, w) in words.iter().enumerate() {
                    if i == 0 {
                        out.push_str(&w.to_lowercase());
                    } else {
                        out.push_str(&cap(w));
                    }
                }
                out
            }
        }
    }
}

/// Splits `FooBar`, `foo_bar` or `HTTPServer`-ish names into words.
fn split_words(ident: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    for ch in ident.trim_start_matches("r#").chars() {
        if ch == '_' {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
        } else if ch.is_uppercase()
            && !cur.is_empty()
            && !cur.chars().last().is_some_and(char::is_uppercase)
        {
            words.push(std::mem::take(&mut cur));
            cur.push(ch);
        } else {
            cur.push(ch);
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// Attributes on the struct or enum itself.
#[derive(Default)]
pub struct ContainerAttrs {
    pub rename_all: Option<RenameAll>,
}

/// Attributes on an enum variant.
#[derive(Default)]
pub struct VariantAttrs {
    pub rename: Option<String>,
}

/// Attributes on a struct field.
#[derive(Default)]
pub struct FieldAttrs {
    pub rename: Option<String>,
    pub skip: bool,
    pub default: bool,
    pub with: Option<Path>,
    pub json: bool,
}

fn typedis_attrs(attrs: &[Attribute]) -> impl Iterator<Item = &Attribute> {
    attrs.iter().filter(|a| a.path().is_ident("typedis"))
}

fn unknown(meta: &syn::meta::ParseNestedMeta<'_>, allowed: &str) -> syn::Error {
    let name = meta
        .path
        .get_ident()
        .map(|i| i.to_string())
        .unwrap_or_else(|| "this".into());
    meta.error(format!(
        "unknown typedis attribute `{name}`; expected {allowed}"
    ))
}

pub fn container(attrs: &[Attribute], errors: &mut Errors) -> ContainerAttrs {
    let mut out = ContainerAttrs::default();
    for attr in typedis_attrs(attrs) {
        let r = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename_all") {
                let s: LitStr = meta.value()?.parse()?;
                out.rename_all = Some(RenameAll::parse(&s)?);
                Ok(())
            } else {
                Err(unknown(&meta, "`rename_all = \"...\"`"))
            }
        });
        if let Err(e) = r {
            errors.push(e);
        }
    }
    out
}

pub fn variant(attrs: &[Attribute], errors: &mut Errors) -> VariantAttrs {
    let mut out = VariantAttrs::default();
    for attr in typedis_attrs(attrs) {
        let r = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                let s: LitStr = meta.value()?.parse()?;
                out.rename = Some(s.value());
                Ok(())
            } else {
                Err(unknown(&meta, "`rename = \"...\"`"))
            }
        });
        if let Err(e) = r {
            errors.push(e);
        }
    }
    out
}

pub fn field(attrs: &[Attribute], errors: &mut Errors) -> FieldAttrs {
    let mut out = FieldAttrs::default();
    for attr in typedis_attrs(attrs) {
        let r = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                let s: LitStr = meta.value()?.parse()?;
                out.rename = Some(s.value());
            } else if meta.path.is_ident("skip") {
                out.skip = true;
            } else if meta.path.is_ident("default") {
                out.default = true;
            } else if meta.path.is_ident("with") {
                // Both `with = module::path` and serde's `with = "module::path"`.
                let value = meta.value()?;
                out.with = Some(if value.peek(LitStr) {
                    value.parse::<LitStr>()?.parse()?
                } else {
                    value.parse()?
                });
            } else if meta.path.is_ident("json") {
                out.json = true;
            } else {
                return Err(unknown(
                    &meta,
                    "`rename = \"...\"`, `skip`, `default`, `with = \"module\"` or `json`",
                ));
            }
            Ok(())
        });
        if let Err(e) = r {
            errors.push(e);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames() {
        assert_eq!(RenameAll::Snake.apply("FirstName"), "first_name");
        assert_eq!(RenameAll::Kebab.apply("first_name"), "first-name");
        assert_eq!(RenameAll::Camel.apply("first_name"), "firstName");
        assert_eq!(RenameAll::Pascal.apply("first_name"), "FirstName");
        assert_eq!(RenameAll::ScreamingSnake.apply("InProgress"), "IN_PROGRESS");
        assert_eq!(RenameAll::Lower.apply("InProgress"), "inprogress");
    }
}
