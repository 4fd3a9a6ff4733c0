//! Which servers have a command and accept each of its arguments: the `typedis.since`
//! and `typedis.arguments` fields of the specs (commands/README.md), worked out while a
//! dump is merged.
//!
//! A spec file keeps one argument tree, the preferred server's. Whether another server
//! accepts a node of that tree is decided when the other server is dumped, by finding
//! the node in the server's own tree: by token first (tokens are what reach the wire,
//! while names were renamed between releases), then by name, then by position among the
//! untokened values; an untokened group (`oneof`, `block`) the other tree lacks is judged
//! by its members. Where a node's own `since` (or a history entry that added its token)
//! speaks for the server, it decides: a version of the same family, or of the history
//! Redis and Valkey share (up to 7.2, which Valkey forked), says whether the server's
//! release has it. When the preferred tree itself changes, what was known about the other
//! servers is carried over by matching the new tree against the old one the same way.
//!
//! Owns: that matching, the per-family versions and the minimal set of per-argument
//! entries. Does not own: reading dumps or source trees, the servers list (`regen.rs`).

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

pub use typedis_codegen::spec::{split_server_id as split_id, version_key, Availability};

/// The families whose versions up to 7.2 are one history: Valkey 7.2.4 is Redis 7.2.4.
const SHARED_HISTORY: [&str; 2] = ["redis", "valkey"];

fn cmp_versions(a: &str, b: &str) -> std::cmp::Ordering {
    version_key(a).cmp(&version_key(b))
}

/// Whether a version is part of the history Redis and Valkey share (7.2 and older).
fn is_shared(v: &str) -> bool {
    let k = version_key(v);
    (
        k.first().copied().unwrap_or(0),
        k.get(1).copied().unwrap_or(0),
    ) <= (7, 2)
}

/// What one server family can do with one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Support {
    /// Not accepted, and no release known that does.
    No,
    /// Accepted from this release on (`None`: no bound known). A listed server older than
    /// the release does not accept it.
    From(Option<String>),
}

impl Support {
    /// Whether a server of this version accepts it.
    pub fn accepts(&self, version: &str) -> bool {
        match self {
            Support::No => false,
            Support::From(None) => true,
            Support::From(Some(v)) => cmp_versions(v, version).is_le(),
        }
    }

    /// What an entry of `typedis.arguments` says about `family`.
    pub fn from_entry(entry: &Availability, family: &str) -> Support {
        match entry.get(family) {
            None => Support::No,
            Some(v) => Support::From(v.clone()),
        }
    }
}

/// One argument node of a spec's tree, with its place in it.
struct Node<'a> {
    json: &'a Map<String, Json>,
    path: String,
    parent: Option<usize>,
    children: Vec<usize>,
}

/// A spec's argument tree, flattened in pre-order, with the command's history (which
/// sometimes is the only record of when a token was added).
pub struct Tree<'a> {
    nodes: Vec<Node<'a>>,
    roots: Vec<usize>,
    history: Vec<(String, String)>,
    /// No arguments listed although the arity says there are some (Redis 7.0 documents
    /// none for `COMMAND GETKEYS`): nothing can be told from the tree.
    undocumented: bool,
}

impl<'a> Tree<'a> {
    /// The tree of a spec body (`arguments`, `history`).
    pub fn of(body: &'a Map<String, Json>) -> Tree<'a> {
        let mut tree = Tree {
            nodes: Vec::new(),
            roots: Vec::new(),
            history: body
                .get("history")
                .and_then(Json::as_array)
                .map(|h| {
                    h.iter()
                        .filter_map(|e| {
                            let e = e.as_array()?;
                            Some((
                                e.first()?.as_str()?.to_owned(),
                                e.get(1)?.as_str()?.to_owned(),
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default(),
            undocumented: false,
        };
        if let Some(args) = body.get("arguments").and_then(Json::as_array) {
            tree.roots = tree.add(args, None, "");
        }
        let words = if body.contains_key("container") { 2 } else { 1 };
        let arity = body.get("arity").and_then(Json::as_i64).unwrap_or(0);
        tree.undocumented = tree.roots.is_empty() && arity.unsigned_abs() > words;
        tree
    }

    fn add(&mut self, args: &'a [Json], parent: Option<usize>, prefix: &str) -> Vec<usize> {
        let mut ids = Vec::new();
        for a in args {
            let Json::Object(json) = a else { continue };
            let name = json.get("name").and_then(Json::as_str).unwrap_or_default();
            let path = if prefix.is_empty() {
                name.to_owned()
            } else {
                format!("{prefix}/{name}")
            };
            let id = self.nodes.len();
            self.nodes.push(Node {
                json,
                path: path.clone(),
                parent,
                children: Vec::new(),
            });
            if let Some(kids) = json.get("arguments").and_then(Json::as_array) {
                let kids = self.add(kids, Some(id), &path);
                self.nodes[id].children = kids;
            }
            ids.push(id);
        }
        ids
    }

    fn text(&self, i: usize, field: &str) -> Option<&'a str> {
        self.nodes[i].json.get(field).and_then(Json::as_str)
    }

    fn flag(&self, i: usize, field: &str) -> bool {
        self.nodes[i].json.get(field).and_then(Json::as_bool) == Some(true)
    }

    fn name(&self, i: usize) -> &'a str {
        self.text(i, "name").unwrap_or_default()
    }

    fn kind(&self, i: usize) -> &'a str {
        self.text(i, "type").unwrap_or_default()
    }

    fn token(&self, i: usize) -> Option<&'a str> {
        self.text(i, "token")
    }

    fn is_group(&self, i: usize) -> bool {
        matches!(self.kind(i), "oneof" | "block")
    }

    fn siblings(&self, i: usize) -> &[usize] {
        match self.nodes[i].parent {
            Some(p) => &self.nodes[p].children,
            None => &self.roots,
        }
    }

    /// Paths of every node, in pre-order.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.nodes.iter().map(|n| n.path.as_str())
    }

    /// The node at `path`.
    pub fn find_path(&self, path: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.path == path)
    }

    /// The version that added this node itself: its `since`, else (for a token without
    /// one) the earliest history entry that says it added that token.
    fn own_since(&self, i: usize) -> Option<String> {
        if let Some(s) = self.text(i, "since") {
            return Some(s.to_owned());
        }
        let token = self.token(i).filter(|t| !t.is_empty())?;
        self.history
            .iter()
            .filter(|(_, text)| {
                text.trim_start().to_ascii_lowercase().starts_with("added") && mentions(text, token)
            })
            .map(|(v, _)| v.clone())
            .min_by(|a, b| cmp_versions(a, b))
    }

    /// The latest `own_since` on the way from the root to this node.
    fn since(&self, i: usize) -> Option<String> {
        let mut best: Option<String> = None;
        let mut at = Some(i);
        while let Some(n) = at {
            if let Some(s) = self.own_since(n) {
                if best.as_deref().is_none_or(|b| cmp_versions(&s, b).is_gt()) {
                    best = Some(s);
                }
            }
            at = self.nodes[n].parent;
        }
        best
    }
}

/// Whether `text` names `token` as a word (any case): "Added the `WITHSCORE` argument".
fn mentions(text: &str, token: &str) -> bool {
    let text = text.to_ascii_uppercase();
    let token = token.to_ascii_uppercase();
    let word = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    text.match_indices(&token).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + token.len()..].chars().next();
        !before.is_some_and(word) && !after.is_some_and(word)
    })
}

/// The first release of `family` that has node `i` of `tree` (a tree of `tree_family`),
/// as far as the tree's `since` values tell.
pub fn own_version(tree: &Tree<'_>, i: usize, tree_family: &str, family: &str) -> Option<String> {
    let s = tree.since(i)?;
    shared_or_own(&s, tree_family, family)
}

/// What version `s`, found in a tree of `tree_family`, says about `family`.
fn shared_or_own(s: &str, tree_family: &str, family: &str) -> Option<String> {
    let shared =
        is_shared(s) && SHARED_HISTORY.contains(&tree_family) && SHARED_HISTORY.contains(&family);
    if family == "valkey" && shared {
        // Every Valkey release has what Redis had at the fork.
        None
    } else if family == tree_family || shared {
        Some(s.to_owned())
    } else {
        None
    }
}

/// Where the counterparts of a node's members are looked for.
#[derive(Clone)]
enum Scope<'s> {
    /// Anything goes (the other tree has a plain value where this one has structure).
    All(Support),
    /// Among these nodes of the other tree.
    Nodes(&'s [usize]),
}

/// Judges every node of `p` (of `p_family`) for `family`, whose listed server is version
/// `listed`, against `o`, that family's view of the command: `base(r)` is what `family`
/// can do with node `r` of `o`.
pub struct Judge<'a, 'b> {
    /// The tree being judged.
    pub p: &'b Tree<'a>,
    /// The family whose versions `p`'s `since` values are.
    pub p_family: &'b str,
    /// The tree the family is known by.
    pub o: &'b Tree<'b>,
    /// What the family can do with each node of `o`.
    pub base: &'b dyn Fn(usize) -> Support,
    /// The family judged.
    pub family: &'b str,
    /// The version of its listed server.
    pub listed: &'b str,
}

impl Judge<'_, '_> {
    /// One `Support` per node of `p`.
    pub fn run(&self) -> Vec<Support> {
        let mut out = vec![Support::No; self.p.nodes.len()];
        let roots = self.o.roots.clone();
        let scope = if self.o.undocumented {
            Scope::All(Support::From(None))
        } else {
            Scope::Nodes(&roots)
        };
        for &i in &self.p.roots {
            self.node(i, &scope, true, &mut out);
        }
        out
    }

    /// What the node's own `since` says about the listed server, when it speaks for it.
    fn since_verdict(&self, i: usize) -> Option<bool> {
        let s = self.p.own_since(i)?;
        let speaks = self.family == self.p_family
            || (is_shared(&s)
                && SHARED_HISTORY.contains(&self.family)
                && SHARED_HISTORY.contains(&self.p_family));
        speaks.then(|| cmp_versions(&s, self.listed).is_le())
    }

    /// Not accepted by the listed server: from a later release if the specs say which.
    fn rejected(&self, i: usize) -> Support {
        match self.p.since(i) {
            Some(s) if cmp_versions(&s, self.listed).is_gt() => {
                match shared_or_own(&s, self.p_family, self.family) {
                    Some(v) => Support::From(Some(v)),
                    None => Support::No,
                }
            }
            _ => Support::No,
        }
    }

    /// A counterpart of `i` among `list` (and their members).
    fn find(&self, i: usize, list: &[usize]) -> Option<usize> {
        let (p, o) = (self.p, self.o);
        match p.token(i) {
            Some(t) => {
                let same = |r: usize| o.token(r).is_some_and(|u| u.eq_ignore_ascii_case(t));
                self.search(list, &same, 0)
                    .or_else(|| self.search(list, &same, 1))
                    .or_else(|| self.search(list, &same, 2))
            }
            None => {
                let same = |r: usize| o.token(r).is_none() && o.name(r) == p.name(i);
                self.search(list, &same, 0)
                    .or_else(|| self.search(list, &same, 1))
            }
        }
    }

    /// `depth` 0: `list` itself; 1: also inside untokened groups; 2: inside any group.
    fn search(&self, list: &[usize], same: &dyn Fn(usize) -> bool, depth: u8) -> Option<usize> {
        let o = self.o;
        if let Some(&r) = list.iter().find(|&&r| same(r)) {
            return Some(r);
        }
        if depth == 0 {
            return None;
        }
        list.iter()
            .filter(|&&r| o.is_group(r) && (depth == 2 || o.token(r).is_none()))
            .find_map(|&r| self.search(&o.nodes[r].children, same, depth))
    }

    /// The untokened value at the same position among the untokened values.
    fn same_position(&self, i: usize, list: &[usize]) -> Option<usize> {
        let (p, o) = (self.p, self.o);
        let plain_p = |j: &&usize| p.token(**j).is_none() && !p.is_group(**j);
        let plain_o = |j: &&usize| o.token(**j).is_none() && !o.is_group(**j);
        let at = p.siblings(i).iter().filter(plain_p).position(|&j| j == i)?;
        let r = *list.iter().filter(plain_o).nth(at)?;
        (o.kind(r) == p.kind(i)).then_some(r)
    }

    fn set_all(&self, i: usize, s: &Support, out: &mut [Support]) {
        out[i] = s.clone();
        for &c in &self.p.nodes[i].children {
            self.set_all(c, s, out);
        }
    }

    fn accepted_version(&self, s: Support) -> Support {
        match s {
            Support::From(Some(v)) if cmp_versions(&v, self.listed).is_gt() => Support::From(None),
            other => other,
        }
    }

    fn node(&self, i: usize, scope: &Scope<'_>, required: bool, out: &mut [Support]) -> bool {
        let (p, o) = (self.p, self.o);
        let verdict = self.since_verdict(i);
        if verdict == Some(false) {
            let r = self.rejected(i);
            self.set_all(i, &r, out);
            return false;
        }
        let required_below = required && !p.flag(i, "optional") && p.kind(i) == "block";
        let kids = &p.nodes[i].children;
        // The counterpart, and where the members' counterparts are.
        let found: Option<(Support, Scope<'_>)> = match scope {
            Scope::All(origin) => Some((origin.clone(), Scope::All(origin.clone()))),
            Scope::Nodes(list) => {
                let r = self.find(i, list).or_else(|| {
                    (p.token(i).is_none() && !p.is_group(i))
                        .then(|| self.same_position(i, list))
                        .flatten()
                });
                match r {
                    Some(r) => {
                        let s = (self.base)(r);
                        let inner = if o.nodes[r].children.is_empty() {
                            Scope::All(s.clone())
                        } else {
                            Scope::Nodes(&o.nodes[r].children)
                        };
                        Some((s, inner))
                    }
                    None if p.token(i).is_none() && p.is_group(i) => {
                        // An untokened group does not reach the wire itself: it is
                        // accepted when its members are (any one of a oneof; every
                        // required member of a block).
                        let results: Vec<(bool, bool)> = kids
                            .iter()
                            .map(|&c| {
                                (
                                    self.node(c, scope, required_below, out),
                                    p.flag(c, "optional"),
                                )
                            })
                            .collect();
                        let ok = if p.kind(i) == "oneof" {
                            results.iter().any(|(ok, _)| *ok)
                        } else if results.iter().any(|(_, opt)| !opt) {
                            results.iter().filter(|(_, opt)| !opt).all(|(ok, _)| *ok)
                        } else {
                            results.is_empty() || results.iter().any(|(ok, _)| *ok)
                        };
                        if ok || verdict == Some(true) {
                            out[i] = Support::From(None);
                            return true;
                        }
                        let r = self.rejected(i);
                        self.set_all(i, &r, out);
                        return false;
                    }
                    None if required && !p.flag(i, "optional") && p.token(i).is_none() => {
                        // A required value of a command the server has: its own tree
                        // names it differently.
                        Some((Support::From(None), Scope::All(Support::From(None))))
                    }
                    None => None,
                }
            }
        };
        let (support, inner) = match found {
            Some((s, inner)) if s != Support::No => (s, inner),
            _ if verdict == Some(true) => {
                let s = Support::From(own_version(p, i, self.p_family, self.family));
                (s.clone(), Scope::All(s))
            }
            _ => {
                let r = self.rejected(i);
                self.set_all(i, &r, out);
                return false;
            }
        };
        out[i] = self.accepted_version(support);
        for &c in kids {
            self.node(c, &inner, required_below, out);
        }
        true
    }
}

/// What family `family` could do with each node of an existing spec body, from its
/// `typedis.arguments` entries (the nearest on a node's path) and, where there is none,
/// from being listed: `listed` says whether the family is in `typedis.servers`.
pub fn old_support(
    tree: &Tree<'_>,
    entries: &BTreeMap<String, Availability>,
    tree_family: &str,
    family: &str,
    listed: bool,
) -> Vec<Support> {
    (0..tree.nodes.len())
        .map(|i| {
            let mut at = Some(i);
            while let Some(n) = at {
                if let Some(e) = entries.get(&tree.nodes[n].path) {
                    return Support::from_entry(e, family);
                }
                at = tree.nodes[n].parent;
            }
            if listed {
                Support::From(own_version(tree, i, tree_family, family))
            } else {
                Support::No
            }
        })
        .collect()
}

/// The `typedis.arguments` entries for a tree: one for each node whose set of accepting
/// listed servers differs from its parent's (the command's for top-level nodes), holding
/// every family that accepts it or is known to from a later release.
pub fn entries(
    tree: &Tree<'_>,
    support: &BTreeMap<String, Vec<Support>>,
    listed: &BTreeMap<String, String>,
) -> BTreeMap<String, Availability> {
    let accepting = |i: usize| -> Vec<&str> {
        listed
            .iter()
            .filter(|(f, v)| support.get(*f).is_some_and(|s| s[i].accepts(v)))
            .map(|(f, _)| f.as_str())
            .collect()
    };
    let all: Vec<&str> = listed.keys().map(String::as_str).collect();
    let mut out = BTreeMap::new();
    for i in 0..tree.nodes.len() {
        let parent = match tree.nodes[i].parent {
            Some(p) => accepting(p),
            None => all.clone(),
        };
        if accepting(i) != parent {
            let entry: Availability = support
                .iter()
                .filter_map(|(f, s)| match &s[i] {
                    Support::From(v) => Some((f.clone(), v.clone())),
                    Support::No => None,
                })
                .collect();
            out.insert(tree.nodes[i].path.clone(), entry);
        }
    }
    out
}

/// `typedis.since` of a command: what each family's first release with it is, from the
/// `since` of each family's own view (`own`), keeping the other families' (`old`); and
/// for a command of Valkey's tree from the shared history, the Redis release it came with.
pub fn command_since(
    own: (&str, Option<&str>),
    old: &Availability,
    families: &[&str],
    tree_family: &str,
    tree_since: Option<&str>,
) -> Availability {
    let mut out = Availability::new();
    for f in families {
        if *f == own.0 {
            out.insert(
                f.to_string(),
                own.1.and_then(|s| shared_or_own(s, own.0, own.0)),
            );
        } else if let Some(v) = old.get(*f) {
            out.insert(f.to_string(), v.clone());
        } else {
            out.insert(
                f.to_string(),
                tree_since.and_then(|s| shared_or_own(s, tree_family, f)),
            );
        }
    }
    if tree_family == "valkey" && !out.contains_key("redis") {
        if let Some(s) = tree_since.filter(|s| is_shared(s)) {
            out.insert("redis".into(), Some(s.to_owned()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Json) -> Map<String, Json> {
        match v {
            Json::Object(m) => m,
            _ => unreachable!(),
        }
    }

    fn judge(
        p: &Map<String, Json>,
        p_family: &str,
        o: &Map<String, Json>,
        family: &str,
        listed: &str,
    ) -> BTreeMap<String, Support> {
        let (pt, ot) = (Tree::of(p), Tree::of(o));
        let base = |r: usize| Support::From(own_version(&ot, r, family, family));
        let out = Judge {
            p: &pt,
            p_family,
            o: &ot,
            base: &base,
            family,
            listed,
        }
        .run();
        pt.paths().map(str::to_owned).zip(out).collect()
    }

    #[test]
    fn tokens_match_across_renames_and_regroupings() {
        // Valkey renamed and regrouped what Redis 7.0 had; only WITHSCORE and CANCEL are new.
        let valkey = body(
            json!({"since": "2.0.0", "history": [["7.2.0", "Added the optional `WITHSCORE` argument."]], "arguments": [
            {"name": "key", "type": "key"},
            {"name": "limit", "type": "block", "token": "LIMIT", "optional": true, "arguments": [
                {"name": "offset", "type": "integer"}, {"name": "count", "type": "integer"}]},
            {"name": "operation", "type": "oneof", "optional": true, "arguments": [
                {"name": "schedule", "type": "pure-token", "token": "SCHEDULE"},
                {"name": "cancel", "type": "pure-token", "token": "CANCEL", "since": "8.1.0"}]},
            {"name": "withscore", "type": "pure-token", "token": "WITHSCORE", "optional": true},
            {"name": "category", "type": "string", "optional": true}]}),
        );
        let redis = body(json!({"since": "2.0.0", "arguments": [
            {"name": "key", "type": "key"},
            {"name": "offset_count", "type": "block", "token": "LIMIT", "optional": true, "arguments": [
                {"name": "offset", "type": "integer"}, {"name": "count", "type": "integer"}]},
            {"name": "schedule", "type": "pure-token", "token": "SCHEDULE", "optional": true},
            {"name": "categoryname", "type": "string", "optional": true}]}));
        let got = judge(&valkey, "valkey", &redis, "redis", "7.0.15");
        let yes = Support::From(None);
        assert_eq!(got["key"], yes);
        assert_eq!(got["limit"], yes);
        assert_eq!(got["limit/count"], yes);
        assert_eq!(
            got["operation"], yes,
            "a group is accepted through its members"
        );
        assert_eq!(got["operation/schedule"], yes);
        assert_eq!(
            got["operation/cancel"],
            Support::No,
            "8.1.0 is a Valkey version"
        );
        assert_eq!(got["category"], yes, "the same position among plain values");
        assert_eq!(
            got["withscore"],
            Support::From(Some("7.2.0".into())),
            "the history says Redis 7.2 added it"
        );
    }

    #[test]
    fn a_shared_since_decides_for_redis_and_every_valkey_has_it() {
        let valkey = body(json!({"arguments": [
            {"name": "sync", "type": "pure-token", "token": "SYNC", "optional": true, "since": "6.2.0"}]}));
        let redis = body(json!({"arguments": []}));
        let got = judge(&valkey, "valkey", &redis, "redis", "7.0.15");
        assert_eq!(got["sync"], Support::From(Some("6.2.0".into())));
        assert!(got["sync"].accepts("7.0.15"));
        let got = judge(&redis, "redis", &valkey, "valkey", "9.1.2");
        assert!(got.is_empty());
        assert_eq!(own_version(&Tree::of(&valkey), 0, "valkey", "valkey"), None);
        assert_eq!(
            own_version(&Tree::of(&valkey), 0, "valkey", "redis"),
            Some("6.2.0".into())
        );
    }

    #[test]
    fn entries_mark_where_the_accepting_servers_change() {
        let tree_body = body(json!({"arguments": [
            {"name": "a", "type": "oneof", "optional": true, "arguments": [
                {"name": "x", "type": "pure-token", "token": "X"},
                {"name": "y", "type": "block", "arguments": [
                    {"name": "y1", "type": "pure-token", "token": "Y1"}]}]}]}));
        let tree = Tree::of(&tree_body);
        let mut support = BTreeMap::new();
        let no = Support::No;
        let yes = Support::From(None);
        support.insert(
            "redis".to_owned(),
            vec![yes.clone(), yes.clone(), no.clone(), no.clone()],
        );
        support.insert(
            "valkey".to_owned(),
            vec![
                yes.clone(),
                yes.clone(),
                Support::From(Some("9.0.0".into())),
                yes,
            ],
        );
        let listed = BTreeMap::from([
            ("redis".to_owned(), "7.0.15".to_owned()),
            ("valkey".to_owned(), "9.1.2".to_owned()),
        ]);
        let e = entries(&tree, &support, &listed);
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(
            e["a/y"],
            Availability::from([("valkey".to_owned(), Some("9.0.0".to_owned()))])
        );
    }

    #[test]
    fn history_names_tokens_as_words() {
        assert!(mentions(
            "Added the `GET`, `EXAT` and `PXAT` option.",
            "EXAT"
        ));
        assert!(mentions("Added noscores option.", "NOSCORES"));
        assert!(!mentions("Added the `NOT-ID` filter.", "ID"));
        assert!(!mentions("Added IDLE.", "ID"));
    }

    #[test]
    fn ids_and_versions() {
        assert_eq!(split_id("redis-7.0.15"), ("redis", "7.0.15"));
        assert_eq!(split_id("redis-stack-7.2.0"), ("redis-stack", "7.2.0"));
        assert_eq!(split_id("mymodule"), ("mymodule", ""));
        assert!(cmp_versions("7.10.0", "7.9.9").is_gt());
        assert!(is_shared("7.2.4") && !is_shared("7.4.0") && !is_shared("8.0.0"));
    }
}
