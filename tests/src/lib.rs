//! Shared code of the integration tests (the servers are started by
//! `tests/support/mod.rs`): argv synthesis from command specs.

use typedis_codegen::spec::{ArgKind, Argument};

/// Builds an argv from an argument spec: required arguments only, or every optional one
/// too (first alternative of each `oneof`); `multiple` arguments twice.
pub fn synthesize(name: &str, args: &[Argument], with_optional: bool) -> Vec<String> {
    let mut out: Vec<String> = name.split(' ').map(str::to_owned).collect();
    let mut keyn = 0;
    for a in args {
        emit(a, with_optional, &mut out, &mut keyn, false);
    }
    out
}

fn emit(a: &Argument, opt: bool, out: &mut Vec<String>, keyn: &mut usize, nested: bool) {
    if a.optional && !opt && !nested {
        return;
    }
    if a.optional && !opt {
        return;
    }
    let reps = if a.multiple { 2 } else { 1 };
    for r in 0..reps {
        if let Some(t) = &a.token {
            if r == 0 || a.multiple_token {
                out.push(t.clone());
            }
        }
        match a.kind {
            ArgKind::Key => {
                *keyn += 1;
                out.push(format!("key{keyn}"));
            }
            ArgKind::Integer => {
                // Key counts must match the keys that follow (always 2 here).
                let n = if a.name.contains("num") { "2" } else { "1" };
                out.push(n.into());
            }
            ArgKind::Double => out.push("1.5".into()),
            ArgKind::UnixTime => out.push("1700000000".into()),
            ArgKind::String => out.push(format!("{}{}", a.name.replace('-', ""), r + 1)),
            ArgKind::Pattern => out.push("pat*".into()),
            ArgKind::PureToken => {
                if a.token.is_none() {
                    out.push(a.name.to_uppercase());
                }
            }
            ArgKind::Oneof => {
                if let Some(first) = a.arguments.first() {
                    emit(first, opt, out, keyn, true);
                }
            }
            ArgKind::Block => {
                for m in &a.arguments {
                    emit(m, opt, out, keyn, true);
                }
            }
        }
    }
}

/// Builds an argv that uses the argument at `path` (names from the top, `by/polygon`):
/// the required arguments, and on the way down to it the groups that hold it (the
/// `oneof` alternative on the path, every required member of a block). Keys are
/// `key1`, `key2`, …; counts (`num…`) match the `multiple` values that follow, which are
/// written `reps` times (a `multiple` oneof once). `value` may give a sample value by argument name.
pub fn synthesize_path(
    name: &str,
    args: &[Argument],
    path: &[&str],
    reps: usize,
    value: &dyn Fn(&Argument) -> Option<String>,
) -> Vec<String> {
    let mut s = Sampler {
        out: name.split(' ').map(str::to_owned).collect(),
        keyn: 0,
        reps,
        value,
    };
    s.list(args, path);
    s.out
}

struct Sampler<'a> {
    out: Vec<String>,
    keyn: usize,
    reps: usize,
    value: &'a dyn Fn(&Argument) -> Option<String>,
}

impl Sampler<'_> {
    /// The members of a block (or the top level): the one on `path`, and the required.
    fn list(&mut self, args: &[Argument], path: &[&str]) {
        for a in args {
            match path.split_first() {
                Some((first, rest)) if *first == a.name => self.arg(a, rest),
                _ if !a.optional => self.arg(a, &[]),
                _ => {}
            }
        }
    }

    /// One argument; `path` goes on inside it.
    fn arg(&mut self, a: &Argument, path: &[&str]) {
        // A repeated choice is made once: one is enough to use it.
        let reps = if a.multiple && a.kind != ArgKind::Oneof {
            self.reps
        } else {
            1
        };
        for r in 0..reps {
            if let Some(t) = &a.token {
                if r == 0 || a.multiple_token {
                    self.out.push(t.clone());
                }
            }
            if let Some(v) = (self.value)(a) {
                self.out.push(v);
                continue;
            }
            match a.kind {
                ArgKind::Key => {
                    self.keyn += 1;
                    self.out.push(format!("key{}", self.keyn));
                }
                ArgKind::Integer => {
                    let n = if a.name.contains("num") { self.reps } else { 1 };
                    self.out.push(n.to_string());
                }
                ArgKind::Double => self.out.push("1.5".into()),
                ArgKind::UnixTime => self.out.push("1700000000".into()),
                ArgKind::String => self.out.push(a.name.replace('-', "")),
                ArgKind::Pattern => self.out.push("pat*".into()),
                ArgKind::PureToken => {
                    if a.token.is_none() {
                        self.out.push(a.name.to_uppercase());
                    }
                }
                ArgKind::Oneof => {
                    let pick = match path.first() {
                        Some(n) => a.arguments.iter().find(|m| m.name == *n),
                        None => a.arguments.first(),
                    };
                    if let Some(m) = pick {
                        self.arg(m, path.get(1..).unwrap_or_default());
                    }
                }
                ArgKind::Block => self.list(&a.arguments, path),
            }
        }
    }
}
