//! The docs of a generated method: its syntax line (without the counts the client
//! computes), complexity, servers, parameters and reply in Rust terms, reference link;
//! and the syntax shown on setters and enum variants.

use super::*;

impl<'a> Command<'a> {
    /// The syntax line, without the counts the client computes (`typedis.count_of`).
    pub(super) fn syntax(&self) -> String {
        let mut s = self.full.clone();
        for a in &self.spec.arguments {
            let shown = match (&a.counts, &a.token) {
                (None, _) => syntax_of(a),
                (Some(_), Some(t)) => t.clone(),
                (Some(_), None) => continue,
            };
            s.push(' ');
            s.push_str(&shown);
        }
        s
    }

    pub(super) fn docs(&self) -> Vec<String> {
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
        d.extend(self.rust_lines());
        let page = self.full.to_lowercase().replace(' ', "-");
        let servers = &spec.typedis.servers;
        let valkey_only = !servers.is_empty() && servers.iter().all(|s| s.starts_with("valkey"));
        if spec.module.is_none() {
            let site = if valkey_only { "valkey.io" } else { "redis.io" };
            d.push(format!(" - Reference: <https://{site}/commands/{page}/>"));
        }
        d
    }

    /// What the docs say in Rust terms: the method's parameters in order, each tuple's
    /// order (ZADD's `(member, score)`, where the syntax line says `score member`), and
    /// the reply type with the options that change it.
    pub(super) fn rust_lines(&self) -> Vec<String> {
        let mut enums = self.enums();
        let mut params = Vec::new();
        for (a, name) in self.param_names() {
            let one = match a.kind {
                _ if a.writer.is_some() || typed_path(a).is_some() => None,
                ArgKind::Block => {
                    let parts: Vec<String> = self
                        .block_parts(a)
                        .iter()
                        .map(|m| ident_safe(&m.name))
                        .collect();
                    Some(if parts.len() == 1 {
                        parts.join("")
                    } else {
                        format!("({})", parts.join(", "))
                    })
                }
                ArgKind::Oneof => {
                    let t = self.value_type(
                        &Argument {
                            multiple: false,
                            ..a.clone()
                        },
                        &mut enums,
                        false,
                    );
                    Some(short_name(&t))
                }
                _ => None,
            };
            params.push(match (one, a.multiple) {
                (Some(t), true) => format!("`{name}`: one or many `{t}`"),
                (Some(t), false) => format!("`{name}`: `{t}`"),
                (None, true) => format!("`{name}` (one or many)"),
                (None, false) => format!("`{name}`"),
            });
        }
        self.markers.borrow_mut().clear();
        let mut lines = Vec::new();
        if !params.is_empty() {
            lines.push(format!(" - Parameters: {}", params.join(", ")));
        }
        let mut reply = format!(" - Reply: `{}`", short_name(&self.default_reply));
        for (when, ty) in &self.variants {
            let mut names: Vec<String> = when.iter().take(3).map(|w| format!("`{w}`")).collect();
            if when.len() > 3 {
                names.push("…".into());
            }
            reply.push_str(&format!("; `{}` with {}", short_name(ty), names.join(", ")));
        }
        lines.push(reply);
        lines
    }

    pub(super) fn deprecated(&self) -> TokenStream {
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

    /// What a setter's docs say about calling it again.
    pub(super) fn repeat_doc(a: &Argument, parent: Option<&Argument>) -> &'static str {
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
    pub(super) fn doc_more(doc: &mut String, more: &str) {
        if more.is_empty() {
            return;
        }
        doc.push_str(if doc.contains(" — ") { "; " } else { " — " });
        doc.push_str(more);
    }
}

/// The syntax of an argument as its setter writes it (no brackets for being optional).
pub(super) fn plain_syntax(a: &Argument) -> String {
    syntax_of(&Argument {
        optional: false,
        ..a.clone()
    })
}

/// The syntax line of an argument, as in the command docs.
pub(super) fn syntax_of(a: &Argument) -> String {
    let core = match a.kind {
        ArgKind::PureToken => match a.token.as_deref() {
            Some("") => "\"\"".to_owned(),
            Some(t) => t.to_owned(),
            None => a.name.to_uppercase(),
        },
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
            // A count the client computes is not shown; its token is (`LOAD field …`).
            .filter_map(|m| match (&m.counts, &m.token) {
                (None, _) => Some(syntax_of(m)),
                (Some(_), Some(t)) => Some(t.clone()),
                (Some(_), None) => None,
            })
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
