//! The setters of a builder: one per optional argument, per alternative of an optional
//! choice, per member of a flattened argument, and the two of a split block; where each
//! writes (replacing its slot, or appending for repeatable arguments) and its docs.

use super::*;

/// How a setter reaches its slot (see `Command::slot_access`).
pub(super) struct Access {
    /// An expression giving the slot's `&mut Args`.
    pub(super) get: TokenStream,
    /// What the setter writes first (its choice's token).
    pub(super) head: Option<TokenStream>,
    /// The slot writes the argument's once-written token itself.
    pub(super) own_token_done: bool,
}

impl Access {
    /// Binds the slot to `out` and writes the head.
    pub(super) fn open(&self) -> TokenStream {
        let (get, head) = (&self.get, &self.head);
        quote!(let out = #get; #head)
    }
}

impl<'a> Command<'a> {
    /// A setter of a split block (`split_block`): writes `members` (the first, or both),
    /// each value a parameter of its own.
    pub(super) fn split_setter(
        &self,
        name: &str,
        block: &Argument,
        members: &[&Argument],
        slot: &Literal,
        enums: &mut Enums<'_>,
    ) -> TokenStream {
        let st = &self.struct_ident;
        let id = format_ident!("{}", name);
        let shown: Vec<String> = members.iter().map(|m| plain_syntax(m)).collect();
        let mut doc = format!(" `{}`", shown.join(" "));
        doc.push_str(&servers::setter_words(
            block,
            None,
            &self.spec.typedis.servers,
        ));
        let mut docs = vec![doc];
        docs.extend(servers::member_lines(
            block,
            &self.spec.typedis.servers,
            &plain_syntax,
        ));
        // The reply its last member picks (`count_withvalues`: pairs), else the block's.
        let reply = match members
            .iter()
            .rev()
            .find_map(|m| self.variant_reply(&m.name))
        {
            Some(r) => Some(r),
            None => {
                let (reply, reply_doc) = self.setter_reply(block);
                if let Some(d) = reply_doc {
                    docs.extend([String::new(), d]);
                }
                reply
            }
        };
        let (ret, conv) = match &reply {
            Some(r) => (quote!(#st<S, #r>), quote!(self.decode())),
            None => (quote!(Self), quote!(self)),
        };
        let mut params = Vec::new();
        let mut writes = Vec::new();
        for m in members {
            let m = Argument {
                optional: false,
                ..(*m).clone()
            };
            if m.kind == ArgKind::PureToken {
                let t = lit(m.token.as_deref().unwrap_or(&m.name.to_uppercase()));
                let note = m
                    .availability
                    .as_ref()
                    .map(|av| self.note(&m, av))
                    .unwrap_or_default();
                writes.push(quote!(out.push_bytes(#t); #note));
            } else {
                let v = format_ident!("{}", ident_safe(&m.name));
                let ty = self.value_type(&m, enums, true);
                params.push(quote!(#v: #ty));
                writes.push(self.write(&m, quote!(#v), enums));
            }
        }
        let note = block
            .availability
            .as_ref()
            .map(|av| self.note(block, av))
            .unwrap_or_default();
        quote! {
            #(#[doc = #docs])*
            pub fn #id(mut self, #(#params),*) -> #ret {
                {
                    let out = self.rest.slot(#slot);
                    #(#writes)*
                    #note
                }
                #conv
            }
        }
    }

    /// Whether `alt`, an alternative of the choice `choice`, is flattened
    /// (`typedis.flatten`: `choice/alternative`).
    pub(super) fn flattened(&self, choice: &Argument, alt: &Argument) -> bool {
        let path = format!("{}/{}", choice.name, alt.name);
        self.spec.typedis.flatten.contains(&path)
    }

    /// Where a setter writes: a setter replaces what an earlier call wrote (`slot`), but
    /// a repeatable argument — `multiple` itself, or an alternative of a `multiple`
    /// choice (BITFIELD's operations) — adds to it in call order (`append`). The
    /// choice's token comes first: once for all values (`append_under`), or before each
    /// one (`multiple_token`, or a single choice).
    pub(super) fn slot_access(
        &self,
        a: &Argument,
        parent: Option<&Argument>,
        slot: &Literal,
    ) -> Access {
        let under = |t: &str, own_token_done| {
            let t = lit(t);
            Access {
                get: quote!(self.rest.append_under(#slot, #t)),
                head: None,
                own_token_done,
            }
        };
        let plain = |get, head: Option<&str>| Access {
            get,
            head: head.map(|t| {
                let t = lit(t);
                quote!(out.push_bytes(#t);)
            }),
            own_token_done: false,
        };
        match parent {
            None if a.multiple => match &a.token {
                Some(t) if !a.multiple_token => under(t, true),
                _ => plain(quote!(self.rest.append(#slot)), None),
            },
            None => plain(quote!(self.rest.slot(#slot)), None),
            Some(p) => match (&p.token, p.multiple) {
                (Some(t), true) if !p.multiple_token => under(t, false),
                (t, true) => plain(quote!(self.rest.append(#slot)), t.as_deref()),
                (t, false) => plain(quote!(self.rest.slot(#slot)), t.as_deref()),
            },
        }
    }

    /// A setter for `leaf`, a member of the flattened argument `top` (`typedis.flatten`):
    /// its values are parameters of their own (`.set(encoding, offset, value)`), and each
    /// call adds one operation after the earlier ones.
    pub(super) fn flat_setter(
        &self,
        name: &str,
        leaf: &Argument,
        top: &Argument,
        slot: &Literal,
        enums: &mut Enums<'_>,
    ) -> TokenStream {
        let st = &self.struct_ident;
        let id = format_ident!("{}", name);
        let servers = &self.spec.typedis.servers;
        let is_top = std::ptr::eq(leaf, top);
        let inherited = (!is_top).then_some(top.availability.as_ref()).flatten();
        // One operation per call: the syntax of one.
        let one = Argument {
            multiple: false,
            ..leaf.clone()
        };
        let mut doc = format!(" `{}`", plain_syntax(&one));
        doc.push_str(&servers::setter_words(leaf, inherited, servers));
        Self::doc_more(&mut doc, "repeatable: each call adds one, in call order.");
        let mut docs = vec![doc];
        docs.extend(servers::member_lines(leaf, servers, &plain_syntax));
        let notes: Vec<TokenStream> = [leaf.availability.as_ref().map(|av| self.note(leaf, av))]
            .into_iter()
            .chain([inherited.map(|av| self.note(top, av))])
            .flatten()
            .collect();
        let (reply, reply_doc) = self.setter_reply(leaf);
        if let Some(d) = reply_doc {
            docs.extend([String::new(), d]);
        }
        let (ret, conv) = match &reply {
            Some(r) => (quote!(#st<S, #r>), quote!(self.decode())),
            None => (quote!(Self), quote!(self)),
        };
        // The leaf's token: before each operation, unless the flattened argument itself
        // is the leaf and writes its token once before all of them.
        let (access, token) = match (&leaf.token, is_top) {
            (Some(_), true) if !leaf.multiple_token => {
                (self.slot_access(leaf, None, slot).open(), None)
            }
            (t, true) => (quote!(let out = self.rest.append(#slot);), t.as_deref()),
            (t, false) => (self.slot_access(leaf, Some(top), slot).open(), t.as_deref()),
        };
        let token = token.map(|t| {
            let t = lit(t);
            quote!(out.push_bytes(#t);)
        });
        self.markers.borrow_mut().clear();
        let (params, body) = match leaf.kind {
            ArgKind::Block => {
                let mut seen = BTreeSet::new();
                let (params, names): (Vec<TokenStream>, Vec<proc_macro2::Ident>) = self
                    .block_parts(leaf)
                    .into_iter()
                    .map(|m| {
                        let mut n = ident_safe(&m.name);
                        while !seen.insert(n.clone()) {
                            n.push('_');
                        }
                        let n = format_ident!("{}", n);
                        let t = self.value_type(m, enums, true);
                        let t = if m.optional && m.kind != ArgKind::PureToken {
                            quote!(::core::option::Option<#t>)
                        } else {
                            t
                        };
                        (quote!(#n: #t), n)
                    })
                    .unzip();
                let value = if names.len() == 1 {
                    quote!(#(#names)*)
                } else {
                    quote!((#(#names),*))
                };
                let w = self.write_one(leaf, quote!(x), enums);
                (params, quote!(let x = #value; #w))
            }
            ArgKind::Oneof if is_token_oneof(leaf) => {
                let e = enums.get_named(leaf, leaf.token.as_deref().unwrap_or(&leaf.name));
                (vec![quote!(value: #e)], quote!(out.push(&value);))
            }
            ArgKind::PureToken => (Vec::new(), quote!()),
            _ => {
                let t = self.value_type(leaf, enums, true);
                let w = self.write_one(leaf, quote!(x), enums);
                let body = if leaf.multiple {
                    let many = if takes_generic(leaf) {
                        quote!(::typedis::ManyArgs::many)
                    } else {
                        quote!(::core::iter::IntoIterator::into_iter)
                    };
                    quote!(for x in #many(value) { #w })
                } else {
                    quote!(let x = value; #w)
                };
                (vec![quote!(value: #t)], body)
            }
        };
        let generics = self.generics();
        quote! {
            #(#[doc = #docs])*
            pub fn #id #generics(mut self, #(#params),*) -> #ret {
                {
                    #access
                    #token
                    #body
                    #(#notes)*
                }
                #conv
            }
        }
    }

    /// A setter for optional argument `a`, or for alternative `a` of the oneof `parent`.
    pub(super) fn setter(
        &self,
        name: &str,
        a: &Argument,
        parent: Option<&Argument>,
        slot: &Literal,
        enums: &mut Enums<'_>,
        also: &TokenStream,
    ) -> TokenStream {
        let st = &self.struct_ident;
        let id = format_ident!("{}", name);
        let servers = &self.spec.typedis.servers;
        let inherited = parent.and_then(|p| p.availability.as_ref());
        let mut doc = match parent.and_then(|p| p.token.as_deref()) {
            Some(t) => format!(" `{t} {}`", plain_syntax(a)),
            None => format!(" `{}`", plain_syntax(a)),
        };
        doc.push_str(&servers::setter_words(a, inherited, servers));
        Self::doc_more(&mut doc, Self::repeat_doc(a, parent));
        let mut docs = vec![doc];
        docs.extend(servers::member_lines(a, servers, &plain_syntax));
        // The parent's note, when only the parent is not accepted everywhere (the
        // argument's own is written with it).
        let inherited_note = match (&a.availability, inherited) {
            (None, Some(av)) => self.note(parent.unwrap_or(a), av),
            _ => quote!(),
        };
        let (reply, reply_doc) = self.setter_reply(a);
        if let Some(d) = reply_doc {
            docs.extend([String::new(), d]);
        }
        let (ret, conv) = match &reply {
            Some(r) => (quote!(#st<S, #r>), quote!(self.decode())),
            None => (quote!(Self), quote!(self)),
        };
        let access = self.slot_access(a, parent, slot);
        if is_flag_block(a) {
            // Only tokens (`NO ONE`, `LOAD *`): a flag, like a pure token.
            let toks = a.token.iter().map(String::as_str).chain(
                a.arguments
                    .iter()
                    .filter(|m| m.kind == ArgKind::PureToken && !m.optional)
                    .map(|m| m.token.as_deref().unwrap_or(&m.name)),
            );
            let toks: Vec<Literal> = toks.map(lit).collect();
            let own_note = a
                .availability
                .as_ref()
                .map(|av| self.note(a, av))
                .unwrap_or_default();
            let open = access.open();
            return quote! {
                #(#[doc = #docs])*
                pub fn #id(mut self) -> #ret {
                    {
                        #open
                        #(out.push_bytes(#toks);)*
                        #own_note
                        #inherited_note
                    }
                    #also
                    #conv
                }
            };
        }
        if a.kind == ArgKind::PureToken {
            let t = lit(a.token.as_deref().unwrap_or(&a.name.to_uppercase()));
            let own_note = a
                .availability
                .as_ref()
                .map(|av| self.note(a, av))
                .unwrap_or_default();
            let body = if own_note.is_empty() && inherited_note.is_empty() && access.head.is_none()
            {
                let get = &access.get;
                quote!(#get.push_bytes(#t);)
            } else {
                let open = access.open();
                quote! {
                    #open
                    out.push_bytes(#t);
                    #own_note
                    #inherited_note
                }
            };
            return quote! {
                #(#[doc = #docs])*
                pub fn #id(mut self) -> #ret {
                    #body
                    #also
                    #conv
                }
            };
        }
        self.markers.borrow_mut().clear();
        let ty = self.value_type(a, enums, true);
        let generics = self.generics();
        let w = self.write_as(a, quote!(value), enums, access.own_token_done);
        let access = access.open();
        quote! {
            #(#[doc = #docs])*
            pub fn #id #generics(mut self, value: #ty) -> #ret {
                {
                    #access
                    #w
                    #inherited_note
                }
                #also
                #conv
            }
        }
    }
}
