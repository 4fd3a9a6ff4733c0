//! The builder of a command: its struct, the constructor writing the name and the
//! required arguments, the setters of the rest (`setters.rs`), the requirements checked
//! before sending, and its builder cases (`cases.rs`).

use super::*;

impl<'a> Command<'a> {
    /// The builder, and (with `with_cases`) its entries of `BUILDER_CASES`.
    pub(super) fn builder(
        &self,
        with_cases: bool,
        trait_methods: &BTreeSet<String>,
    ) -> Result<(TokenStream, Vec<TokenStream>), Error> {
        let st = &self.struct_ident;
        let meta = &self.meta_ident;
        let default_reply = &self.default_reply;
        let mut enums = self.enums();
        let prefix = self.prefix_len();
        let args = &self.spec.arguments;
        let n_slots = args.len() - prefix;
        let n_slots_lit = Literal::usize_unsuffixed(n_slots);

        // Constructor: name tokens, prefix args, required slot args.
        let (params, _, generics) = self.params();
        let name_tokens: Vec<Literal> = self.full.split(' ').map(lit).collect();
        // The name is encoded at compile time when it fits the inline buffer of `Args`
        // (62 bytes: `$<len>\r\n<token>\r\n` per token), at run time otherwise.
        let encoded: usize = self
            .full
            .split(' ')
            .map(|t| 1 + t.len().to_string().len() + 2 + t.len() + 2)
            .sum();
        let start = if encoded <= 62 {
            quote!(const { ::typedis::Args::const_command(&[#(#name_tokens),*]) })
        } else {
            quote!(::typedis::Args::command(&[#(#name_tokens),*]))
        };
        for at in self.spec.typedis.requires.keys() {
            let alt = at.split_once('/').and_then(|(choice, alt)| {
                args.iter()
                    .find(|a| a.name == choice && a.kind == ArgKind::Oneof)
                    .and_then(|a| a.arguments.iter().find(|m| m.name == alt))
            });
            if alt.is_none() {
                return Err(Error::Spec {
                    path: self.path.clone(),
                    json_path: format!("typedis.requires.{at}"),
                    message:
                        "not an alternative of a choice: `choice/alternative`, names from the top"
                            .into(),
                });
            }
        }
        let mut ctor = Vec::new();
        let mut required = Vec::new();
        let mut param_names = self.param_names().into_iter().map(|(_, n)| n);
        for (i, a) in args.iter().enumerate() {
            if is_param(a) {
                let id = format_ident!("{}", param_names.next().unwrap_or_default());
                let carries = a.kind == ArgKind::Oneof
                    && a.arguments
                        .iter()
                        .any(|m| !self.carried_by(a, m).is_empty());
                if carries {
                    // Its alternatives write what they carry to the slots of their own.
                    let slot = |x: &Argument| match args.iter().position(|y| std::ptr::eq(x, y)) {
                        Some(j) if j >= prefix => {
                            let j = Literal::usize_unsuffixed(j - prefix);
                            quote!(rest.slot(#j))
                        }
                        _ => quote!(&mut args),
                    };
                    ctor.push(self.write_choice(a, quote!(#id), &mut enums, Some(&slot)));
                    continue;
                }
                let w = self.write(a, quote!(#id), &mut enums);
                if i < prefix {
                    ctor.push(bind_out(quote!(args), quote!(&mut args), w));
                } else {
                    let slot = Literal::usize_unsuffixed(i - prefix);
                    ctor.push(bind_out(
                        quote!(rest.slot(#slot)),
                        quote!(rest.slot(#slot)),
                        w,
                    ));
                }
            } else if a.counts.is_some() {
                // Written from its list's length, below.
            } else if !a.optional {
                let slot = i - prefix;
                if a.kind == ArgKind::PureToken {
                    let t = lit(a.token.as_deref().unwrap_or(&a.name));
                    let slot = Literal::usize_unsuffixed(slot);
                    ctor.push(quote!(rest.slot(#slot).push_bytes(#t);));
                } else {
                    let alts: Vec<String> = a
                        .arguments
                        .iter()
                        .flat_map(|m| {
                            if self.flattened(a, m) {
                                flat_leaves(m)
                            } else {
                                vec![m]
                            }
                        })
                        .map(|m| format!("`.{}(…)`", self.setter_base(m)))
                        .collect();
                    let msg = format!(
                        "`{}` needs its `{}` argument: call one of {}",
                        self.full,
                        a.name,
                        alts.join(", ")
                    );
                    let slot = Literal::usize_unsuffixed(slot);
                    required.push(quote!((#slot, #msg)));
                }
            }
        }

        for a in args.iter().filter(|a| a.counts.is_some()) {
            ctor.push(self.recount(a, quote!(rest)));
        }

        // Setters.
        let mut setters = Vec::new();
        let mut plan = Vec::new();
        // The builder's own methods, and those it has in a pipeline.
        let mut taken: BTreeSet<String> = [
            "decode",
            "new",
            "into_parts",
            "map_sink",
            "into_pipeline",
            "then",
            "execute",
            "execute_raw",
            "query",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for (i, a) in args.iter().enumerate().skip(prefix) {
            let slot = Literal::usize_unsuffixed(i - prefix);
            if is_param(a) && a.multiple {
                // A required repeatable argument after options (ZADD's members, XADD's
                // fields): the method takes the first values, a setter adds more.
                let name = unique(&mut taken, trait_methods, &self.setter_base(a), &a.name);
                let also = self.recount_of(a);
                setters.push(self.setter(&name, a, None, &slot, &mut enums, &also));
                continue;
            }
            if !self.has_setters(a) {
                continue;
            }
            if self.spec.typedis.flatten.contains(&a.name) {
                for leaf in flat_leaves(a) {
                    let name = unique(
                        &mut taken,
                        trait_methods,
                        &self.setter_base(leaf),
                        &leaf.name,
                    );
                    setters.push(self.flat_setter(&name, leaf, a, &slot, &mut enums));
                    plan.push(cases::Setter::new(leaf, Some(a), &name));
                }
                continue;
            }
            if a.kind == ArgKind::Oneof && a.writer.is_none() {
                // Alternatives named like another setter take their choice's token
                // (`NOT-TYPE NORMAL` is `.not_type_normal()` beside `TYPE NORMAL`'s
                // `.normal()`).
                let prefix = self.setter_base(a);
                for m in &a.arguments {
                    if self.flattened(a, m) {
                        // A repeatable alternative whose members are setters of their
                        // own, each adding one, in call order.
                        for leaf in flat_leaves(m) {
                            let name = unique(
                                &mut taken,
                                trait_methods,
                                &self.setter_base(leaf),
                                &leaf.name,
                            );
                            setters.push(self.flat_setter(&name, leaf, m, &slot, &mut enums));
                            plan.push(cases::Setter::new(leaf, Some(m), &name));
                        }
                        continue;
                    }
                    let base = self.setter_base(m);
                    let name = if taken.contains(&base) {
                        unique(
                            &mut taken,
                            trait_methods,
                            &format!("{prefix}_{base}"),
                            &m.name,
                        )
                    } else {
                        unique(&mut taken, trait_methods, &base, &m.name)
                    };
                    let also = self.requirement(a, m, &required)?;
                    setters.push(self.setter(&name, m, Some(a), &slot, &mut enums, &also));
                    plan.push(cases::Setter::new(m, Some(a), &name));
                }
                if is_token_oneof(a) {
                    let e = enums.get(a);
                    let name = unique(&mut taken, trait_methods, &ident_safe(&a.name), "choice");
                    plan.push(cases::Setter::new(a, None, &name));
                    let id = format_ident!("{}", name);
                    let doc = format!(
                        " `{}`, the choice as a value — {}",
                        plain_syntax(a),
                        if a.multiple {
                            "repeatable: each call adds one, in call order."
                        } else {
                            "the last call wins."
                        }
                    );
                    let reply = self.variant_reply(&a.name);
                    let (ret, conv) = match &reply {
                        Some(r) => (quote!(#st<S, #r>), quote!(self.decode())),
                        None => (quote!(Self), quote!(self)),
                    };
                    let access = self.slot_access(a, Some(a), &slot);
                    // A choice not every server accepts leaves its note, as its
                    // alternatives' setters do.
                    let note = a
                        .availability
                        .as_ref()
                        .map(|av| self.note(a, av))
                        .unwrap_or_default();
                    let body = match &access.head {
                        None if note.is_empty() => {
                            let get = &access.get;
                            quote!(#get.push(&value);)
                        }
                        None => {
                            let get = &access.get;
                            quote!({ let out = #get; out.push(&value); #note })
                        }
                        Some(_) => {
                            let open = access.open();
                            quote!({ #open out.push(&value); #note })
                        }
                    };
                    setters.push(quote! {
                        #[doc = #doc]
                        pub fn #id(mut self, value: #e) -> #ret {
                            #body
                            #conv
                        }
                    });
                }
            } else if let Some((first, second)) = split_block(a) {
                let base = a
                    .rust_name
                    .clone()
                    .unwrap_or_else(|| self.setter_base(first));
                let one = unique(&mut taken, trait_methods, &base, &a.name);
                let both_base = second
                    .rust_name
                    .clone()
                    .unwrap_or_else(|| format!("{base}_{}", self.setter_base(second)));
                let both = unique(&mut taken, trait_methods, &both_base, &second.name);
                setters.push(self.split_setter(&one, a, &[first], &slot, &mut enums));
                setters.push(self.split_setter(&both, a, &[first, second], &slot, &mut enums));
                plan.push(cases::Setter::new(a, None, &one));
                plan.push(cases::Setter::new(second, Some(a), &both));
            } else {
                let name = unique(&mut taken, trait_methods, &self.setter_base(a), &a.name);
                let also = self.recount_of(a);
                setters.push(self.setter(&name, a, None, &slot, &mut enums, &also));
                plan.push(cases::Setter::new(a, None, &name));
            }
        }
        if let Some(bad) = taken.iter().find(|n| trait_methods.contains(*n)) {
            return Err(Error::Spec {
                path: self.path.clone(),
                json_path: "typedis.names".into(),
                message: format!(
                    "the setter `{bad}` has the name of a command method, which a pipeline could not tell from it (`pipeline().set(k, v).{bad}(…)`): give it a name in `typedis.names` (argument path → name)"
                ),
            });
        }
        if let Some(bad) = taken.iter().find(|n| n.ends_with('_')) {
            return Err(Error::Spec {
                path: self.path.clone(),
                json_path: "typedis.names".into(),
                message: format!(
                    "the setter `{bad}` would be named after a Rust keyword: give it a name in `typedis.names` (argument path → name)"
                ),
            });
        }
        let cases = if with_cases {
            self.cases(&plan, &mut enums)?
        } else {
            Vec::new()
        };

        let mut enum_defs: Vec<TokenStream> = std::mem::take(&mut enums.defs)
            .into_values()
            .map(|(_, d)| d)
            .collect();
        enum_defs.extend(std::mem::take(&mut enums.values).into_values());
        let docs = self.docs();
        // The trait is in the same file (its group's, or the one output file).
        let struct_doc = format!(
            " Builder for `{}`; await it to send. Created by [`{t}::{m}`]({t}::{m}).",
            self.full,
            t = self.trait_name,
            m = self.method_ident
        );
        let _ = docs;
        let dep = self.deprecated();
        let reqs = if required.is_empty() {
            quote!()
        } else {
            quote!(rest.require(&[#(#required),*]);)
        };
        // `mut` only where the constructor writes; the allowances per item only where the
        // output is one file (`split_groups` puts them at the top of each group's file).
        let written = quote!(#(#ctor)* #reqs).to_string();
        let words: Vec<&str> = written.split_whitespace().collect();
        let args_mut = (written.contains("& mut args")
            || words.windows(2).any(|w| w == ["args", "."]))
        .then(|| quote!(mut));
        let rest_mut = written.contains("rest .").then(|| quote!(mut));
        let (ctor_allow, setter_allow) = if self.item_allows {
            (
                quote!(#[allow(deprecated, clippy::too_many_arguments, clippy::let_unit_value)]),
                quote!(#[allow(deprecated, clippy::let_unit_value)]),
            )
        } else {
            (quote!(), quote!())
        };
        let setters_impl = if setters.is_empty() {
            quote!()
        } else {
            quote! {
                #setter_allow
                impl<S, R> #st<S, R> {
                    #(#setters)*
                }
            }
        };
        let builder = quote! {
            #(#enum_defs)*

            #[doc = #struct_doc]
            #[must_use = "a command does nothing until it is awaited (or added to a pipeline)"]
            #dep
            pub struct #st<S, R = #default_reply> {
                sink: S,
                args: ::typedis::Args,
                rest: ::typedis::__private::Slots<#n_slots_lit>,
                _reply: ::core::marker::PhantomData<fn() -> R>,
            }

            #ctor_allow
            impl<S> #st<S> {
                #[doc(hidden)]
                pub fn new #generics(sink: S, #(#params),*) -> Self {
                    let #args_mut args = #start;
                    let #rest_mut rest = ::typedis::__private::Slots::new();
                    #(#ctor)*
                    #reqs
                    Self::from_parts(sink, args, rest)
                }
            }

            #setters_impl

            ::typedis::__typedis_builder!(#st, #meta, #n_slots_lit);
        };
        Ok((builder, cases))
    }

    /// What the setter of alternative `alt` of the choice `choice` adds for
    /// `typedis.requires`: when some alternative of the choice needs other arguments,
    /// each alternative's setter sets the builder's requirements (`required`, the
    /// constructor's, and its own), so the last call decides.
    pub(super) fn requirement(
        &self,
        choice: &Argument,
        alt: &Argument,
        required: &[TokenStream],
    ) -> Result<TokenStream, Error> {
        let prefix = format!("{}/", choice.name);
        if !self
            .spec
            .typedis
            .requires
            .keys()
            .any(|k| k.starts_with(&prefix))
        {
            return Ok(quote!());
        }
        let spec_error = |message: String| Error::Spec {
            path: self.path.clone(),
            json_path: format!("typedis.requires.{}/{}", choice.name, alt.name),
            message,
        };
        let skip = self.prefix_len();
        let mut own = Vec::new();
        for name in self
            .spec
            .typedis
            .requires
            .get(&format!("{prefix}{}", alt.name))
            .into_iter()
            .flatten()
        {
            let (i, needed) = self
                .spec
                .arguments
                .iter()
                .enumerate()
                .skip(skip)
                .find(|(_, a)| &a.name == name && !is_param(a))
                .ok_or_else(|| {
                    spec_error(format!(
                        "`{name}` is not an optional argument after the parameters"
                    ))
                })?;
            let how: Vec<String> = if needed.kind == ArgKind::Oneof {
                needed
                    .arguments
                    .iter()
                    .map(|m| format!("`.{}(…)`", self.setter_base(m)))
                    .collect()
            } else {
                vec![format!("`.{}(…)`", self.setter_base(needed))]
            };
            let shown = alt
                .token
                .clone()
                .or_else(|| alt.arguments.iter().find_map(|m| m.token.clone()))
                .unwrap_or_else(|| plain_syntax(alt));
            let msg = format!(
                "`{}` with `{shown}` needs its `{name}` argument: call {}",
                self.full,
                how.join(" or ")
            );
            let slot = Literal::usize_unsuffixed(i - skip);
            own.push(quote!((#slot, #msg)));
        }
        Ok(quote!(self.rest.require(&[#(#required,)* #(#own),*]);))
    }
}
