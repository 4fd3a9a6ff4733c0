//! `#[derive(Record)]`: a struct with named fields as a Redis hash / stream entry.
//!
//! Expands to `FromValue` (field by field, errors naming struct and field),
//! `typedis::record::Record` (field names for `HMGET`, `(field, value)` pairs for
//! `HSET`/`XADD`) and `IntoIterator for &T` over those pairs.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{parse_quote, Data, DeriveInput, Fields, GenericArgument, PathArguments, Type};

use crate::attr::{self, Errors};

/// `Some(T)` when `ty` is spelled `Option<T>` (also `std::option::Option<T>`).
fn option_inner(ty: &Type) -> Option<&Type> {
    let Type::Path(p) = ty else { return None };
    if p.qself.is_some() {
        return None;
    }
    let last = p.path.segments.last()?;
    if last.ident != "Option" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first() {
        Some(GenericArgument::Type(t)) if args.args.len() == 1 => Some(t),
        _ => None,
    }
}

pub fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let container = attr::container(&input.attrs, &mut errors);
    let name = &input.ident;
    let ty_name = name.to_string();

    let fields = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(f) => Some(&f.named),
            _ => None,
        },
        Data::Enum(e) => {
            errors.push(syn::Error::new(
                e.enum_token.span(),
                "#[derive(Record)] needs a struct with named fields; for an enum stored as its variant name use #[derive(Scalar)]",
            ));
            None
        }
        Data::Union(u) => {
            errors.push(syn::Error::new(
                u.union_token.span(),
                "#[derive(Record)] does not support unions; use a struct with named fields",
            ));
            None
        }
    };
    let Some(fields) = fields else {
        if matches!(input.data, Data::Struct(_)) {
            errors.push(syn::Error::new(
                input.ident.span(),
                "#[derive(Record)] needs named fields (`struct User { name: String }`); for a newtype use #[derive(Scalar)]",
            ));
        }
        errors.finish()?;
        return Err(syn::Error::new(
            input.ident.span(),
            "cannot derive Record here",
        ));
    };

    let mut inits = Vec::new();
    let mut field_names = Vec::new();
    let mut pushes = Vec::new();
    for f in fields {
        let a = attr::field(&f.attrs, &mut errors);
        let Some(ident) = &f.ident else { continue };
        let ident_str = ident.to_string();
        let ident_str = ident_str.trim_start_matches("r#").to_owned();
        let ty = &f.ty;
        if a.skip {
            if a.rename.is_some() || a.with.is_some() || a.json || a.default {
                errors.push(syn::Error::new(
                    ident.span(),
                    "a `skip`ped field is not stored: `rename`, `with`, `json` and `default` do not apply",
                ));
            }
            inits.push(quote_spanned! {ty.span()=> #ident: ::core::default::Default::default() });
            continue;
        }
        if a.with.is_some() && a.json {
            errors.push(syn::Error::new(
                ident.span(),
                "use either `with` or `json`, not both",
            ));
        }
        let stored = a
            .rename
            .clone()
            .unwrap_or_else(|| match container.rename_all {
                Some(r) => r.apply(&ident_str),
                None => ident_str.clone(),
            });
        if field_names.contains(&stored) {
            errors.push(syn::Error::new(
                ident.span(),
                format!("two fields are stored as \"{stored}\""),
            ));
        }
        field_names.push(stored.clone());

        let opt = option_inner(ty);
        if opt.is_some() && a.default {
            errors.push(syn::Error::new(
                ident.span(),
                "`default` is implied for Option fields (absent means None)",
            ));
        }
        let value_ty = opt.unwrap_or(ty);
        // How one present value is decoded and encoded.
        let (decode_fn, encode) = if let Some(with) = &a.with {
            (
                Some(quote_spanned! {with.span()=> #with::from_value }),
                quote_spanned! {with.span()=> ::typedis::record::Encoded::with(|out| #with::to_arg(v, out)) },
            )
        } else if a.json {
            (
                Some(quote_spanned! {value_ty.span()=>
                    |v| <::typedis::Json<#value_ty> as ::typedis::FromValue>::from_value(v).map(|j| j.0)
                }),
                quote_spanned! {value_ty.span()=> ::typedis::record::Encoded::new(&::typedis::Json(v)) },
            )
        } else {
            (
                None,
                quote_spanned! {value_ty.span()=> ::typedis::record::Encoded::new::<#value_ty>(v) },
            )
        };
        let init = match (opt.is_some(), a.default, decode_fn) {
            (true, _, None) => quote_spanned! {value_ty.span()=>
                fields.optional::<#value_ty>(#stored, #ident_str)?
            },
            (true, _, Some(d)) => quote! { fields.optional_with(#stored, #ident_str, #d)? },
            (false, true, None) => quote_spanned! {ty.span()=>
                fields.or_default::<#ty>(#stored, #ident_str)?
            },
            (false, true, Some(d)) => quote! { fields.or_default_with(#stored, #ident_str, #d)? },
            (false, false, None) => quote_spanned! {ty.span()=>
                fields.required::<#ty>(#stored, #ident_str)?
            },
            (false, false, Some(d)) => quote! { fields.required_with(#stored, #ident_str, #d)? },
        };
        inits.push(quote! { #ident: #init });
        pushes.push(if opt.is_some() {
            quote! { if let ::core::option::Option::Some(v) = &self.#ident { out.push((#stored, #encode)); } }
        } else {
            quote! { { let v = &self.#ident; out.push((#stored, #encode)); } }
        });
    }
    errors.finish()?;

    let (impl_g, ty_g, where_g) = input.generics.split_for_impl();
    let mut iter_generics = input.generics.clone();
    iter_generics.params.insert(0, parse_quote!('__typedis_a));
    let (iter_impl_g, _, _) = iter_generics.split_for_impl();
    let n = field_names.len();

    Ok(quote! {
        impl #impl_g ::typedis::FromValue for #name #ty_g #where_g {
            fn from_value(value: ::typedis::Value) -> ::typedis::Result<Self> {
                let mut fields = ::typedis::record::support::Fields::new(value, #ty_name)?;
                ::core::result::Result::Ok(Self { #( #inits, )* })
            }
        }
        impl #impl_g ::typedis::record::Record for #name #ty_g #where_g {
            const FIELDS: &'static [&'static str] = &[ #( #field_names ),* ];
            fn to_fields(&self) -> ::std::vec::Vec<(&'static str, ::typedis::record::Encoded)> {
                let mut out = ::std::vec::Vec::with_capacity(#n);
                #( #pushes )*
                out
            }
        }
        impl #iter_impl_g ::core::iter::IntoIterator for &'__typedis_a #name #ty_g #where_g {
            type Item = (&'static str, ::typedis::record::Encoded);
            type IntoIter = ::std::vec::IntoIter<(&'static str, ::typedis::record::Encoded)>;
            fn into_iter(self) -> Self::IntoIter {
                ::typedis::record::Record::to_fields(self).into_iter()
            }
        }
    })
}
