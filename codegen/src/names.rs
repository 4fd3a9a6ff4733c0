//! Naming: command and argument names to Rust identifiers.

/// Rust keywords (strict and reserved) that cannot be plain identifiers.
const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where",
    "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
];

/// Whether `s` is a Rust keyword.
pub fn is_keyword(s: &str) -> bool {
    KEYWORDS.contains(&s)
}

/// `client|no-evict` / `CLIENT NO-EVICT` → `client_no_evict`.
pub fn snake(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            'a'..='z' | '0'..='9' => out.push(c),
            'A'..='Z' => out.push(c.to_ascii_lowercase()),
            _ => {
                if !out.ends_with('_') && !out.is_empty() {
                    out.push('_');
                }
            }
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// `client|no-evict` → `ClientNoEvict`.
pub fn pascal(s: &str) -> String {
    let mut out = String::new();
    for word in snake(s).split('_').filter(|w| !w.is_empty()) {
        let mut c = word.chars();
        if let Some(first) = c.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(c);
        }
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'V');
    }
    out
}

/// A snake-case identifier that is not a keyword (`type` → `type_`).
pub fn ident_safe(s: &str) -> String {
    let s = snake(s);
    if s.is_empty() {
        "arg".into()
    } else if is_keyword(&s) {
        format!("{s}_")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(snake("CLIENT NO-EVICT"), "client_no_evict");
        assert_eq!(snake("client|kill"), "client_kill");
        assert_eq!(pascal("client|no-evict"), "ClientNoEvict");
        assert_eq!(pascal("bitfield_ro"), "BitfieldRo");
        assert_eq!(ident_safe("type"), "type_");
        assert_eq!(snake("num-vertices"), "num_vertices");
    }
}
