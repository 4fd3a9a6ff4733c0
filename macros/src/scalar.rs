//! `#[derive(Scalar)]`: a newtype (one unnamed field) delegates to its inner type; a
//! field-less enum is stored as its (possibly renamed) variant name.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, LitByteStr};

use crate::attr::{self, Errors};

pub fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let container = attr::container(&input.attrs, &mut errors);
    let name = &input.ident;
    let (impl_g, ty_g, where_g) = input.generics.split_for_impl();

    let body = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Unnamed(f) if f.unnamed.len() == 1 => {
                if container.rename_all.is_some() {
                    errors.push(syn::Error::new(
                        input.ident.span(),
                        "`rename_all` applies to enums; a newtype is stored as its inner value",
                    ));
                }
                for field in &f.unnamed {
                    attr::field(&field.attrs, &mut errors);
                }
                let inner = &f.unnamed[0].ty;
                let to = quote_spanned! {inner.span()=>
                    <#inner as ::typedis::ToArg>::write_arg(&self.0, out)
                };
                let from = quote_spanned! {inner.span()=>
                    <#inner as ::typedis::FromValue>::from_value(value).map(Self)
                };
                Some((to, from))
            }
            _ => {
                errors.push(syn::Error::new(
                    input.ident.span(),
                    "#[derive(Scalar)] works on a newtype (`struct Id(u64);`) or an enum without fields; for a struct with named fields use #[derive(Record)]",
                ));
                None
            }
        },
        Data::Enum(e) => {
            let mut names = Vec::new();
            let mut idents = Vec::new();
            for v in &e.variants {
                let va = attr::variant(&v.attrs, &mut errors);
                if !matches!(v.fields, Fields::Unit) {
                    errors.push(syn::Error::new(
                        v.span(),
                        "#[derive(Scalar)] enums must have unit variants only (they are stored as their names)",
                    ));
                    continue;
                }
                let ident = v.ident.to_string();
                let stored = va.rename.unwrap_or_else(|| match container.rename_all {
                    Some(r) => r.apply(&ident),
                    None => ident.clone(),
                });
                if names.contains(&stored) {
                    errors.push(syn::Error::new(
                        v.span(),
                        format!("two variants are stored as \"{stored}\""),
                    ));
                }
                names.push(stored);
                idents.push(&v.ident);
            }
            if e.variants.is_empty() {
                errors.push(syn::Error::new(
                    input.ident.span(),
                    "#[derive(Scalar)] needs at least one variant",
                ));
            }
            let lits: Vec<LitByteStr> = names
                .iter()
                .map(|n| LitByteStr::new(n.as_bytes(), input.ident.span()))
                .collect();
            let expected = format!(
                "one of {}",
                names
                    .iter()
                    .map(|n| format!("\"{n}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let to = quote! {
                out.push_bytes(match self { #( Self::#idents => #lits, )* })
            };
            let ty_name = name.to_string();
            let from = quote! {
                let text = ::typedis::record::support::scalar_text(value, #ty_name, #expected)?;
                match &text[..] {
                    #( #lits => Ok(Self::#idents), )*
                    other => Err(::typedis::record::support::unknown_variant(#ty_name, #expected, other)),
                }
            };
            Some((to, from))
        }
        Data::Union(u) => {
            errors.push(syn::Error::new(
                u.union_token.span(),
                "#[derive(Scalar)] does not support unions; use a newtype or a field-less enum",
            ));
            None
        }
    };
    errors.finish()?;
    let Some((to, from)) = body else {
        // Unreachable in practice: every `None` above pushed an error.
        return Err(syn::Error::new(
            input.ident.span(),
            "cannot derive Scalar here",
        ));
    };
    Ok(quote! {
        impl #impl_g ::typedis::ToArg for #name #ty_g #where_g {
            fn write_arg(&self, out: &mut ::typedis::Args) {
                #to
            }
        }
        impl #impl_g ::typedis::FromValue for #name #ty_g #where_g {
            fn from_value(value: ::typedis::Value) -> ::typedis::Result<Self> {
                #from
            }
        }
    })
}
