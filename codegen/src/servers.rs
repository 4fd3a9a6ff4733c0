//! What the generated docs say about servers: which families have a command and accept
//! an argument, from which release (`typedis.since`, `typedis.arguments`), the note an
//! error carries when a server rejects an argument it does not know, and the generated
//! table of every difference.
//!
//! Owns: those texts. Does not own: the data (the specs, `cargo xtask regen`).

use proc_macro2::TokenStream;
use quote::quote;

use crate::spec::{accepts, split_server_id, Argument, Availability, CommandSpec, SpecFile};

/// `redis` → `Redis`, a module by its product name (`ReJSON` → `RedisJSON`); other
/// families as they are.
fn family_name(family: &str) -> String {
    match family {
        "redis" => "Redis".into(),
        "valkey" => "Valkey".into(),
        "ReJSON" => "RedisJSON".into(),
        "search" => "RediSearch".into(),
        "bf" => "RedisBloom".into(),
        other => other.into(),
    }
}

/// `7.2.0` → `7.2`; other versions as they are.
fn short(version: &str) -> &str {
    match version.strip_suffix(".0") {
        Some(v) if v.matches('.').count() == 1 => v,
        _ => version,
    }
}

/// `redis-7.0.15` → `Redis 7.0.15`.
fn server_name(id: &str) -> String {
    let (family, version) = split_server_id(id);
    format!("{} {version}", family_name(family))
        .trim()
        .to_owned()
}

/// `Redis ≥ 7.2 · Valkey`: who has it.
fn who(availability: &Availability) -> String {
    availability
        .iter()
        .map(|(family, from)| match from {
            Some(v) => format!("{} ≥ {}", family_name(family), short(v)),
            None => family_name(family),
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The listed servers that do not accept it.
fn rejecting(availability: &Availability, servers: &[String]) -> Vec<String> {
    servers
        .iter()
        .filter(|s| !accepts(availability, s))
        .map(|s| server_name(s))
        .collect()
}

/// `Valkey ≥ 8.1; not Redis 7.0.15`.
pub fn availability_text(availability: &Availability, servers: &[String]) -> String {
    let mut text = who(availability);
    let no = rejecting(availability, servers);
    if !no.is_empty() {
        text.push_str("; not ");
        text.push_str(&no.join(", "));
    }
    text
}

/// The note a setter records for an argument not every server accepts, added to a
/// server's error when it rejects the command's arguments.
pub fn note(
    command: &str,
    syntax: &str,
    availability: &Availability,
    servers: &[String],
) -> String {
    let mut text = format!("{command} `{syntax}` is accepted by {}", who(availability));
    let no = rejecting(availability, servers);
    if !no.is_empty() {
        text.push_str("; not by ");
        text.push_str(&no.join(", "));
    }
    text
}

/// The command's `Since:` and `Servers:` doc lines.
pub fn command_lines(spec: &CommandSpec) -> Vec<String> {
    let ext = &spec.typedis;
    let mut lines = Vec::new();
    // Redis's release when Redis has it (a Valkey `since` of the shared history is
    // Redis's anyway), else the first family's that names one.
    let since = ext
        .since
        .get("redis")
        .cloned()
        .flatten()
        .or_else(|| ext.since.values().find_map(Clone::clone))
        .or_else(|| spec.since.clone());
    if let Some(s) = since {
        lines.push(format!(" - Since: {s}"));
    }
    if !ext.since.is_empty() {
        lines.push(format!(" - Servers: {}", who(&ext.since)));
    } else if !ext.servers.is_empty() {
        lines.push(format!(" - Servers: {}", ext.servers.join(", ")));
    }
    lines
}

/// The doc words of a setter's argument: its servers where not every server accepts it,
/// else its `since`.
pub fn setter_words(
    arg: &Argument,
    inherited: Option<&Availability>,
    servers: &[String],
) -> String {
    match arg.availability.as_ref().or(inherited) {
        Some(a) => format!(" — {}", availability_text(a, servers)),
        None => match &arg.since {
            Some(s) => format!(" (since {s})"),
            None => String::new(),
        },
    }
}

/// Doc lines for the members of `arg` that not every server accepts (`MAXAGE maxage`:
/// …), for setters whose value holds them.
pub fn member_lines(
    arg: &Argument,
    servers: &[String],
    syntax: &dyn Fn(&Argument) -> String,
) -> Vec<String> {
    let mut lines = Vec::new();
    fn walk(
        a: &Argument,
        servers: &[String],
        syntax: &dyn Fn(&Argument) -> String,
        lines: &mut Vec<String>,
    ) {
        for m in &a.arguments {
            if let Some(av) = &m.availability {
                lines.push(format!(
                    " - `{}`: {}",
                    syntax(m),
                    availability_text(av, servers)
                ));
            }
            walk(m, servers, syntax, lines);
        }
    }
    walk(arg, servers, syntax, &mut lines);
    if !lines.is_empty() {
        lines.insert(0, String::new());
        lines.insert(1, " Not accepted by every server:".into());
    }
    lines
}

/// `pub mod server_differences {}`, a doc page with one table of every command and
/// argument that not every server of the specs has; nothing when there is none (or the
/// specs know of one server family only).
pub fn differences_table(specs: &[SpecFile], syntax: &dyn Fn(&Argument) -> String) -> TokenStream {
    let mut families: Vec<String> = Vec::new();
    let mut servers: Vec<String> = Vec::new();
    for f in specs {
        for s in &f.spec.typedis.servers {
            if !servers.contains(s) {
                servers.push(s.clone());
            }
            let family = split_server_id(s).0.to_owned();
            if !families.contains(&family) {
                families.push(family);
            }
        }
    }
    if families.len() < 2 {
        return quote!();
    }
    families.sort();
    servers.sort();
    let cell = |a: &Availability, family: &str| match a.get(family) {
        None => "—".to_owned(),
        Some(None) => "✓".to_owned(),
        Some(Some(v)) => format!("≥ {}", short(v)),
    };
    let mut rows = Vec::new();
    for f in specs {
        let ext = &f.spec.typedis;
        let name = f.full_name();
        let listed: Vec<&str> = ext.servers.iter().map(|s| split_server_id(s).0).collect();
        if !ext.since.is_empty() && families.iter().any(|fam| !listed.contains(&fam.as_str())) {
            let cells: Vec<String> = families.iter().map(|fam| cell(&ext.since, fam)).collect();
            rows.push(format!("| `{name}` | (command) | {} |", cells.join(" | ")));
        }
        fn walk(
            args: &[Argument],
            name: &str,
            families: &[String],
            cell: &dyn Fn(&Availability, &str) -> String,
            syntax: &dyn Fn(&Argument) -> String,
            rows: &mut Vec<String>,
        ) {
            for a in args {
                if let Some(av) = &a.availability {
                    let cells: Vec<String> = families.iter().map(|fam| cell(av, fam)).collect();
                    rows.push(format!(
                        "| `{name}` | `{}` | {} |",
                        syntax(a).replace('|', "\\|"),
                        cells.join(" | ")
                    ));
                }
                walk(&a.arguments, name, families, cell, syntax, rows);
            }
        }
        walk(
            &f.spec.arguments,
            &name,
            &families,
            &cell,
            syntax,
            &mut rows,
        );
    }
    if rows.is_empty() {
        return quote!();
    }
    let header: Vec<String> = families.iter().map(|f| family_name(f)).collect();
    let mut doc = vec![
        " Which server has what, where the servers of the specs differ.".to_owned(),
        String::new(),
        format!(
            " The specs were made from {}. A cell says from which release a server family has the command or accepts the argument: `✓` every release the specs know of, `—` none they know of (not the listed server, and no later release is named). Every command and argument not listed here is in every listed server.",
            servers.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
        ),
        String::new(),
        format!(" | Command | Argument | {} |", header.join(" | ")),
        format!(" |---|---|{}", "---|".repeat(families.len())),
    ];
    doc.extend(rows.into_iter().map(|r| format!(" {r}")));
    quote! {
        #(#[doc = #doc])*
        pub mod server_differences {}
    }
}
