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
//! - `fn zadd(self, key, score_member) -> Zadd<Self>` on the commands trait;
//! - `__typedis_builder!(Zadd, ZADD)`, which adds `decode`, `IntoFuture` and the hidden
//!   `Builder` impl from the runtime;
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

mod cases;

/// Emits the code for all commands (`builder_cases`: also the `BUILDER_CASES` table;
/// `pipeline_impls`: the trait on each builder open in a pipeline).
pub fn emit_all(
    specs: &[SpecFile],
    trait_name: &str,
    with_lookup: bool,
    builder_cases: bool,
    pipeline_impls: bool,
) -> Result<TokenStream, Error> {
    let trait_ident = format_ident!("{}", trait_name);
    let mut items = Vec::new();
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
        items.push(emit_meta(file, &meta_ident)?);
        if containers.contains(&full) && file.spec.arguments.is_empty() && !file.spec.typedis.bare {
            continue;
        }
        let cmd = Command::new(file, meta_ident, trait_name)?;
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
        methods.push(cmd.method());
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
            pub static DEFAULT_DECODERS: &[(&str, fn(::typedis::Value) -> ::typedis::Result<()>)] = &[#(#decoders),*];
            /// For each reply variant (the optional arguments that pick it), the same check.
            #[doc(hidden)]
            #[cfg(feature = "reply-decoders")]
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
    let mut trait_doc = format!(
        "The typed commands: one method per command of the specs ({} methods).\n\nBring it into scope with `use typedis::prelude::*;`.",
        methods.len()
    );
    let differences = servers::differences_table(specs, &plain_syntax);
    if !stateful.is_empty() {
        trait_doc.push_str(&format!(
            "\n\n# Connection-state commands\n\nThe commands that change the state of the connection they run on ({}) are bound by `Self: OwnsConnection` (`typedis::exec::OwnsConnection`): they compile only on handles that own their connection — `client.dedicated().await?`, a `WatchSession` — and calling one on a handle that shares its connection (a `Client` and its clones, its pipelines and transactions, a `ClusterClient`) is a compile error that points to the dedicated connection. The specs say which commands these are (`typedis.connection_state`), and why.",
            stateful.join(", ")
        ));
    }
    Ok(quote! {
        #(#items)*

        #differences

        #[doc = #trait_doc]
        pub trait #trait_ident: ::typedis::__private::Sink {
            #(#methods)*
        }

        #lookup

        #cases
    })
}

fn lit(s: &str) -> Literal {
    Literal::byte_string(s.as_bytes())
}

// ------------------------------------------------------------------ meta

fn flag_ident(flag: &str) -> Option<TokenStream> {
    let known = [
        "WRITE",
        "READONLY",
        "DENYOOM",
        "MODULE",
        "ADMIN",
        "PUBSUB",
        "NOSCRIPT",
        "BLOCKING",
        "LOADING",
        "STALE",
        "SKIP_MONITOR",
        "SKIP_SLOWLOG",
        "ASKING",
        "FAST",
        "NO_AUTH",
        "MAY_REPLICATE",
        "SENTINEL",
        "ONLY_SENTINEL",
        "NO_MANDATORY_KEYS",
        "PROTECTED",
        "MOVABLEKEYS",
        "NO_ASYNC_LOADING",
        "NO_MULTI",
        "ALLOW_BUSY",
        "MODULE_NO_CLUSTER",
    ];
    let f = flag.to_uppercase().replace('-', "_");
    known.contains(&f.as_str()).then(|| {
        let id = format_ident!("{}", f);
        quote!(::typedis::meta::flags::#id)
    })
}

fn emit_meta(file: &SpecFile, ident: &proc_macro2::Ident) -> Result<TokenStream, Error> {
    let spec = &file.spec;
    let connection_state = emit_connection_state(file)?;
    let dispatch = emit_dispatch(file)?;
    let name = file.full_name();
    let arity = spec.arity;
    let mut flags: Vec<TokenStream> = spec
        .command_flags
        .iter()
        .filter_map(|f| flag_ident(f))
        .collect();
    if flags.is_empty() {
        flags.push(quote!(0));
    }
    let key_specs = spec.typedis.key_specs.as_ref().unwrap_or(&spec.key_specs).iter().map(|ks| {
        let bs = match &ks.begin_search {
            BeginSearch::Index { pos } => quote!(::typedis::meta::BeginSearch::Index(#pos)),
            BeginSearch::Keyword { keyword, startfrom } => {
                quote!(::typedis::meta::BeginSearch::Keyword { keyword: #keyword, startfrom: #startfrom })
            }
            BeginSearch::Unknown(_) => quote!(::typedis::meta::BeginSearch::Unknown),
        };
        let fk = match &ks.find_keys {
            FindKeys::Range { lastkey, step, limit } => {
                quote!(::typedis::meta::FindKeys::Range { lastkey: #lastkey, step: #step, limit: #limit })
            }
            FindKeys::Keynum { keynumidx, firstkey, step } => {
                quote!(::typedis::meta::FindKeys::Keynum { keynumidx: #keynumidx, firstkey: #firstkey, step: #step })
            }
            FindKeys::Unknown(_) => quote!(::typedis::meta::FindKeys::Unknown),
        };
        let incomplete = ks.flags.iter().any(|f| f.eq_ignore_ascii_case("INCOMPLETE"));
        let write = ks.flags.iter().any(|f| {
            ["RW", "OW", "RM"].iter().any(|w| f.eq_ignore_ascii_case(w))
        });
        quote!(::typedis::meta::KeySpec { begin_search: #bs, find_keys: #fk, incomplete: #incomplete, write: #write })
    });
    let tip = |prefix: &str| {
        spec.command_tips
            .iter()
            .find_map(|t| t.to_uppercase().strip_prefix(prefix).map(str::to_owned))
    };
    let request_policy = match tip("REQUEST_POLICY:").as_deref() {
        Some("ALL_NODES") => quote!(::typedis::meta::RequestPolicy::AllNodes),
        Some("ALL_SHARDS") => quote!(::typedis::meta::RequestPolicy::AllShards),
        Some("MULTI_SHARD") => quote!(::typedis::meta::RequestPolicy::MultiShard),
        Some("SPECIAL") => quote!(::typedis::meta::RequestPolicy::Special),
        _ => quote!(::typedis::meta::RequestPolicy::Default),
    };
    let response_policy = match tip("RESPONSE_POLICY:").as_deref() {
        Some("ONE_SUCCEEDED") => quote!(::typedis::meta::ResponsePolicy::OneSucceeded),
        Some("ALL_SUCCEEDED") => quote!(::typedis::meta::ResponsePolicy::AllSucceeded),
        Some("AGG_LOGICAL_AND") => quote!(::typedis::meta::ResponsePolicy::AggLogicalAnd),
        Some("AGG_LOGICAL_OR") => quote!(::typedis::meta::ResponsePolicy::AggLogicalOr),
        Some("AGG_MIN") => quote!(::typedis::meta::ResponsePolicy::AggMin),
        Some("AGG_MAX") => quote!(::typedis::meta::ResponsePolicy::AggMax),
        Some("AGG_SUM") => quote!(::typedis::meta::ResponsePolicy::AggSum),
        Some("SPECIAL") => quote!(::typedis::meta::ResponsePolicy::Special),
        _ => quote!(::typedis::meta::ResponsePolicy::Default),
    };
    let nondeterministic = spec
        .command_tips
        .iter()
        .any(|t| t.eq_ignore_ascii_case("NONDETERMINISTIC_OUTPUT"));
    let cacheable = match spec.typedis.cacheable {
        Some(c) => c,
        None => derive_cacheable(file, nondeterministic, request_policy_is_default(spec)),
    };
    let group = spec.group.clone().unwrap_or_default();
    let doc = format!(" What the runtime knows about `{name}`.");
    Ok(quote! {
        #[doc = #doc]
        pub static #ident: ::typedis::meta::CommandMeta = ::typedis::meta::CommandMeta {
            name: #name,
            group: #group,
            arity: #arity,
            flags: #(#flags)|*,
            key_specs: &[#(#key_specs),*],
            request_policy: #request_policy,
            response_policy: #response_policy,
            nondeterministic_output: #nondeterministic,
            connection_state: #connection_state,
            dispatch: #dispatch,
            cacheable: #cacheable,
        };
    })
}

fn request_policy_is_default(spec: &crate::spec::CommandSpec) -> bool {
    !spec
        .command_tips
        .iter()
        .any(|t| t.to_uppercase().starts_with("REQUEST_POLICY:"))
}

/// Whether a client-side cache may keep the command's replies, from the spec: a read
/// (`READONLY`, not `WRITE`, `MAY_REPLICATE`, `BLOCKING`, `ADMIN`, `PUBSUB`, no
/// connection state) whose reply depends only on its one key (one key spec, at a fixed
/// index, one key, not `INCOMPLETE` nor `NOT_KEY`) and its arguments (no
/// `NONDETERMINISTIC_OUTPUT` tip, default request policy). `typedis.cacheable`
/// overrides it.
fn derive_cacheable(file: &SpecFile, nondeterministic: bool, default_policy: bool) -> bool {
    let spec = &file.spec;
    let has = |flag: &str| {
        spec.command_flags
            .iter()
            .any(|f| f.eq_ignore_ascii_case(flag))
    };
    if !has("READONLY")
        || [
            "WRITE",
            "MAY_REPLICATE",
            "BLOCKING",
            "ADMIN",
            "PUBSUB",
            "NOSCRIPT",
        ]
        .iter()
        .any(|f| has(f))
        || nondeterministic
        || !default_policy
        || spec.typedis.connection_state.is_some()
    {
        return false;
    }
    let specs = spec.typedis.key_specs.as_ref().unwrap_or(&spec.key_specs);
    let [ks] = specs.as_slice() else {
        return false;
    };
    let single = matches!(ks.begin_search, BeginSearch::Index { .. })
        && matches!(ks.find_keys, FindKeys::Range { lastkey: 0, .. });
    let flagged = ks
        .flags
        .iter()
        .any(|f| f.eq_ignore_ascii_case("INCOMPLETE") || f.eq_ignore_ascii_case("NOT_KEY"));
    single && !flagged
}

/// Where a client sends the command, as `::typedis::meta::Dispatch`.
fn emit_dispatch(file: &SpecFile) -> Result<TokenStream, Error> {
    let Some(d) = &file.spec.typedis.dispatch else {
        return Ok(quote!(::typedis::meta::Dispatch::ByFlags));
    };
    let spec_error = |json_path: &str, message: String| Error::Spec {
        path: file.path.clone(),
        json_path: json_path.into(),
        message,
    };
    if d.reason.trim().is_empty() {
        return Err(spec_error(
            "typedis.dispatch.reason",
            "say why the command runs on that connection".into(),
        ));
    }
    match d.connection {
        DispatchConnection::Shared => {}
    }
    let timeout = match &d.timeout {
        None => quote!(::core::option::Option::None),
        Some(t) => {
            let index = fixed_position(file, &t.argument)
                .map_err(|m| spec_error("typedis.dispatch.timeout.argument", m))?;
            let unit = match t.unit {
                TimeUnit::Ms => quote!(Millis),
                TimeUnit::S => quote!(Secs),
            };
            quote!(::core::option::Option::Some(::typedis::meta::TimeoutArg {
                index: #index,
                unit: ::typedis::meta::TimeUnit::#unit,
            }))
        }
    };
    Ok(quote!(::typedis::meta::Dispatch::Shared { timeout: #timeout }))
}

/// The argv index of the value of the top-level argument `name` (argv\[0\] is the
/// command's name), when every argument before it is required and single, so that the
/// index is the same in every call; and it is a number.
fn fixed_position(file: &SpecFile, name: &str) -> Result<usize, String> {
    let mut index = 1 + usize::from(file.spec.container.is_some());
    for a in &file.spec.arguments {
        if a.name == name {
            if !matches!(a.kind, ArgKind::Integer | ArgKind::Double) || a.optional || a.multiple {
                return Err(format!(
                    "`{name}` is not a required integer or double argument"
                ));
            }
            return Ok(index + usize::from(a.token.is_some()));
        }
        let single =
            !a.optional && !a.multiple && !matches!(a.kind, ArgKind::Oneof | ArgKind::Block);
        if !single {
            return Err(format!(
                "`{name}` has no fixed position: `{}` before it is optional, repeated or a group",
                a.name
            ));
        }
        index += match a.kind {
            ArgKind::PureToken => 1,
            _ => 1 + usize::from(a.token.is_some()),
        };
    }
    Err(format!(
        "`{name}` is not a top-level argument of the command"
    ))
}

/// The state a command changes, as `::typedis::meta::ConnectionState` (or `None` for
/// commands that may run on shared connections).
fn emit_connection_state(file: &SpecFile) -> Result<TokenStream, Error> {
    let Some(cs) = &file.spec.typedis.connection_state else {
        return Ok(quote!(::core::option::Option::None));
    };
    let spec_error = |json_path: String, message: String| Error::Spec {
        path: file.path.clone(),
        json_path,
        message,
    };
    if cs.reason.trim().is_empty() {
        return Err(spec_error(
            "typedis.connection_state.reason".into(),
            "say why the command matters (or not) on a shared connection".into(),
        ));
    }
    if !cs.reply_modes.is_empty() && cs.state != StateKind::ReplyMode {
        return Err(spec_error(
            "typedis.connection_state.reply_modes".into(),
            "reply modes belong to `\"state\": \"reply_mode\"`".into(),
        ));
    }
    let kind = match cs.state {
        StateKind::None => return Ok(quote!(::core::option::Option::None)),
        StateKind::Database => quote!(Database),
        StateKind::ReplyMode => quote!(ReplyMode),
        StateKind::Transaction => quote!(Transaction),
        StateKind::Watch => quote!(Watch),
        StateKind::Subscriptions => quote!(Subscriptions),
        StateKind::Monitor => quote!(Monitor),
        StateKind::Protocol => quote!(Protocol),
        StateKind::User => quote!(User),
        StateKind::Name => quote!(Name),
        StateKind::Tracking => quote!(Tracking),
        StateKind::ReplicaReads => quote!(ReplicaReads),
        StateKind::Asking => quote!(Asking),
        StateKind::Eviction => quote!(Eviction),
        StateKind::KeyAccess => quote!(KeyAccess),
        StateKind::Capabilities => quote!(Capabilities),
        StateKind::ImportSource => quote!(ImportSource),
        StateKind::Replication => quote!(Replication),
        StateKind::Closes => quote!(Closes),
        StateKind::Reset => quote!(Reset),
    };
    let effect = match cs.effect {
        None => quote!(::core::option::Option::None),
        Some(StateEffect::Begin) => {
            quote!(::core::option::Option::Some(
                ::typedis::meta::StateEffect::Begin
            ))
        }
        Some(StateEffect::End) => {
            quote!(::core::option::Option::Some(
                ::typedis::meta::StateEffect::End
            ))
        }
    };
    let mut modes = Vec::new();
    for (arg, mode) in &cs.reply_modes {
        let token = find_argument(&file.spec.arguments, arg)
            .filter(|a| a.kind == ArgKind::PureToken)
            .and_then(|a| a.token.clone())
            .ok_or_else(|| {
                spec_error(
                    format!("typedis.connection_state.reply_modes.{arg}"),
                    format!("`{arg}` is not a pure-token argument of the command"),
                )
            })?;
        let token = lit(&token.to_uppercase());
        let mode = match mode {
            ReplyMode::On => quote!(On),
            ReplyMode::Off => quote!(Off),
            ReplyMode::Skip => quote!(Skip),
        };
        modes.push(quote!((#token, ::typedis::meta::ReplyMode::#mode)));
    }
    if !cs.undo.is_empty() && cs.survives_reset {
        return Err(spec_error(
            "typedis.connection_state.undo".into(),
            "a state that can be undone does not survive the reset: drop `survives_reset` or `undo`".into(),
        ));
    }
    let reason = &cs.reason;
    let undo = cs.undo.iter().map(|a| lit(a));
    let survives_reset = cs.survives_reset;
    Ok(quote! {
        ::core::option::Option::Some(::typedis::meta::ConnectionState {
            kind: ::typedis::meta::StateKind::#kind,
            effect: #effect,
            reason: #reason,
            reply_modes: &[#(#modes),*],
            undo: &[#(#undo),*],
            survives_reset: #survives_reset,
        })
    })
}

/// The argument called `name`, at any depth of the argument tree.
fn find_argument<'a>(args: &'a [Argument], name: &str) -> Option<&'a Argument> {
    args.iter().find_map(|a| {
        if a.name == name {
            Some(a)
        } else {
            find_argument(&a.arguments, name)
        }
    })
}

/// Whether the command changes the state of the connection it runs on, so that only
/// handles owning their connection may send it.
fn changes_connection(spec: &CommandSpec) -> bool {
    spec.typedis
        .connection_state
        .as_ref()
        .is_some_and(|cs| cs.state != StateKind::None)
}

/// What a command's docs say about the connection state it changes.
fn state_doc(spec: &CommandSpec) -> Vec<String> {
    let Some(cs) = spec.typedis.connection_state.as_ref() else {
        return Vec::new();
    };
    let what = match cs.state {
        StateKind::None => {
            return vec![format!(
                " - Connection state: none another caller could notice, so it runs on shared connections too: {}.",
                cs.reason
            )]
        }
        StateKind::Database => "the selected database",
        StateKind::ReplyMode => "whether the server replies",
        StateKind::Transaction => "the open transaction",
        StateKind::Watch => "the watched keys",
        StateKind::Subscriptions => "the subscriptions",
        StateKind::Monitor => "MONITOR mode",
        StateKind::Protocol => "the protocol",
        StateKind::User => "the authenticated user",
        StateKind::Name => "the name",
        StateKind::Tracking => "key tracking (client-side caching)",
        StateKind::ReplicaReads => "replica reads (cluster)",
        StateKind::Asking => "the ASKING flag",
        StateKind::Eviction => "client eviction",
        StateKind::KeyAccess => "whether commands touch the keys they read",
        StateKind::Capabilities => "the declared client capabilities",
        StateKind::ImportSource => "import-source mode",
        StateKind::Replication => "the replication link",
        StateKind::Closes => "whether it stays open",
        StateKind::Reset => "every piece of state",
    };
    vec![
        format!(
            " - Connection state: changes {what} of the connection it runs on — {}.",
            cs.reason
        ),
        " - Only on handles that own their connection (`client.dedicated().await?`, a `WatchSession`): a compile error on a shared `Client`, its pipelines and transactions, and a `ClusterClient`.".to_owned(),
    ]
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
}

/// How a setter reaches its slot (see `Command::slot_access`).
struct Access {
    /// An expression giving the slot's `&mut Args`.
    get: TokenStream,
    /// What the setter writes first (its choice's token).
    head: Option<TokenStream>,
    /// The slot writes the argument's once-written token itself.
    own_token_done: bool,
}

impl Access {
    /// Binds the slot to `out` and writes the head.
    fn open(&self) -> TokenStream {
        let (get, head) = (&self.get, &self.head);
        quote!(let out = #get; #head)
    }
}

/// An enum's variants: name, token, note (for a variant not every server accepts).
type Variants = Vec<(String, String, Option<String>)>;

/// A generated type (enum for a `oneof` of tokens).
struct Enums<'s> {
    prefix: String,
    defs: BTreeMap<String, (Variants, TokenStream)>,
    /// The command and its servers, for the notes of variants not every server accepts.
    command: &'s str,
    servers: &'s [String],
}

impl Enums<'_> {
    /// The enum for a `oneof` of pure tokens; defined once per builder and name.
    fn get(&mut self, arg: &Argument) -> proc_macro2::Ident {
        self.get_named(arg, &arg.name)
    }

    /// [`get`](Self::get), the enum named after `base` instead of the argument.
    fn get_named(&mut self, arg: &Argument, base: &str) -> proc_macro2::Ident {
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

fn is_token_oneof(arg: &Argument) -> bool {
    arg.kind == ArgKind::Oneof
        && !arg.arguments.is_empty()
        && arg.arguments.iter().all(|a| a.kind == ArgKind::PureToken)
}

/// Whether an argument can be a method parameter (required and of a nameable type).
fn is_param(arg: &Argument) -> bool {
    !arg.optional
        && (arg.kind != ArgKind::Oneof || is_token_oneof(arg))
        && arg.kind != ArgKind::PureToken
        && arg.counts.is_none()
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
        })
    }

    /// Number of leading arguments written straight into `args` (required, not needing a slot).
    fn prefix_len(&self) -> usize {
        self.spec
            .arguments
            .iter()
            .take_while(|a| is_param(a))
            .count()
    }

    fn syntax(&self) -> String {
        let mut s = self.full.clone();
        for a in &self.spec.arguments {
            s.push(' ');
            s.push_str(&syntax_of(a));
        }
        s
    }

    fn docs(&self) -> Vec<String> {
        let spec = self.spec;
        let mut d = Vec::new();
        d.push(format!(
            " {}",
            spec.summary.as_deref().unwrap_or("(no summary)")
        ));
        d.push(String::new());
        d.push(" ```text".into());
        d.push(format!(" {}", self.syntax()));
        d.push(" ```".into());
        if let Some(c) = &spec.complexity {
            d.push(format!(" - Complexity: {c}"));
        }
        let mut server_lines = servers::command_lines(spec);
        if let Some(since) = server_lines.first().filter(|l| l.starts_with(" - Since")) {
            d.push(since.clone());
            server_lines.remove(0);
        }
        if !spec.acl_categories.is_empty() {
            d.push(format!(
                " - ACL categories: {}",
                spec.acl_categories
                    .iter()
                    .map(|c| format!("@{}", c.to_lowercase()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        d.extend(server_lines);
        if spec
            .command_flags
            .iter()
            .any(|f| f.eq_ignore_ascii_case("BLOCKING"))
        {
            d.push(match &spec.typedis.dispatch {
                Some(dispatch) => match dispatch.connection {
                    DispatchConnection::Shared => format!(
                        " - Blocking, on the shared connection (commands queued behind it wait until it returns): {}",
                        dispatch.reason
                    ),
                },
                None => " - Blocking: runs on a dedicated connection".into(),
            });
        }
        d.extend(state_doc(spec));
        let page = self.full.to_lowercase().replace(' ', "-");
        if spec.module.is_none() {
            d.push(format!(" - Reference: <https://redis.io/commands/{page}/>"));
        }
        d
    }

    fn deprecated(&self) -> TokenStream {
        match &self.spec.deprecated_since {
            Some(v) => {
                let note = match &self.spec.replaced_by {
                    Some(r) => format!("deprecated since {v}; use {r}"),
                    None => format!("deprecated since {v}"),
                };
                quote!(#[deprecated(note = #note)])
            }
            None => quote!(),
        }
    }

    fn method(&self) -> TokenStream {
        let (params, names, generics) = self.params();
        let method = &self.method_ident;
        let st = &self.struct_ident;
        let docs = self.docs();
        let alias = &self.full;
        let dep = self.deprecated();
        // Connection-state commands compile only where `Self` owns its connection; the
        // bound's diagnostic points to `client.dedicated()`.
        let bound = if changes_connection(self.spec) {
            quote!(where Self: ::typedis::exec::OwnsConnection)
        } else {
            quote!()
        };
        quote! {
            #(#[doc = #docs])*
            #[doc(alias = #alias)]
            #dep
            #[allow(deprecated)]
            fn #method #generics(self, #(#params),*) -> <Self as ::typedis::__private::Sink>::Output<#st<Self>> #bound {
                <Self as ::typedis::__private::Sink>::wrap(#st::new(self, #(#names),*))
            }
        }
    }

    /// Parameters (with types) and their names, for the trait method and `new`.
    fn params(&self) -> (Vec<TokenStream>, Vec<proc_macro2::Ident>, TokenStream) {
        self.markers.borrow_mut().clear();
        let mut enums = Enums {
            prefix: pascal(&self.full),
            defs: BTreeMap::new(),
            command: &self.full,
            servers: &self.spec.typedis.servers,
        };
        let mut seen = BTreeSet::new();
        let mut params = Vec::new();
        let mut names = Vec::new();
        for a in self.spec.arguments.iter().filter(|a| is_param(a)) {
            let mut name = ident_safe(&a.name);
            while !seen.insert(name.clone()) {
                name.push('_');
            }
            let id = format_ident!("{}", name);
            let ty = self.value_type(a, &mut enums, true);
            params.push(quote!(#id: #ty));
            names.push(id);
        }
        (params, names, self.generics())
    }

    /// The generic parameters of the `ManyArgs` markers the types made since the last
    /// call (`<M0, M1>`), and none for the next signature.
    fn generics(&self) -> TokenStream {
        let markers = std::mem::take(&mut *self.markers.borrow_mut());
        if markers.is_empty() {
            quote!()
        } else {
            quote!(<#(#markers),*>)
        }
    }

    /// The Rust type of an argument's value. `apit`: `impl Trait` allowed.
    fn value_type(&self, a: &Argument, enums: &mut Enums<'_>, apit: bool) -> TokenStream {
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
            ArgKind::Oneof => quote!(::typedis::Args),
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
    fn block_parts<'b>(&self, a: &'b Argument) -> Vec<&'b Argument> {
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
    fn write(&self, a: &Argument, v: TokenStream, enums: &mut Enums<'_>) -> TokenStream {
        self.write_as(a, v, enums, false)
    }

    /// [`write`](Self::write); with `appending`, the token a repeatable argument writes
    /// once before all its values is left out (the slot's `append_under` writes it when
    /// the first call does).
    fn write_as(
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

    /// Code writing one (non-multiple) value bound to `v`, without the argument's token.
    fn write_one(&self, a: &Argument, v: TokenStream, enums: &mut Enums<'_>) -> TokenStream {
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
            ArgKind::Oneof => quote!(out.extend_from(&#v);),
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

    /// The builder, and (with `with_cases`) its entries of `BUILDER_CASES`.
    fn builder(
        &self,
        with_cases: bool,
        trait_methods: &BTreeSet<String>,
    ) -> Result<(TokenStream, Vec<TokenStream>), Error> {
        let st = &self.struct_ident;
        let meta = &self.meta_ident;
        let default_reply = &self.default_reply;
        let mut enums = Enums {
            prefix: pascal(&self.full),
            defs: BTreeMap::new(),
            command: &self.full,
            servers: &self.spec.typedis.servers,
        };
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
                    .find(|a| a.name == choice && a.kind == ArgKind::Oneof && !is_param(a))
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
        let mut seen_params = BTreeSet::new();
        for (i, a) in args.iter().enumerate() {
            if is_param(a) {
                let mut name = ident_safe(&a.name);
                while !seen_params.insert(name.clone()) {
                    name.push('_');
                }
                let id = format_ident!("{}", name);
                let w = self.write(a, quote!(#id), &mut enums);
                if i < prefix {
                    ctor.push(quote!({ let out = &mut args; #w }));
                } else {
                    let slot = Literal::usize_unsuffixed(i - prefix);
                    ctor.push(quote!({ let out = rest.slot(#slot); #w }));
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
            if is_param(a) || (!a.optional && a.kind == ArgKind::PureToken) {
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
            if a.kind == ArgKind::Oneof {
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

        let enum_defs: Vec<TokenStream> = std::mem::take(&mut enums.defs)
            .into_values()
            .map(|(_, d)| d)
            .collect();
        let docs = self.docs();
        let struct_doc = format!(
            " Builder for `{}`; await it to send. Created by [`{}::{}`].",
            self.full, self.trait_name, self.method_ident
        );
        let _ = docs;
        let dep = self.deprecated();
        let reqs = if required.is_empty() {
            quote!()
        } else {
            quote!(rest.require(&[#(#required),*]);)
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

            #[allow(deprecated, clippy::too_many_arguments, clippy::let_unit_value, unused_variables, unused_mut)]
            impl<S> #st<S> {
                #[doc(hidden)]
                pub fn new #generics(sink: S, #(#params),*) -> Self {
                    let mut args = #start;
                    let mut rest = ::typedis::__private::Slots::new();
                    #(#ctor)*
                    #reqs
                    #st { sink, args, rest, _reply: ::core::marker::PhantomData }
                }
            }

            #[allow(deprecated, clippy::let_unit_value, unused_variables)]
            impl<S, R> #st<S, R> {
                #(#setters)*
            }

            ::typedis::__typedis_builder!(#st, #meta);
        };
        Ok((builder, cases))
    }

    /// A setter of a split block (`split_block`): writes `members` (the first, or both),
    /// each value a parameter of its own.
    fn split_setter(
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

    /// Code writing the top-level count `count` (`typedis.count_of`) into its slot of
    /// `rest` from the length of its list's slot: the constructor writes it once, every
    /// setter adding to the list again.
    fn recount(&self, count: &Argument, rest: TokenStream) -> TokenStream {
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
    fn recount_of(&self, list: &Argument) -> TokenStream {
        self.spec
            .arguments
            .iter()
            .filter(|c| c.counts.as_deref() == Some(list.name.as_str()))
            .map(|c| self.recount(c, quote!(self.rest)))
            .collect()
    }

    fn setter_base(&self, a: &Argument) -> String {
        if let Some(n) = &a.rust_name {
            return n.clone();
        }
        match &a.token {
            Some(t) if !is_keyword(&snake(t)) && !snake(t).is_empty() => snake(t),
            _ => ident_safe(&a.name),
        }
    }

    /// The reply type when the optional argument `name` is set, if it changes the reply.
    fn variant_reply(&self, name: &str) -> Option<TokenStream> {
        self.variants
            .iter()
            .find(|(when, _)| when.iter().any(|w| w == name))
            .map(|(_, ty)| ty.clone())
    }

    /// The reply type when the setter of `a` is called: its own variant, else (a block)
    /// the one its members pick. When members pick different ones, the choice is made
    /// by a value passed at run time (`options((count, withvalues))`), so the reply is a
    /// `Value`, with a doc line saying so.
    fn setter_reply(&self, a: &Argument) -> (Option<TokenStream>, Option<String>) {
        if let Some(r) = self.variant_reply(&a.name) {
            return (Some(r), None);
        }
        let mut picked: Vec<(String, TokenStream)> = Vec::new();
        for m in &a.arguments {
            if let Some(r) = self.variant_reply(&m.name) {
                if !picked.iter().any(|(_, p)| p.to_string() == r.to_string()) {
                    picked.push((m.name.clone(), r));
                }
            }
        }
        match picked.len() {
            0 => (None, None),
            1 => (picked.pop().map(|(_, r)| r), None),
            _ => {
                let forms: Vec<String> = picked
                    .iter()
                    .map(|(n, t)| format!("`{}` with `{n}`", short_name(t)))
                    .collect();
                let doc = format!(
                    " Its reply depends on values of this tuple, so it is a `Value`: `.decode::<T>()` it ({}).",
                    forms.join(", ")
                );
                (Some(quote!(::typedis::Value)), Some(doc))
            }
        }
    }

    /// The statement recording `a`'s note (it is not accepted by every server).
    fn note(&self, a: &Argument, availability: &crate::spec::Availability) -> TokenStream {
        let n = servers::note(
            &self.full,
            &plain_syntax(a),
            availability,
            &self.spec.typedis.servers,
        );
        quote!(out.note(#n);)
    }

    /// Where a setter writes: a setter replaces what an earlier call wrote (`slot`), but
    /// a repeatable argument — `multiple` itself, or an alternative of a `multiple`
    /// choice (BITFIELD's operations) — adds to it in call order (`append`). The
    /// choice's token comes first: once for all values (`append_under`), or before each
    /// one (`multiple_token`, or a single choice).
    fn slot_access(&self, a: &Argument, parent: Option<&Argument>, slot: &Literal) -> Access {
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

    /// What a setter's docs say about calling it again.
    fn repeat_doc(a: &Argument, parent: Option<&Argument>) -> &'static str {
        match parent {
            Some(p) if p.multiple => "repeatable: each call adds one, in call order.",
            Some(_) => "one of a group; the last call wins.",
            None if a.multiple && !a.optional => {
                "repeatable: each call adds to the values the command's method took."
            }
            None if a.multiple => "repeatable: each call adds to the earlier ones.",
            None => "",
        }
    }

    /// Adds `more` to a setter's first doc line, after a dash (or a semicolon when the
    /// line has one already).
    fn doc_more(doc: &mut String, more: &str) {
        if more.is_empty() {
            return;
        }
        doc.push_str(if doc.contains(" — ") { "; " } else { " — " });
        doc.push_str(more);
    }

    /// A setter for `leaf`, a member of the flattened argument `top` (`typedis.flatten`):
    /// its values are parameters of their own (`.set(encoding, offset, value)`), and each
    /// call adds one operation after the earlier ones.
    fn flat_setter(
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
    fn setter(
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

    /// What the setter of alternative `alt` of the choice `choice` adds for
    /// `typedis.requires`: when some alternative of the choice needs other arguments,
    /// each alternative's setter sets the builder's requirements (`required`, the
    /// constructor's, and its own), so the last call decides.
    fn requirement(
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

/// Whether one value of `a` has a generic type (`impl ToArg`, or a tuple holding one), so
/// that a `multiple` one takes `ManyArgs`: a single value or a collection.
fn takes_generic(a: &Argument) -> bool {
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
fn typed_path(a: &Argument) -> Option<TokenStream> {
    let t = format_ident!("{}", a.typed.and_then(ArgType::runtime_type)?);
    Some(quote!(::typedis::#t))
}

/// `/ n`, turning a counted list's number of arguments into its number of elements
/// (nothing when each element is one argument).
fn per_element(list: &Argument) -> TokenStream {
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
fn flat_leaves(a: &Argument) -> Vec<&Argument> {
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
fn unique(
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

/// The syntax of an argument as its setter writes it (no brackets for being optional).
fn plain_syntax(a: &Argument) -> String {
    syntax_of(&Argument {
        optional: false,
        ..a.clone()
    })
}

/// The syntax line of an argument, as in the command docs.
fn syntax_of(a: &Argument) -> String {
    let core = match a.kind {
        ArgKind::PureToken => a.token.clone().unwrap_or_else(|| a.name.to_uppercase()),
        ArgKind::Oneof => {
            let alts: Vec<String> = a.arguments.iter().map(syntax_of).collect();
            let inner = alts.join(" | ");
            if a.optional {
                inner
            } else {
                format!("<{inner}>")
            }
        }
        ArgKind::Block => a
            .arguments
            .iter()
            .map(syntax_of)
            .collect::<Vec<_>>()
            .join(" "),
        _ => a.display.clone().unwrap_or_else(|| a.name.clone()),
    };
    let with_token = match (&a.token, a.kind) {
        (Some(t), k) if k != ArgKind::PureToken => format!("{t} {core}"),
        _ => core,
    };
    let s = if a.multiple {
        if a.multiple_token || a.token.is_none() {
            format!("{with_token} [{with_token} ...]")
        } else {
            format!(
                "{with_token} [{} ...]",
                with_token
                    .trim_start_matches(a.token.as_deref().unwrap_or(""))
                    .trim()
            )
        }
    } else {
        with_token
    };
    if a.optional {
        format!("[{s}]")
    } else {
        s
    }
}
