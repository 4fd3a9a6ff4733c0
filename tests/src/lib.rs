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
