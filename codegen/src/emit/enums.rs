//! The enums of choices: a `oneof` of tokens (`ZaddCondition`, written as its token), and
//! a choice of values (`XaddId`, `GeosearchBy`: one variant per alternative holding its
//! values, and what the alternative carries from `typedis.requires`), with the `match`
//! that writes one.

use super::*;

/// An enum's variants: name, token, note (for a variant not every server accepts).
pub(super) type Variants = Vec<(String, String, Option<String>)>;

/// A generated type (enum for a `oneof` of tokens).
pub(super) struct Enums<'s> {
    pub(super) prefix: String,
    pub(super) defs: BTreeMap<String, (Variants, TokenStream)>,
    /// The enums of choices of values (`Command::value_enum`), by name.
    pub(super) values: BTreeMap<String, TokenStream>,
    /// The command and its servers, for the notes of variants not every server accepts.
    pub(super) command: &'s str,
    pub(super) servers: &'s [String],
}

impl Enums<'_> {
    /// The enum for a `oneof` of pure tokens; defined once per builder and name.
    pub(super) fn get(&mut self, arg: &Argument) -> proc_macro2::Ident {
        self.get_named(arg, &arg.name)
    }

    /// [`get`](Self::get), the enum named after `base` instead of the argument.
    pub(super) fn get_named(&mut self, arg: &Argument, base: &str) -> proc_macro2::Ident {
        let variants: Variants = arg
            .arguments
            .iter()
            .map(|a| {
                let token = a.token.clone().unwrap_or_else(|| a.name.to_uppercase());
                let note = a
                    .availability
                    .as_ref()
                    .map(|av| servers::note(self.command, &token, av, self.servers));
                (pascal(&a.name), token, note)
            })
            .collect();
        let mut name = format!("{}{}", self.prefix, pascal(base));
        let mut n = 2;
        while let Some((existing, _)) = self.defs.get(&name) {
            if *existing == variants {
                return format_ident!("{}", name);
            }
            name = format!("{}{}{}", self.prefix, pascal(base), n);
            n += 1;
        }
        let ident = format_ident!("{}", name);
        let vs: Vec<_> = variants
            .iter()
            .map(|(v, _, _)| format_ident!("{}", v))
            .collect();
        let toks: Vec<_> = variants.iter().map(|(_, t, _)| lit(t)).collect();
        let docs: Vec<String> = variants
            .iter()
            .zip(&arg.arguments)
            .map(|((_, t, _), a)| match &a.availability {
                Some(av) => format!("`{t}` — {}", servers::availability_text(av, self.servers)),
                None => format!("`{t}`"),
            })
            .collect();
        let doc = format!("The `{}` argument of `{}`.", arg.name, self.prefix);
        let write = if variants.iter().any(|(_, _, n)| n.is_some()) {
            // A variant not every server accepts leaves a note for the server's error.
            let arms =
                variants
                    .iter()
                    .zip(&vs)
                    .zip(&toks)
                    .map(|(((_, _, note), v), t)| match note {
                        Some(n) => quote!(Self::#v => { out.push_bytes(#t); out.note(#n); }),
                        None => quote!(Self::#v => out.push_bytes(#t),),
                    });
            quote!(match self { #(#arms)* })
        } else {
            quote!(out.push_bytes(match self { #(Self::#vs => #toks,)* });)
        };
        let def = quote! {
            #[doc = #doc]
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
            pub enum #ident {
                #(#[doc = #docs] #vs,)*
            }
            impl ::typedis::ToArg for #ident {
                fn write_arg(&self, out: &mut ::typedis::Args) {
                    #write
                }
            }
        };
        self.defs.insert(name, (variants, def));
        ident
    }
}

/// One alternative of a choice of values, as a variant of its enum (`value_enum`).
pub(super) struct Variant<'b> {
    pub(super) ident: proc_macro2::Ident,
    pub(super) alt: &'b Argument,
    /// The optional arguments it carries (`typedis.requires`), each a field.
    pub(super) carried: Vec<(proc_macro2::Ident, &'b Argument)>,
    /// Its own values: the members of a block, or the value itself.
    pub(super) own: Vec<(proc_macro2::Ident, TokenStream)>,
    /// Fields with names (`{ from, radius, unit }`), else one unnamed or none.
    pub(super) named: bool,
}

impl Variant<'_> {
    /// The pattern binding its fields to their names (`Enum::Circle { from, radius, unit }`).
    pub(super) fn pattern(&self, e: &proc_macro2::Ident) -> TokenStream {
        let v = &self.ident;
        let names: Vec<&proc_macro2::Ident> = self
            .carried
            .iter()
            .map(|(n, _)| n)
            .chain(self.own.iter().map(|(n, _)| n))
            .collect();
        if self.named {
            quote!(#e::#v { #(#names),* })
        } else if names.is_empty() {
            quote!(#e::#v)
        } else {
            quote!(#e::#v(#(#names),*))
        }
    }

    /// Its own values as the one value its alternative's writer takes.
    pub(super) fn value(&self) -> TokenStream {
        let names: Vec<&proc_macro2::Ident> = self.own.iter().map(|(n, _)| n).collect();
        match names.as_slice() {
            [one] => quote!(#one),
            _ => quote!((#(#names),*)),
        }
    }
}

impl<'a> Command<'a> {
    /// The optional arguments that the alternative `alt` of the required choice `choice`
    /// carries (`typedis.requires`): a choice that is a parameter takes them with the
    /// alternative that needs them (GEOSEARCH's `BYRADIUS` with its `FROM…`), so a call
    /// without them does not compile.
    pub(super) fn carried_by(&self, choice: &Argument, alt: &Argument) -> Vec<&'a Argument> {
        let top = self.spec.arguments.iter().any(|a| std::ptr::eq(a, choice));
        if !top || !is_param(choice) || choice.kind != ArgKind::Oneof {
            return Vec::new();
        }
        self.spec
            .typedis
            .requires
            .get(&format!("{}/{}", choice.name, alt.name))
            .into_iter()
            .flatten()
            .filter_map(|n| {
                self.spec
                    .arguments
                    .iter()
                    .find(|a| &a.name == n && a.optional)
            })
            .collect()
    }

    /// Whether the optional argument `a` is carried by the alternatives of a choice that
    /// is a parameter (`carried_by`), so that it has no setter of its own.
    pub(super) fn carried(&self, a: &Argument) -> bool {
        self.spec
            .arguments
            .iter()
            .filter(|c| c.kind == ArgKind::Oneof && is_param(c))
            .any(|c| {
                c.arguments
                    .iter()
                    .any(|m| self.carried_by(c, m).iter().any(|x| std::ptr::eq(*x, a)))
            })
    }

    /// The variants of the enum of the choice of values `a`.
    pub(super) fn variants_of<'b>(&self, a: &'b Argument, enums: &mut Enums<'_>) -> Vec<Variant<'b>>
    where
        'a: 'b,
    {
        a.arguments
            .iter()
            .map(|m| {
                let mut seen = BTreeSet::new();
                let mut field = |n: &str| {
                    let mut n = ident_safe(n);
                    while !seen.insert(n.clone()) {
                        n.push('_');
                    }
                    format_ident!("{}", n)
                };
                let carried: Vec<(proc_macro2::Ident, &Argument)> = self
                    .carried_by(a, m)
                    .into_iter()
                    .map(|c| (field(&c.name), c))
                    .collect();
                let block = m.kind == ArgKind::Block && !m.multiple;
                let own: Vec<(proc_macro2::Ident, TokenStream)> = if m.kind == ArgKind::PureToken {
                    Vec::new()
                } else if block {
                    self.block_parts(m)
                        .into_iter()
                        .map(|p| {
                            let t = self.value_type(p, enums, false);
                            let t = if p.optional && p.kind != ArgKind::PureToken {
                                quote!(::core::option::Option<#t>)
                            } else {
                                t
                            };
                            (field(&p.name), t)
                        })
                        .collect()
                } else {
                    vec![(field(&m.name), self.value_type(m, enums, false))]
                };
                let named = !carried.is_empty() || own.len() > 1;
                Variant {
                    ident: format_ident!("{}", pascal(m.rust_name.as_deref().unwrap_or(&m.name))),
                    alt: m,
                    carried,
                    own,
                    named,
                }
            })
            .collect()
    }

    /// The enum of a choice of values (a `oneof` that is not only tokens: XADD's `*` or
    /// an id, GEOSEARCH's `BYRADIUS …`/`BYBOX …`/`BYPOLYGON …`): one variant per
    /// alternative, holding its values; defined once per builder and name.
    pub(super) fn value_enum(&self, a: &Argument, enums: &mut Enums<'_>) -> proc_macro2::Ident {
        let base = a.rust_name.as_deref().unwrap_or(&a.name);
        let mut name = format!("{}{}", enums.prefix, pascal(base));
        if enums.defs.contains_key(&name) {
            name.push_str("Choice");
        }
        let ident = format_ident!("{}", name);
        if enums.values.contains_key(&name) {
            return ident;
        }
        // Reserved before the variants are made, so a choice inside one cannot recurse.
        enums.values.insert(name.clone(), quote!());
        let servers = &self.spec.typedis.servers;
        let variants = self.variants_of(a, enums);
        let defs = variants.iter().map(|v| {
            let mut doc = format!(" `{}`", plain_syntax(v.alt));
            if let Some(av) = &v.alt.availability {
                doc.push_str(&format!(" — {}", servers::availability_text(av, servers)));
            }
            let mut docs = vec![doc];
            for (f, c) in &v.carried {
                docs.push(format!(
                    " `{f}`: `{}`, which this alternative needs.",
                    plain_syntax(c)
                ));
            }
            let id = &v.ident;
            let carried = v.carried.iter().map(|(f, c)| {
                let t = self.value_type(
                    &Argument {
                        optional: false,
                        ..(*c).clone()
                    },
                    enums,
                    false,
                );
                let doc = format!(" `{}`, which this alternative needs.", plain_syntax(c));
                quote!(#[doc = #doc] #f: #t)
            });
            // Each named field's docs: the syntax of the member it holds.
            let members: Vec<&Argument> = if v.alt.kind == ArgKind::Block && !v.alt.multiple {
                self.block_parts(v.alt)
            } else {
                vec![v.alt]
            };
            let body = if v.named {
                let own = v.own.iter().zip(members).map(|((f, t), m)| {
                    let doc = format!(" `{}`", plain_syntax(m));
                    quote!(#[doc = #doc] #f: #t)
                });
                quote!({ #(#carried,)* #(#own),* })
            } else if v.own.is_empty() {
                quote!()
            } else {
                let own = v.own.iter().map(|(_, t)| t);
                quote!((#(#own),*))
            };
            quote!(#(#[doc = #docs])* #id #body)
        });
        let defs: Vec<TokenStream> = defs.collect();
        let doc = format!(
            " The `{}` argument of `{}`: `{}`, one variant per alternative.",
            a.name,
            self.full,
            plain_syntax(a)
        );
        let def = quote! {
            #[doc = #doc]
            #[derive(Debug, Clone, PartialEq)]
            pub enum #ident {
                #(#defs,)*
            }
        };
        enums.values.insert(name, def);
        ident
    }

    /// Code writing `v`, a value of the enum of the choice `a` (`value_enum`), without
    /// the choice's token: a `match` writing the alternative's token and values. Without
    /// `slots` it writes to `out`; with them (a parameter of the constructor) each
    /// alternative writes its own values to the choice's slot and what it carries to
    /// theirs, so `slots` gives the slot expression of an argument.
    pub(super) fn write_choice(
        &self,
        a: &Argument,
        v: TokenStream,
        enums: &mut Enums<'_>,
        slots: Option<&dyn Fn(&Argument) -> TokenStream>,
    ) -> TokenStream {
        let e = self.value_enum(a, enums);
        let variants = self.variants_of(a, enums);
        let arms = variants.iter().map(|var| {
            let alt = Argument {
                optional: false,
                ..var.alt.clone()
            };
            let own = if alt.kind == ArgKind::PureToken {
                let t = lit(alt.token.as_deref().unwrap_or(&alt.name.to_uppercase()));
                let note = alt
                    .availability
                    .as_ref()
                    .map(|av| self.note(&alt, av))
                    .unwrap_or_default();
                quote!(out.push_bytes(#t); #note)
            } else {
                self.write(&alt, var.value(), enums)
            };
            let own = match slots {
                Some(slot) => {
                    let s = slot(a);
                    let t = a.token.as_deref().map(|t| {
                        let t = lit(t);
                        quote!(out.push_bytes(#t);)
                    });
                    quote!({ let out = #s; #t #own })
                }
                None => own,
            };
            let carried = var.carried.iter().map(|(f, c)| {
                let c2 = Argument {
                    optional: false,
                    ..(*c).clone()
                };
                let w = self.write(&c2, quote!(#f), enums);
                let s = slots.map(|slot| slot(c)).unwrap_or_else(|| quote!(out));
                quote!({ let out = #s; #w })
            });
            let pattern = var.pattern(&e);
            quote!(#pattern => { #own #(#carried)* })
        });
        let arms: Vec<TokenStream> = arms.collect();
        quote!(match #v { #(#arms)* })
    }
}
