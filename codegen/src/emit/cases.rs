//! The builder cases: for each command, calls of its generated builder that between them
//! use every optional argument, every alternative of a choice and every token, with
//! sample values derived from the argument types (or given by the spec's
//! `typedis.samples`). Emitted as `BUILDER_CASES`, behind typedis' hidden
//! `builder-cases` feature, for the conformance test that sends what each call writes to
//! the real servers. Not part of the typed API, and nothing else reads it.
//!
//! A case is a selection of argument paths (`expiration/ex`, `trim/operator/approximately`):
//! the call sets the optional arguments and alternatives the selection touches, and
//! only those; the required ones always, a required choice with its first alternative
//! unless the selection picks another.

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{flat_leaves, is_flag_block, is_param, is_token_oneof, split_block, Command, Enums};
use crate::spec::{ArgKind, Argument};
use crate::Error;

/// A setter of a builder: for the alternative `arg` of the choice `parent` (or the
/// member `arg` of the flattened `parent`, `typedis.flatten`), for the optional argument
/// `arg`, or (a choice of tokens without parent) the setter taking the choice's enum.
pub(super) struct Setter<'a> {
    arg: &'a Argument,
    parent: Option<&'a Argument>,
    name: String,
}

impl<'a> Setter<'a> {
    pub(super) fn new(arg: &'a Argument, parent: Option<&'a Argument>, name: &str) -> Self {
        Setter {
            arg,
            parent,
            name: name.to_owned(),
        }
    }
}

/// The table of every command's cases.
pub(super) fn table(entries: &[TokenStream]) -> TokenStream {
    quote! {
        /// For each command, calls of its builder that between them use every optional
        /// argument, alternative and token: (command, the path of the argument the case
        /// uses, `""` for the call with the required arguments only, a function returning
        /// what the builder writes). For the conformance tests; behind the hidden
        /// `builder-cases` feature.
        #[doc(hidden)]
        #[cfg(feature = "builder-cases")]
        #[allow(deprecated, clippy::type_complexity, clippy::useless_conversion)]
        pub static BUILDER_CASES: &[(&str, &str, fn() -> ::typedis::Args)] = &[#(#entries),*];
    }
}

pub(super) fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}/{name}")
    }
}

/// The argument paths a case uses.
pub(super) struct Selection(pub(super) BTreeSet<String>);

impl Selection {
    /// Whether the case uses `path` or something inside it.
    pub(super) fn touches(&self, path: &str) -> bool {
        let inside = format!("{path}/");
        self.0.iter().any(|p| p == path || p.starts_with(&inside))
    }
}

/// The argument at `path` (names from the top, joined by `/`).
fn find<'a>(args: &'a [Argument], path: &str) -> Option<&'a Argument> {
    let (first, rest) = match path.split_once('/') {
        Some((f, r)) => (f, Some(r)),
        None => (path, None),
    };
    let a = args.iter().find(|a| a.name == first)?;
    match rest {
        Some(rest) => find(&a.arguments, rest),
        None => Some(a),
    }
}

/// The path of `leaf` inside `a` (at `path`).
fn path_of(a: &Argument, path: &str, leaf: &Argument) -> Option<String> {
    if std::ptr::eq(a, leaf) {
        return Some(path.to_owned());
    }
    a.arguments
        .iter()
        .find_map(|m| path_of(m, &join(path, &m.name), leaf))
}

/// Whether every call uses the argument at `path`: required all the way down, and in no
/// choice.
fn always(args: &[Argument], path: &str) -> bool {
    let mut args = args;
    for name in path.split('/') {
        let Some(a) = args.iter().find(|a| a.name == name) else {
            return false;
        };
        if a.optional || a.kind == ArgKind::Oneof {
            return false;
        }
        args = &a.arguments;
    }
    true
}

/// The paths inside argument `a` (at `path`) that a case of its own should use: the
/// other alternatives of a choice, the optional members of a block, and what is inside
/// them.
fn inner(a: &Argument, path: &str, out: &mut Vec<String>) {
    match a.kind {
        ArgKind::Oneof => {
            for (i, m) in a.arguments.iter().enumerate() {
                let p = join(path, &m.name);
                if i > 0 {
                    out.push(p.clone());
                }
                inner(m, &p, out);
            }
        }
        ArgKind::Block => {
            for m in &a.arguments {
                let p = join(path, &m.name);
                if m.optional {
                    out.push(p.clone());
                }
                inner(m, &p, out);
            }
        }
        _ => {}
    }
}

impl Command<'_> {
    pub(super) fn sample_error(&self, at: &str, message: String) -> Error {
        Error::Spec {
            path: self.path.clone(),
            json_path: format!("typedis.samples.{at}"),
            message,
        }
    }

    /// The builder has no setter where its cases need one (a generator bug).
    pub(super) fn no_setter(&self, at: &str) -> Error {
        Error::Spec {
            path: self.path.clone(),
            json_path: format!("arguments ({at})"),
            message: "the builder cases found no setter for this argument".into(),
        }
    }

    /// The entries of `BUILDER_CASES` for this command; `setters` are its builder's.
    pub(super) fn cases(
        &self,
        setters: &[Setter<'_>],
        enums: &mut Enums<'_>,
    ) -> Result<Vec<TokenStream>, Error> {
        let args = &self.spec.arguments;
        for (at, sample) in &self.spec.typedis.samples {
            if find(args, at).is_none() {
                return Err(self.sample_error(
                    at,
                    "no argument has this path (argument names from the top, joined by `/`)".into(),
                ));
            }
            if let Some(w) = sample.with.iter().find(|w| find(args, w).is_none()) {
                return Err(
                    self.sample_error(at, format!("`with`: no argument has the path `{w}`"))
                );
            }
        }
        let mut targets = vec![String::new()];
        for a in args {
            let path = a.name.clone();
            if let Some(t) = &a.writer {
                // A hand-written type: the cases its spec lists.
                if a.optional {
                    targets.push(path.clone());
                }
                targets.extend(t.cases.keys().filter(|k| **k != path).cloned());
            } else if is_param(a) {
                inner(a, &path, &mut targets);
            } else if self.carried(a) {
                // Written by the alternatives of a parameter that carry it.
                inner(a, &path, &mut targets);
            } else if self.spec.typedis.flatten.contains(&a.name) {
                for leaf in flat_leaves(a) {
                    if let Some(p) = path_of(a, &path, leaf) {
                        targets.push(p.clone());
                        inner(leaf, &p, &mut targets);
                    }
                }
            } else if a.kind == ArgKind::Oneof {
                if is_token_oneof(a) {
                    // The setter taking the choice's enum.
                    targets.push(path.clone());
                }
                for m in &a.arguments {
                    let p = join(&path, &m.name);
                    if self.flattened(a, m) {
                        for leaf in flat_leaves(m) {
                            if let Some(lp) = path_of(m, &p, leaf) {
                                targets.push(lp.clone());
                                inner(leaf, &lp, &mut targets);
                            }
                        }
                        continue;
                    }
                    targets.push(p.clone());
                    inner(m, &p, &mut targets);
                }
            } else if a.optional {
                targets.push(path.clone());
                inner(a, &path, &mut targets);
            }
        }
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        for target in targets {
            if !seen.insert(target.clone()) {
                continue;
            }
            let selection = self.select(&target);
            let call = self.call(&target, &selection, setters, enums)?;
            let full = &self.full;
            out.push(quote! {
                (#full, #target, || ::typedis::__private::captured(#call))
            });
        }
        Ok(out)
    }

    /// The paths a case for `target` uses: it, and what the samples say it needs.
    fn select(&self, target: &str) -> Selection {
        let args = &self.spec.arguments;
        let mut selection = Selection(BTreeSet::new());
        if !target.is_empty() {
            selection.0.insert(target.to_owned());
        }
        loop {
            let mut added = false;
            for (at, sample) in &self.spec.typedis.samples {
                if selection.touches(at) || always(args, at) {
                    for w in &sample.with {
                        added |= selection.0.insert(w.clone());
                    }
                }
            }
            // What the alternative in use needs (`typedis.requires`): its first form.
            for a in args
                .iter()
                .filter(|a| a.kind == ArgKind::Oneof && !is_param(a))
            {
                let used = a
                    .arguments
                    .iter()
                    .find(|m| selection.touches(&join(&a.name, &m.name)))
                    .or_else(|| a.arguments.first().filter(|_| !a.optional));
                let Some(used) = used else { continue };
                let needs = self.spec.typedis.requires.get(&join(&a.name, &used.name));
                for name in needs.into_iter().flatten() {
                    if selection.touches(name) {
                        continue;
                    }
                    let path = match args.iter().find(|n| &n.name == name) {
                        Some(n) if n.kind == ArgKind::Oneof => match n.arguments.first() {
                            Some(m) => join(name, &m.name),
                            None => name.clone(),
                        },
                        _ => name.clone(),
                    };
                    added |= selection.0.insert(path);
                }
            }
            if !added {
                return selection;
            }
        }
    }

    /// The builder call of one case.
    fn call(
        &self,
        target: &str,
        selection: &Selection,
        setters: &[Setter<'_>],
        enums: &mut Enums<'_>,
    ) -> Result<TokenStream, Error> {
        let st = &self.struct_ident;
        let keys = format!("{{{}|{}}}:", self.full, target);
        let mut params = Vec::new();
        for a in self.spec.arguments.iter().filter(|a| is_param(a)) {
            params.push(self.sample(a, &a.name, selection, enums, &keys)?);
        }
        // The builder's constructor, which the command method calls: a capture is no
        // handle, so it has no command methods (and no connection-state bound applies).
        let mut call = quote! {
            #st::new(::typedis::__private::Capture, #(#params),*)
        };
        let setter = |arg: &Argument, parent: Option<&Argument>| {
            setters
                .iter()
                .find(|s| {
                    std::ptr::eq(s.arg, arg)
                        && match (s.parent, parent) {
                            (Some(a), Some(b)) => std::ptr::eq(a, b),
                            (None, None) => true,
                            _ => false,
                        }
                })
                .map(|s| format_ident!("{}", s.name))
        };
        for a in &self.spec.arguments {
            if !self.has_setters(a) {
                continue;
            }
            if self.spec.typedis.flatten.contains(&a.name) {
                for leaf in flat_leaves(a) {
                    let Some(p) = path_of(a, &a.name, leaf) else {
                        continue;
                    };
                    if !selection.touches(&p) {
                        continue;
                    }
                    let Some(id) = setter(leaf, Some(a)) else {
                        return Err(self.no_setter(&p));
                    };
                    let values = self.flat_values(leaf, &p, selection, enums, &keys)?;
                    call = quote!(#call.#id(#(#values),*));
                }
                continue;
            }
            if a.kind == ArgKind::Oneof && a.writer.is_none() {
                let picked = a
                    .arguments
                    .iter()
                    .find(|m| selection.touches(&join(&a.name, &m.name)));
                // A flattened alternative: the setters of the members the case uses
                // (the first one's when it is required and the case uses none).
                let flat = picked
                    .or_else(|| a.arguments.first().filter(|_| !a.optional))
                    .filter(|m| self.flattened(a, m));
                if let Some(m) = flat {
                    let mp = join(&a.name, &m.name);
                    let leaves = flat_leaves(m);
                    let mut used: Vec<&Argument> = leaves
                        .iter()
                        .copied()
                        .filter(|l| path_of(m, &mp, l).is_some_and(|p| selection.touches(&p)))
                        .collect();
                    if used.is_empty() {
                        used.extend(leaves.first().copied());
                    }
                    for leaf in used {
                        let Some(p) = path_of(m, &mp, leaf) else {
                            continue;
                        };
                        let Some(id) = setter(leaf, Some(m)) else {
                            return Err(self.no_setter(&p));
                        };
                        let values = self.flat_values(leaf, &p, selection, enums, &keys)?;
                        call = quote!(#call.#id(#(#values),*));
                    }
                    continue;
                }
                let (id, value) = match picked {
                    Some(m) => (setter(m, Some(a)), Some((m, join(&a.name, &m.name)))),
                    None if selection.0.contains(&a.name) => {
                        (setter(a, None), Some((a, a.name.clone())))
                    }
                    None if !a.optional => match a.arguments.first() {
                        Some(m) => (setter(m, Some(a)), Some((m, join(&a.name, &m.name)))),
                        None => continue,
                    },
                    None => continue,
                };
                let Some(id) = id else {
                    return Err(self.no_setter(&a.name));
                };
                match value {
                    Some((m, _)) if m.kind == ArgKind::PureToken || is_flag_block(m) => {
                        call = quote!(#call.#id())
                    }
                    Some((m, p)) => {
                        let v = self.sample(m, &p, selection, enums, &keys)?;
                        call = quote!(#call.#id(#v));
                    }
                    None => call = quote!(#call.#id()),
                }
            } else if let (Some((first, second)), true) = (
                split_block(a).filter(|_| a.writer.is_none()),
                selection.touches(&a.name),
            ) {
                let second_path = join(&a.name, &second.name);
                let (id, members) = if selection.touches(&second_path) {
                    (setter(second, Some(a)), vec![first, second])
                } else {
                    (setter(a, None), vec![first])
                };
                let Some(id) = id else {
                    return Err(self.no_setter(&a.name));
                };
                let mut values = Vec::new();
                for m in members.into_iter().filter(|m| m.kind != ArgKind::PureToken) {
                    values.push(self.sample(
                        m,
                        &join(&a.name, &m.name),
                        selection,
                        enums,
                        &keys,
                    )?);
                }
                call = quote!(#call.#id(#(#values),*));
            } else if selection.touches(&a.name) {
                let Some(id) = setter(a, None) else {
                    return Err(self.no_setter(&a.name));
                };
                if a.kind == ArgKind::PureToken || is_flag_block(a) {
                    call = quote!(#call.#id());
                } else {
                    let v = self.sample(a, &a.name, selection, enums, &keys)?;
                    call = quote!(#call.#id(#v));
                }
            }
        }
        Ok(call)
    }
}
