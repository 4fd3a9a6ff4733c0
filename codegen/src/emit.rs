//! The emitter: one builder struct, one trait method and one static `CommandMeta` per
//! command, plus the lookup table. Output is tokens; `lib.rs` formats it.
//!
//! Shape of what is generated for a command (see `tests/golden/` for real output):
//! - `pub struct Zadd<S, R = i64> { sink, args, rest, _reply }` — `args` holds the
//!   command name and the leading required arguments, already encoded; `rest` holds one
//!   slot per later argument, so setters may be called in any order and the wire order
//!   is still the spec's.
//! - setters for optional arguments (named after the token, else the argument), one per
//!   `oneof` alternative (writing the choice's token first), and an enum setter for
//!   `oneof`s of tokens; a setter replaces its slot, but a repeatable argument's setter
//!   (and one of an alternative of a repeatable choice) appends to it, and a required
//!   repeatable argument after options gets an appending setter too; the members of a
//!   `typedis.flatten` argument get a setter each (BITFIELD's `.get(..)`, `.set(..)`);
//!   the setters of a choice with `typedis.requires` also set what the builder needs
//!   before it may be sent;
//! - `fn zadd(self, key, score_member) -> Out<Self, Zadd<Self>>` on the commands trait
//!   (split: the group's, `SortedSetCommands`, first in the group's file; `groups.rs`);
//! - `__typedis_builder!(Zadd, ZADD, 5)` (builder, metadata, number of slots), which
//!   adds `from_parts`, `decode`, `IntoFuture`, `Debug` and the hidden `Builder` impl
//!   from the runtime;
//! - with `Config::builder_cases`, the entries of `BUILDER_CASES` (`emit/cases.rs`).

use std::collections::{BTreeMap, BTreeSet};

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use crate::names::{ident_safe, is_keyword, pascal, snake};
use crate::reply::{reply_type, rust_type, short_name};
use crate::servers;
use crate::spec::{
    ArgKind, ArgType, Argument, BeginSearch, CommandSpec, DispatchConnection, FindKeys, ReplyMode,
    SpecFile, StateEffect, StateKind, TimeUnit,
};
use crate::Error;

mod arguments;
mod builders;
mod cases;
mod docs;
mod enums;
mod groups;
mod meta;
mod replies;
mod samples;
mod setters;

use arguments::*;
use docs::*;
use enums::*;
use meta::*;

/// Emits the code for all commands (`builder_cases`: also the `BUILDER_CASES` table;
/// `pipeline_impls`: the trait on each builder open in a pipeline).
/// What `emit_all` makes: the trait, the tables and the differences (`root`), and each
/// command's metadata, enums and builder, by command group.
pub struct Emitted {
    pub root: TokenStream,
    pub groups: BTreeMap<String, TokenStream>,
}

impl Emitted {
    /// Everything in one file.
    pub fn single(self) -> TokenStream {
        let groups = self.groups.into_values();
        let root = self.root;
        quote!(#(#groups)* #root)
    }
}

/// The module name of a command group (`sorted-set` → `sorted_set`, `generic` → `keys`).
pub fn group_module(group: &str) -> String {
    match group {
        "" => "other".into(),
        "generic" => "keys".into(),
        g => snake(g),
    }
}

pub fn emit_all(
    specs: &[SpecFile],
    trait_name: &str,
    with_lookup: bool,
    builder_cases: bool,
    pipeline_impls: bool,
    split: bool,
) -> Result<Emitted, Error> {
    let trait_ident = format_ident!("{}", trait_name);
    let mut groups: BTreeMap<String, Vec<TokenStream>> = BTreeMap::new();
    // Split: each group's trait (`SortedSetCommands`) and its methods, in its own file.
    let group_traits: BTreeMap<String, String> = specs
        .iter()
        .map(|f| group_module(f.spec.group.as_deref().unwrap_or("")))
        .map(|m| {
            let t = groups::trait_name(&m);
            (m, t)
        })
        .collect();
    let mut group_methods: BTreeMap<String, Vec<TokenStream>> = BTreeMap::new();
    let mut methods = Vec::new();
    let mut metas = Vec::new();
    let mut method_names = Vec::new();
    let mut decoders = Vec::new();
    let mut variant_decoders = Vec::new();
    let mut case_entries = Vec::new();
    // Containers are called only through their subcommands.
    let containers: BTreeSet<String> = specs
        .iter()
        .filter_map(|s| s.spec.container.as_ref().map(|c| c.to_uppercase()))
        .collect();
    // Every method of the trait: a setter must not share one's name, or in a pipeline
    // (where a command's builder has the trait's methods too) the setter would win.
    let mut trait_methods = BTreeSet::new();
    for file in specs {
        let full = file.full_name();
        if containers.contains(&full) && file.spec.arguments.is_empty() && !file.spec.typedis.bare {
            continue;
        }
        let cmd = Command::new(file, format_ident!("M"), trait_name)?;
        trait_methods.insert(cmd.method_ident.to_string());
    }
    for file in specs {
        let full = file.full_name();
        let meta_ident = format_ident!("{}", snake(&full).to_uppercase());
        metas.push((full.clone(), meta_ident.clone()));
        let module = group_module(file.spec.group.as_deref().unwrap_or(""));
        let items = groups.entry(module.clone()).or_default();
        items.push(emit_meta(file, &meta_ident)?);
        if containers.contains(&full) && file.spec.arguments.is_empty() && !file.spec.typedis.bare {
            continue;
        }
        let owner = if split {
            group_traits[&module].as_str()
        } else {
            trait_name
        };
        let mut cmd = Command::new(file, meta_ident, owner)?;
        cmd.item_allows = !split;
        method_names.push((full.clone(), cmd.method_ident.to_string()));
        let reply = &cmd.default_reply;
        decoders.push(quote!((#full, |v: ::typedis::Value| <#reply as ::typedis::FromValue>::from_value(v).map(drop))));
        for (when, reply) in &cmd.variants {
            variant_decoders.push(quote!((#full, &[#(#when),*], |v: ::typedis::Value| <#reply as ::typedis::FromValue>::from_value(v).map(drop))));
        }
        let (builder, cases) = cmd.builder(builder_cases, &trait_methods)?;
        items.push(builder);
        if pipeline_impls {
            // In a pipeline, this trait's methods after one of its commands (typedis'
            // own traits have them on every open builder by blanket impls, which a
            // trait of another crate cannot have).
            let st = &cmd.struct_ident;
            items.push(quote! {
                #[allow(deprecated)]
                impl<'c, T, R> #trait_ident for #st<::typedis::pipeline::Pipeline<'c, T>, R> {}
            });
        }
        case_entries.extend(cases);
        if split {
            group_methods.entry(module).or_default().push(cmd.method());
        } else {
            methods.push(cmd.method());
        }
    }
    metas.sort();
    let lookup = if with_lookup {
        let entries = metas.iter().map(|(_, id)| quote!(&#id));
        let (cmds, meths): (Vec<_>, Vec<_>) = method_names.iter().cloned().unzip();
        quote! {
            /// Every known command, sorted by name (`"CLIENT KILL"` for subcommands).
            pub static COMMANDS: &[&::typedis::meta::CommandMeta] = &[#(#entries),*];
            /// Every generated method: (command name, method name).
            pub static METHODS: &[(&str, &str)] = &[#((#cmds, #meths)),*];
            /// For each command, a check that a reply decodes into its default reply type
            /// (used by the conformance tests; behind the hidden `reply-decoders`
            /// feature, since instantiating every decoder costs build time).
            #[doc(hidden)]
            #[cfg(feature = "reply-decoders")]
            #[allow(clippy::type_complexity)]
            pub static DEFAULT_DECODERS: &[(&str, fn(::typedis::Value) -> ::typedis::Result<()>)] = &[#(#decoders),*];
            /// For each reply variant (the optional arguments that pick it), the same check.
            #[doc(hidden)]
            #[cfg(feature = "reply-decoders")]
            #[allow(clippy::type_complexity)]
            pub static VARIANT_DECODERS: &[(&str, &[&str], fn(::typedis::Value) -> ::typedis::Result<()>)] = &[#(#variant_decoders),*];
        }
    } else {
        quote!()
    };
    let cases = if builder_cases {
        cases::table(&case_entries)
    } else {
        quote!()
    };
    let stateful: Vec<String> = specs
        .iter()
        .filter(|s| changes_connection(&s.spec))
        .map(|s| format!("`{}`", s.full_name()))
        .collect();
    let n_methods = methods.len() + group_methods.values().map(Vec::len).sum::<usize>();
    let mut trait_doc = if split {
        format!(
            "The typed commands: every command of the specs ({n_methods} methods), as the traits of their groups ({}).\n\nGeneric code bounds on this trait and calls every command (`fn f<C: {trait_name}>(c: C)`); on a concrete handle (`Client`, `ClusterClient`, pipelines, dedicated connections) the group traits must be in scope: `use typedis::prelude::*;` brings them all.",
            group_traits.values().map(|t| format!("[`{t}`]")).collect::<BTreeSet<_>>().into_iter().collect::<Vec<_>>().join(", ")
        )
    } else {
        format!(
            "The typed commands: one method per command of the specs ({n_methods} methods).\n\nBring it into scope with `use typedis::prelude::*;`."
        )
    };
    let differences = servers::differences_table(specs, &plain_syntax);
    if !stateful.is_empty() {
        trait_doc.push_str(&format!(
            "\n\n# Connection-state commands\n\nThe commands that change the state of the connection they run on ({}) are bound by `Self: OwnsConnection` (`typedis::exec::OwnsConnection`): they compile only on handles that own their connection — `client.dedicated().await?`, a `WatchSession` — and calling one on a handle that shares its connection (a `Client` and its clones, its pipelines and transactions, a `ClusterClient`) is a compile error that points to the dedicated connection. The specs say which commands these are (`typedis.connection_state`), and why.",
            stateful.join(", ")
        ));
    }
    let groups = groups
        .into_iter()
        .map(|(g, items)| {
            let Some(methods) = group_methods.remove(&g) else {
                return (g, quote!(#(#items)*));
            };
            let doc = doc_lines(&groups::trait_doc(&g, trait_name, methods.len()));
            let t = format_ident!("{}", group_traits[&g]);
            let tokens = quote! {
                #(#[doc = #doc])*
                pub trait #t: ::typedis::__private::Sink {
                    #(#methods)*
                }

                /// Every handle has the commands (see [`Sink`](::typedis::__private::Sink)).
                impl<S: ::typedis::__private::Sink> #t for S {}

                #(#items)*
            };
            (g, tokens)
        })
        .collect();
    let trait_doc = doc_lines(&trait_doc);
    let the_trait = if split {
        let supers: Vec<_> = group_traits
            .values()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(|t| format_ident!("{}", t))
            .collect();
        let list = &supers;
        quote! {
            #(#[doc = #trait_doc])*
            pub trait #trait_ident: #(#supers)+* {}

            /// Every handle has every command.
            impl<S: ::typedis::__private::Sink> #trait_ident for S {}

            /// Every command trait: what `typedis::prelude` brings into scope.
            pub mod traits {
                pub use super::{#trait_ident, #(#list),*};
            }
        }
    } else {
        quote! {
            #(#[doc = #trait_doc])*
            pub trait #trait_ident: ::typedis::__private::Sink {
                #(#methods)*
            }
        }
    };
    let root = quote! {
        #differences

        #the_trait

        #lookup

        #cases
    };
    Ok(Emitted { root, groups })
}

/// `body` writing to `out`, the `&mut Args` that `target` gives: with `out` replaced
/// by `direct` (the same place, as a method receiver) when `body` names it once and not
/// in a loop (`args.push(&key);`), else in a block binding it (`{ let out = &mut args; … }`).
fn bind_out(direct: TokenStream, target: TokenStream, body: TokenStream) -> TokenStream {
    // How often `out` is named, and whether always as a method receiver (`out.…`).
    fn uses(ts: &TokenStream) -> (usize, bool) {
        let tokens: Vec<_> = ts.clone().into_iter().collect();
        let (mut n, mut receiver) = (0, true);
        for (i, t) in tokens.iter().enumerate() {
            match t {
                // In a loop, `out` is evaluated on each pass (and `rest.slot(i)`
                // clears its slot): keep the binding.
                proc_macro2::TokenTree::Ident(id)
                    if id == "for" || id == "while" || id == "loop" =>
                {
                    receiver = false;
                }
                proc_macro2::TokenTree::Ident(id) if id == "out" => {
                    n += 1;
                    receiver &= matches!(tokens.get(i + 1), Some(proc_macro2::TokenTree::Punct(p)) if p.as_char() == '.');
                }
                proc_macro2::TokenTree::Group(g) => {
                    let (m, r) = uses(&g.stream());
                    n += m;
                    receiver &= r;
                }
                _ => {}
            }
        }
        (n, receiver)
    }
    fn replace(ts: TokenStream, with: &TokenStream) -> TokenStream {
        ts.into_iter()
            .flat_map(|t| match t {
                proc_macro2::TokenTree::Ident(i) if i == "out" => with.clone(),
                proc_macro2::TokenTree::Group(g) => {
                    let mut n = proc_macro2::Group::new(g.delimiter(), replace(g.stream(), with));
                    n.set_span(g.span());
                    quote!(#n)
                }
                t => quote!(#t),
            })
            .collect()
    }
    match uses(&body) {
        (0, _) => body,
        (1, true) => replace(body, &direct),
        _ => quote!({ let out = #target; #body }),
    }
}

/// A doc text as the lines of `#[doc]` attributes (`///` lines once formatted).
fn doc_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!(" {l}")
            }
        })
        .collect()
}

fn lit(s: &str) -> Literal {
    Literal::byte_string(s.as_bytes())
}

// ------------------------------------------------------------------ commands

struct Command<'a> {
    trait_name: &'a str,
    /// The spec file, for errors.
    path: std::path::PathBuf,
    spec: &'a CommandSpec,
    full: String,
    struct_ident: proc_macro2::Ident,
    method_ident: proc_macro2::Ident,
    meta_ident: proc_macro2::Ident,
    default_reply: TokenStream,
    /// The reply variants: the arguments that pick each, and its type.
    variants: Vec<(Vec<String>, TokenStream)>,
    /// The `ManyArgs` markers of the signature being emitted (one generic parameter per
    /// `multiple` argument: `del<M0>(self, key: impl ManyArgs<M0, Item = impl ToArg>)`).
    markers: std::cell::RefCell<Vec<proc_macro2::Ident>>,
    /// Lint allowances on each item (one output file), else none (the group files
    /// allow what they need at their top).
    item_allows: bool,
}

fn is_token_oneof(arg: &Argument) -> bool {
    arg.kind == ArgKind::Oneof
        && !arg.arguments.is_empty()
        && arg.arguments.iter().all(|a| a.kind == ArgKind::PureToken)
}

/// Whether an argument is a method parameter: required, with a value, not computed,
/// and not a choice made by calling setters (`by_setters`). A required choice is one:
/// omitting it does not compile.
fn is_param(arg: &Argument) -> bool {
    !arg.optional && arg.kind != ArgKind::PureToken && arg.counts.is_none() && !arg.by_setters
}

impl<'a> Command<'a> {
    fn new(
        file: &'a SpecFile,
        meta_ident: proc_macro2::Ident,
        trait_name: &'a str,
    ) -> Result<Self, Error> {
        let full = file.full_name();
        let base = snake(&full);
        let method = match &file.spec.typedis.method {
            Some(m) => m.clone(),
            None if is_keyword(&base) => {
                return Err(Error::Spec {
                    path: file.path.clone(),
                    json_path: "typedis.method".into(),
                    message: format!("`{base}` is a Rust keyword: give the method a name with \"typedis\": {{\"method\": \"…\"}}"),
                })
            }
            None => base,
        };
        let spec_error = |json_path: String, message: String| Error::Spec {
            path: file.path.clone(),
            json_path,
            message,
        };
        let default_reply = match &file.spec.typedis.reply_type {
            Some(t) => rust_type(t).map_err(|e| spec_error("typedis.reply_type".into(), e))?,
            None => reply_type(file.spec.reply_schema.as_ref())
                .map_err(|e| spec_error("reply_schema".into(), e))?,
        };
        for (i, name) in file.spec.typedis.flatten.iter().enumerate() {
            let ok = file
                .spec
                .arguments
                .iter()
                .any(|a| &a.name == name && a.optional && a.multiple);
            // Or a repeatable alternative of a choice at the top (CLIENT KILL's
            // `filter/new-format`).
            let alternative = name.split_once('/').is_some_and(|(choice, alt)| {
                file.spec.arguments.iter().any(|a| {
                    a.name == choice
                        && a.kind == ArgKind::Oneof
                        && a.arguments.iter().any(|m| m.name == alt && m.multiple)
                })
            });
            if !ok && !alternative {
                return Err(spec_error(
                    format!("typedis.flatten[{i}]"),
                    format!("`{name}` is not an optional, repeatable (`multiple`) argument at the top of the command, nor a repeatable alternative of a choice at the top (`choice/alternative`)"),
                ));
            }
        }
        let variants = file
            .spec
            .typedis
            .reply_variants
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let at = format!("typedis.reply_variants[{i}]");
                let ty = match &v.reply_type {
                    Some(t) => rust_type(t).map_err(|e| spec_error(format!("{at}.reply_type"), e)),
                    None => reply_type(v.reply_schema.as_ref())
                        .map_err(|e| spec_error(format!("{at}.reply_schema"), e)),
                }?;
                Ok((v.when.clone(), ty))
            })
            .collect::<Result<_, Error>>()?;
        Ok(Command {
            trait_name,
            path: file.path.clone(),
            spec: &file.spec,
            struct_ident: format_ident!("{}", pascal(&full)),
            method_ident: format_ident!("{}", method),
            meta_ident,
            full,
            default_reply,
            variants,
            markers: Default::default(),
            item_allows: true,
        })
    }

    /// Number of leading arguments written straight into `args` (required, not needing a slot).
    pub(super) fn prefix_len(&self) -> usize {
        self.spec
            .arguments
            .iter()
            .take_while(|a| is_param(a))
            .count()
    }

    pub(super) fn method(&self) -> TokenStream {
        let (params, names, generics) = self.params();
        let method = &self.method_ident;
        let st = &self.struct_ident;
        let docs = self.docs();
        let alias = &self.full;
        let dep = self.deprecated();
        // Connection-state commands compile only where `Self` owns its connection; the
        // bound's diagnostic points to `client.dedicated()`.
        let allow = if self.item_allows {
            quote!(#[allow(deprecated)])
        } else {
            quote!()
        };
        let bound = if changes_connection(self.spec) {
            quote!(where Self: ::typedis::exec::OwnsConnection)
        } else {
            quote!()
        };
        quote! {
            #(#[doc = #docs])*
            #[doc(alias = #alias)]
            #dep
            #allow
            fn #method #generics(self, #(#params),*) -> ::typedis::__private::Out<Self, #st<Self>> #bound {
                ::typedis::__private::wrap(#st::new(self, #(#names),*))
            }
        }
    }

    /// The registry of the enums of this command's arguments.
    pub(super) fn enums(&self) -> Enums<'_> {
        Enums {
            prefix: pascal(&self.full),
            defs: BTreeMap::new(),
            values: BTreeMap::new(),
            command: &self.full,
            servers: &self.spec.typedis.servers,
        }
    }

    /// The method's parameters in order, each with its name (`param_name`, made unique).
    pub(super) fn param_names(&self) -> Vec<(&'a Argument, String)> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for a in self.spec.arguments.iter().filter(|a| is_param(a)) {
            let mut name = param_name(a);
            while !seen.insert(name.clone()) {
                name.push('_');
            }
            out.push((a, name));
        }
        out
    }

    /// Whether the argument at the top `a` is set by setters (or is one): not a
    /// parameter, a required token, a computed count, nor carried by a parameter.
    pub(super) fn has_setters(&self, a: &Argument) -> bool {
        !(is_param(a)
            || (!a.optional && a.kind == ArgKind::PureToken)
            || a.counts.is_some()
            || self.carried(a))
    }

    /// Parameters (with types) and their names, for the trait method and `new`.
    pub(super) fn params(&self) -> (Vec<TokenStream>, Vec<proc_macro2::Ident>, TokenStream) {
        self.markers.borrow_mut().clear();
        let mut enums = self.enums();
        let mut params = Vec::new();
        let mut names = Vec::new();
        for (a, name) in self.param_names() {
            let id = format_ident!("{}", name);
            let ty = self.value_type(a, &mut enums, true);
            params.push(quote!(#id: #ty));
            names.push(id);
        }
        (params, names, self.generics())
    }

    /// The generic parameters of the `ManyArgs` markers the types made since the last
    /// call (`<M0, M1>`), and none for the next signature.
    pub(super) fn generics(&self) -> TokenStream {
        let markers = std::mem::take(&mut *self.markers.borrow_mut());
        if markers.is_empty() {
            quote!()
        } else {
            quote!(<#(#markers),*>)
        }
    }
}
