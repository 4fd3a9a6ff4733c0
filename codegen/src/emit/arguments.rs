//! Arguments: the Rust type each takes (`impl ToArg`, `i64`, tuples of blocks, `ManyArgs`
//! for `multiple`, the typed bounds and durations), the code writing a value (token,
//! value, counts computed from their lists), and the names of setters.

use super::*;

impl<'a> Command<'a> {
    /// The Rust type of an argument's value. `apit`: `impl Trait` allowed.
    pub(super) fn value_type(
        &self,
        a: &Argument,
        enums: &mut Enums<'_>,
        apit: bool,
    ) -> TokenStream {
        if let Some(t) = &a.writer {
            return t.ty.parse().unwrap_or_else(|_| quote!(::typedis::Args));
        }
        let bound = typed_path(a);
        let one = match a.kind {
            _ if bound.is_some() => match bound {
                Some(b) if apit => quote!(impl ::core::convert::Into<#b>),
                b => quote!(#b),
            },
            ArgKind::Key | ArgKind::String | ArgKind::Pattern => {
                if apit {
                    quote!(impl ::typedis::ToArg)
                } else {
                    quote!(::typedis::Bytes)
                }
            }
            ArgKind::Integer | ArgKind::UnixTime => quote!(i64),
            ArgKind::Double => quote!(f64),
            ArgKind::PureToken => quote!(bool),
            ArgKind::Oneof if is_token_oneof(a) => {
                let e = enums.get(a);
                quote!(#e)
            }
            ArgKind::Oneof => {
                let e = self.value_enum(a, enums);
                quote!(#e)
            }
            ArgKind::Block => {
                let parts = self.block_parts(a);
                let tys: Vec<TokenStream> = parts
                    .iter()
                    .map(|m| {
                        let t = self.value_type(m, enums, apit);
                        if m.optional && m.kind != ArgKind::PureToken {
                            quote!(::core::option::Option<#t>)
                        } else {
                            t
                        }
                    })
                    .collect();
                if tys.len() == 1 {
                    tys.into_iter().next().unwrap_or_default()
                } else {
                    quote!((#(#tys),*))
                }
            }
        };
        if a.multiple {
            if apit && !takes_generic(a) {
                // Elements of one concrete type (`i64`, an enum): a collection of them.
                // (`ManyArgs` would leave an integer literal's type to fall back to `i32`.)
                quote!(impl ::core::iter::IntoIterator<Item = #one>)
            } else if apit {
                // One value or a collection of them (`del("k")`, `del(["a", "b"])`).
                let mut markers = self.markers.borrow_mut();
                let m = format_ident!("M{}", markers.len());
                markers.push(m.clone());
                quote!(impl ::typedis::ManyArgs<#m, Item = #one>)
            } else {
                quote!(::std::vec::Vec<#one>)
            }
        } else {
            one
        }
    }

    /// The members of a block that carry a value, in tuple order (`block_order`).
    pub(super) fn block_parts<'b>(&self, a: &'b Argument) -> Vec<&'b Argument> {
        let parts: Vec<&Argument> = a
            .arguments
            .iter()
            .filter(|m| (m.kind != ArgKind::PureToken || m.optional) && m.counts.is_none())
            .collect();
        match self.spec.typedis.block_order.get(&a.name) {
            Some(order) => {
                let mut sorted: Vec<&Argument> = order
                    .iter()
                    .filter_map(|n| parts.iter().find(|m| &m.name == n).copied())
                    .collect();
                for m in &parts {
                    if !sorted.iter().any(|s| std::ptr::eq(*s, *m)) {
                        sorted.push(m);
                    }
                }
                sorted
            }
            None => parts,
        }
    }

    /// Code writing value `v` of argument `a` into `out` (an `&mut Args`), token included.
    pub(super) fn write(&self, a: &Argument, v: TokenStream, enums: &mut Enums<'_>) -> TokenStream {
        self.write_as(a, v, enums, false)
    }

    /// [`write`](Self::write); with `appending`, the token a repeatable argument writes
    /// once before all its values is left out (the slot's `append_under` writes it when
    /// the first call does).
    pub(super) fn write_as(
        &self,
        a: &Argument,
        v: TokenStream,
        enums: &mut Enums<'_>,
        appending: bool,
    ) -> TokenStream {
        if a.writer.is_some() {
            return quote!(::typedis::__private::WriteArgs::write_args(&#v, out););
        }
        let token = a.token.as_deref().map(lit);
        let tok = |t: &Option<Literal>| match t {
            Some(t) => quote!(out.push_bytes(#t);),
            None => quote!(),
        };
        // An argument not every server accepts leaves a note for the server's error.
        let note = a
            .availability
            .as_ref()
            .map(|av| self.note(a, av))
            .unwrap_or_default();
        if a.kind == ArgKind::PureToken {
            return match &token {
                Some(t) => quote!(if #v { out.push_bytes(#t); #note }),
                None => {
                    let t = lit(&a.name.to_uppercase());
                    quote!(if #v { out.push_bytes(#t); #note })
                }
            };
        }
        let x = format_ident!("x");
        let single = self.write_one(a, quote!(#x), enums);
        let many = if takes_generic(a) {
            quote!(::typedis::ManyArgs::many)
        } else {
            quote!(::core::iter::IntoIterator::into_iter)
        };
        if a.multiple {
            let each_tok = if a.multiple_token {
                tok(&token)
            } else {
                quote!()
            };
            let once_tok = if a.multiple_token || appending {
                quote!()
            } else {
                tok(&token)
            };
            quote! {
                #note
                #once_tok
                for #x in #many(#v) { #each_tok #single }
            }
        } else if self.writes_once(a) {
            // The value is used once: written as it is, without a binding.
            let t = tok(&token);
            let single = self.write_one(a, v, enums);
            quote!(#note #t #single)
        } else {
            let t = tok(&token);
            quote! {
                #note
                #t
                let #x = #v;
                #single
            }
        }
    }

    /// Whether `write_one` uses its value once (a plain push), so that it needs no
    /// binding.
    fn writes_once(&self, a: &Argument) -> bool {
        typed_path(a).is_some()
            || matches!(
                a.kind,
                ArgKind::Key
                    | ArgKind::String
                    | ArgKind::Pattern
                    | ArgKind::Integer
                    | ArgKind::UnixTime
                    | ArgKind::Double
            )
            || is_token_oneof(a)
    }

    /// Code writing one (non-multiple) value bound to `v`, without the argument's token.
    pub(super) fn write_one(
        &self,
        a: &Argument,
        v: TokenStream,
        enums: &mut Enums<'_>,
    ) -> TokenStream {
        if let Some(t) = typed_path(a) {
            return quote!(out.push(&::core::convert::Into::<#t>::into(#v)););
        }
        match a.kind {
            ArgKind::Key | ArgKind::String | ArgKind::Pattern => quote!(out.push(&#v);),
            ArgKind::Integer | ArgKind::UnixTime => quote!(out.push_i64(#v);),
            ArgKind::Double => quote!(out.push_f64(#v);),
            ArgKind::PureToken => quote!(),
            ArgKind::Oneof if is_token_oneof(a) => {
                enums.get(a);
                quote!(out.push(&#v);)
            }
            ArgKind::Oneof => self.write_choice(a, v, enums, None),
            ArgKind::Block => {
                let parts = self.block_parts(a);
                let binds: Vec<proc_macro2::Ident> =
                    (0..parts.len()).map(|i| format_ident!("b{}", i)).collect();
                let pattern = if binds.len() == 1 {
                    let b = &binds[0];
                    quote!(#b)
                } else {
                    quote!((#(#binds),*))
                };
                // A count the client computes (`typedis.count_of`) comes before its list:
                // the list is written aside first, then counted.
                let mut body = Vec::new();
                let mut counted = BTreeMap::new();
                for m in &a.arguments {
                    let Some(list) = m.counts.as_deref() else {
                        continue;
                    };
                    let Some(l) = a.arguments.iter().find(|l| l.name == list) else {
                        continue;
                    };
                    let Some(i) = parts.iter().position(|p| std::ptr::eq(*p, l)) else {
                        continue;
                    };
                    let b = &binds[i];
                    let per = per_element(l);
                    let aside = format_ident!("counted_{}", i);
                    let w = self.write(l, quote!(#b), enums);
                    body.push(quote! {
                        let mut #aside = ::typedis::Args::new();
                        { let out = &mut #aside; #w }
                    });
                    let t = m.token.as_deref().map(|t| {
                        let t = lit(t);
                        quote!(out.push_bytes(#t);)
                    });
                    counted.insert(
                        m.name.clone(),
                        quote!(#t out.push_u64((#aside.len() #per) as u64);),
                    );
                    counted.insert(l.name.clone(), quote!(out.extend_from(&#aside);));
                }
                // Write in wire order, taking each value from its tuple position.
                for m in &a.arguments {
                    if let Some(w) = counted.get(&m.name) {
                        body.push(w.clone());
                        continue;
                    }
                    if m.kind == ArgKind::PureToken && !m.optional {
                        let t = lit(m.token.as_deref().unwrap_or(&m.name));
                        body.push(quote!(out.push_bytes(#t);));
                        continue;
                    }
                    let Some(i) = parts.iter().position(|p| std::ptr::eq(*p, m)) else {
                        continue;
                    };
                    let b = &binds[i];
                    let w = self.write(m, quote!(#b), enums);
                    if m.optional && m.kind != ArgKind::PureToken {
                        body.push(quote!(if let ::core::option::Option::Some(#b) = #b { #w }));
                    } else {
                        body.push(w);
                    }
                }
                quote! {
                    let #pattern = #v;
                    #(#body)*
                }
            }
        }
    }

    /// Code writing the top-level count `count` (`typedis.count_of`) into its slot of
    /// `rest` from the length of its list's slot: the constructor writes it once, every
    /// setter adding to the list again.
    pub(super) fn recount(&self, count: &Argument, rest: TokenStream) -> TokenStream {
        let args = &self.spec.arguments;
        let prefix = self.prefix_len();
        let at = |name: &str| args.iter().position(|a| a.name == name);
        let (Some(c), Some(l)) = (at(&count.name), count.counts.as_deref().and_then(at)) else {
            return quote!();
        };
        let per = per_element(&args[l]);
        let (c, l) = (
            Literal::usize_unsuffixed(c - prefix),
            Literal::usize_unsuffixed(l - prefix),
        );
        quote! {{
            let n = #rest.append(#l).len() #per;
            #rest.slot(#c).push_u64(n as u64);
        }}
    }

    /// [`recount`](Self::recount) for the setter of `list`, when a top-level count counts it.
    pub(super) fn recount_of(&self, list: &Argument) -> TokenStream {
        self.spec
            .arguments
            .iter()
            .filter(|c| c.counts.as_deref() == Some(list.name.as_str()))
            .map(|c| self.recount(c, quote!(self.rest)))
            .collect()
    }

    /// The statement recording `a`'s note (it is not accepted by every server).
    pub(super) fn note(
        &self,
        a: &Argument,
        availability: &crate::spec::Availability,
    ) -> TokenStream {
        let n = servers::note(
            &self.full,
            &plain_syntax(a),
            availability,
            &self.spec.typedis.servers,
        );
        quote!(out.note(#n);)
    }

    pub(super) fn setter_base(&self, a: &Argument) -> String {
        if let Some(n) = &a.rust_name {
            return n.clone();
        }
        match &a.token {
            Some(t) if !is_keyword(&snake(t)) && !snake(t).is_empty() => snake(t),
            _ => ident_safe(&a.name),
        }
    }
}

/// Whether `a` is a block of nothing but required tokens (`NO ONE`, `LOAD *`), which a
/// setter without a value writes.
pub(super) fn is_flag_block(a: &Argument) -> bool {
    a.kind == ArgKind::Block
        && !a.multiple
        && !a.arguments.is_empty()
        && a.arguments
            .iter()
            .all(|m| m.kind == ArgKind::PureToken && !m.optional)
}

/// Whether one value of `a` has a generic type (`impl ToArg`, or a tuple holding one), so
/// that a `multiple` one takes `ManyArgs`: a single value or a collection.
pub(super) fn takes_generic(a: &Argument) -> bool {
    match (a.typed, a.kind) {
        (Some(ArgType::Double), _) => false,
        (Some(_), _) => true,
        (None, ArgKind::Key | ArgKind::String | ArgKind::Pattern) => true,
        (None, ArgKind::Block) => a
            .arguments
            .iter()
            .filter(|m| (m.kind != ArgKind::PureToken || m.optional) && m.counts.is_none())
            .any(takes_generic),
        (None, _) => false,
    }
}

/// The runtime type an argument's value converts into (`typedis.types`), if it is one.
pub(super) fn typed_path(a: &Argument) -> Option<TokenStream> {
    let t = format_ident!("{}", a.typed.and_then(ArgType::runtime_type)?);
    Some(quote!(::typedis::#t))
}

/// `/ n`, turning a counted list's number of arguments into its number of elements
/// (nothing when each element is one argument).
pub(super) fn per_element(list: &Argument) -> TokenStream {
    match list.fixed_arity() {
        Some(n) if n > 1 => {
            let n = Literal::usize_unsuffixed(n);
            quote!(/ #n)
        }
        _ => quote!(),
    }
}

/// The members of a flattened argument that get a setter each: through choices and
/// untokened blocks, down to what has a token or a value of its own.
pub(super) fn flat_leaves(a: &Argument) -> Vec<&Argument> {
    match a.kind {
        ArgKind::Oneof if !is_token_oneof(a) => a.arguments.iter().flat_map(flat_leaves).collect(),
        ArgKind::Block if a.token.is_none() => a.arguments.iter().flat_map(flat_leaves).collect(),
        _ => vec![a],
    }
}

/// An optional block of a value and one optional member after it (`COUNT count [ANY]`,
/// `FULL [COUNT count]`, `count [WITHVALUES]`): two setters instead of a tuple, one
/// without the member (`.count(n)`, `.full()`) and one with it (`.count_any(n)`,
/// `.full_count(n)`, `.count_withvalues(n)`), each with the reply its members pick.
pub(super) fn split_block(a: &Argument) -> Option<(&Argument, &Argument)> {
    if a.kind != ArgKind::Block || a.token.is_some() || !a.optional || a.multiple {
        return None;
    }
    let simple = |m: &Argument| {
        !m.multiple && !matches!(m.kind, ArgKind::Block | ArgKind::Oneof) && m.writer.is_none()
    };
    match a.arguments.as_slice() {
        [first, second]
            if !first.optional && simple(first) && second.optional && simple(second) =>
        {
            Some((first, second))
        }
        _ => None,
    }
}

/// A setter name not yet taken: `base`, else `base_alt`, else numbered. A base that is
/// the name of a command method (which a pipeline could not tell from the setter:
/// `pipeline().set(k, v).persist()`) becomes `with_base`, so a spec dumped from a new
/// release generates without a `typedis.names` entry; shipped specs name such setters
/// themselves.
pub(super) fn unique(
    taken: &mut BTreeSet<String>,
    commands: &BTreeSet<String>,
    base: &str,
    alt: &str,
) -> String {
    let with;
    let base = if commands.contains(base) {
        with = format!("with_{base}");
        with.as_str()
    } else {
        base
    };
    let mut name = base.to_owned();
    if taken.contains(&name) {
        name = format!("{}_{}", base, ident_safe(alt));
    }
    let mut n = 2;
    while taken.contains(&name) {
        name = format!("{base}_{n}");
        n += 1;
    }
    taken.insert(name.clone());
    name
}

/// The name of a method parameter: the spec's `typedis.names` entry, else the argument's
/// name; one the builder's constructor uses itself (`args`, `rest`, `sink`, `out`, `x`)
/// gets a `_`.
pub(super) fn param_name(a: &Argument) -> String {
    let name = a.rust_name.clone().unwrap_or_else(|| ident_safe(&a.name));
    if ["args", "rest", "sink", "out", "x"].contains(&name.as_str()) {
        format!("{name}_")
    } else {
        name
    }
}
