//! What the runtime knows about a command, from its spec: the static `CommandMeta` (flags,
//! key specs, request/response policies, cacheability, where it is dispatched, the
//! connection state it changes), and what its docs say about that state.

use super::*;

pub(super) fn flag_ident(flag: &str) -> Option<TokenStream> {
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
    let mut f = flag.to_uppercase().replace('-', "_");
    if f == "SKIP_COMMANDLOG" {
        // Valkey's name for the slow log's flag (its slow log became the command log).
        f = "SKIP_SLOWLOG".into();
    }
    known.contains(&f.as_str()).then(|| {
        let id = format_ident!("{}", f);
        quote!(::typedis::meta::flags::#id)
    })
}

pub(super) fn emit_meta(file: &SpecFile, ident: &proc_macro2::Ident) -> Result<TokenStream, Error> {
    let spec = &file.spec;
    let connection_state = emit_connection_state(file)?;
    let dispatch = emit_dispatch(file)?;
    let name = file.full_name();
    let arity = spec.arity;
    // A flag the runtime does not know is an error, not dropped: the runtime decides by
    // flags (blocking, readonly, …), so a new one needs a constant in `meta::flags`.
    let mut flags = Vec::new();
    for (i, f) in spec.command_flags.iter().enumerate() {
        flags.push(flag_ident(f).ok_or_else(|| Error::Spec {
            path: file.path.clone(),
            json_path: format!("command_flags[{i}]"),
            message: format!(
                "unknown command flag `{f}`: add it to `typedis::meta::flags` and to the generator's list"
            ),
        })?);
    }
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
    // The fields after the key specs only where they differ from
    // `CommandMeta::DEFAULTS` (most commands: none).
    let optional = [
        (
            quote!(request_policy),
            request_policy,
            quote!(::typedis::meta::RequestPolicy::Default),
        ),
        (
            quote!(response_policy),
            response_policy,
            quote!(::typedis::meta::ResponsePolicy::Default),
        ),
        (
            quote!(nondeterministic_output),
            quote!(#nondeterministic),
            quote!(false),
        ),
        (
            quote!(connection_state),
            connection_state,
            quote!(::core::option::Option::None),
        ),
        (
            quote!(dispatch),
            dispatch,
            quote!(::typedis::meta::Dispatch::ByFlags),
        ),
        (quote!(cacheable), quote!(#cacheable), quote!(false)),
    ];
    let rest = optional
        .iter()
        .filter(|(_, value, default)| value.to_string() != default.to_string())
        .map(|(field, value, _)| quote!(#field: #value,));
    Ok(quote! {
        #[doc = #doc]
        pub static #ident: ::typedis::meta::CommandMeta = ::typedis::meta::CommandMeta {
            name: #name,
            group: #group,
            arity: #arity,
            flags: #(#flags)|*,
            key_specs: &[#(#key_specs),*],
            #(#rest)*
            ..::typedis::meta::CommandMeta::DEFAULTS
        };
    })
}

pub(super) fn request_policy_is_default(spec: &crate::spec::CommandSpec) -> bool {
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
pub(super) fn derive_cacheable(
    file: &SpecFile,
    nondeterministic: bool,
    default_policy: bool,
) -> bool {
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
pub(super) fn emit_dispatch(file: &SpecFile) -> Result<TokenStream, Error> {
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
pub(super) fn fixed_position(file: &SpecFile, name: &str) -> Result<usize, String> {
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
pub(super) fn emit_connection_state(file: &SpecFile) -> Result<TokenStream, Error> {
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
pub(super) fn find_argument<'a>(args: &'a [Argument], name: &str) -> Option<&'a Argument> {
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
pub(super) fn changes_connection(spec: &CommandSpec) -> bool {
    spec.typedis
        .connection_state
        .as_ref()
        .is_some_and(|cs| cs.state != StateKind::None)
}

/// What a command's docs say about the connection state it changes.
pub(super) fn state_doc(spec: &CommandSpec) -> Vec<String> {
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
