//! RediSearch commands (feature `redis-search`): the generated [`SearchCommands`] (one
//! method per `FT.*` command of `commands/modules/search/`) and, by hand, the FT.CREATE
//! schema ([`Field`]) and the replies a spec cannot type: [`SearchResult`] (FT.SEARCH),
//! [`AggregateResult`] (FT.AGGREGATE, FT.CURSOR READ) and [`SpellCheck`], each decoded from
//! RESP2 and RESP3.
//!
//! ```no_run
//! # async fn f(client: &typedis::Client) -> typedis::Result<()> {
//! use typedis::prelude::*;
//! use typedis::modules::search::{Field, FtCreateDataType, SearchResult};
//!
//! client
//!     .ft_create("books", [
//!         Field::text("title").weight(2.0).sortable(),
//!         Field::numeric("year").sortable(),
//!         Field::tag("genre"),
//!     ])
//!     .on(FtCreateDataType::Hash)
//!     .prefix((1, ["book:"]))
//!     .await?;
//! client.hset("book:1", [("title", "Dune"), ("year", "1965"), ("genre", "sf")]).await?;
//! let found: SearchResult = client.ft_search("books", "@genre:{sf}").withscores().await?;
//! for doc in &found.documents {
//!     println!("{:?} {:?} {:?}", doc.id, doc.score, doc.get("title"));
//! }
//! # Ok(()) }
//! ```
//!
//! RediSearch 2.10 loads into Valkey 9.1 and Redis ≥ 7.1 (not Redis 7.0). Its index name
//! is what the module declares as the key (`COMMAND GETKEYS FT.SEARCH idx …` is `idx`),
//! so `command_keys` and cluster routing use it: in a cluster an index lives on the
//! primary of its name's slot, and the module (without its coordinator) indexes only that
//! node's keys.
//!
//! In RESP2 an FT.SEARCH reply is a flat list whose layout depends on the query's flags:
//! [`SearchResult`] reads the default layout, `WITHSCORES`, all three of `WITHSCORES`,
//! `WITHPAYLOADS` and `WITHSORTKEYS`, and `NOCONTENT`; with only some of those three it
//! needs RESP3 (the client's default on servers that
//! speak it) and refuses what it cannot tell apart rather than guess. `NOCONTENT`
//! together with `WITHSCORES` interleaves ids and scores without a marker: in RESP2,
//! decode that one into [`Value`].

use bytes::Bytes;

use crate::cmd::Args;
use crate::error::{Error, Result};
use crate::value::{FromValue, ToArg, Value};

#[allow(missing_docs, clippy::all, deprecated, unused_imports)]
mod generated {
    include!("../generated/search.rs");
}
pub use generated::*;

super::for_every_handle!(SearchCommands);

// ------------------------------------------------------------------ schema

/// One field of an FT.CREATE (or FT.ALTER) schema: its name, an optional alias, its type
/// and the type's options, written in the module's order. Options that a type does not
/// take are refused by the server, not here.
///
/// ```
/// use typedis::modules::search::Field;
/// use typedis::Args;
/// let mut args = Args::default();
/// typedis::ToArg::write_arg(&Field::text("$.title").as_name("title").weight(2.0).sortable(), &mut args);
/// let argv: Vec<&[u8]> = args.iter().collect();
/// assert_eq!(argv, [&b"$.title"[..], b"AS", b"title", b"TEXT", b"WEIGHT", b"2", b"SORTABLE"]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    name: Bytes,
    alias: Option<Bytes>,
    kind: &'static [u8],
    /// Options after the type, in call order.
    options: Vec<Bytes>,
    sortable: bool,
    unf: bool,
    noindex: bool,
}

/// The vector index algorithm of a [`Field::vector`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorAlgorithm {
    /// Brute force.
    Flat,
    /// Hierarchical navigable small worlds.
    Hnsw,
}

impl Field {
    fn new(name: impl ToArg, kind: &'static [u8]) -> Field {
        Field {
            name: arg_bytes(&name),
            alias: None,
            kind,
            options: Vec::new(),
            sortable: false,
            unf: false,
            noindex: false,
        }
    }

    /// A full-text field.
    pub fn text(name: impl ToArg) -> Field {
        Field::new(name, b"TEXT")
    }

    /// A tag field (exact matches of comma-separated tags).
    pub fn tag(name: impl ToArg) -> Field {
        Field::new(name, b"TAG")
    }

    /// A numeric field (range queries).
    pub fn numeric(name: impl ToArg) -> Field {
        Field::new(name, b"NUMERIC")
    }

    /// A geo field (`lon,lat`).
    pub fn geo(name: impl ToArg) -> Field {
        Field::new(name, b"GEO")
    }

    /// A vector field: `VECTOR algorithm count attribute value …`, e.g.
    /// `[("TYPE", "FLOAT32"), ("DIM", "4"), ("DISTANCE_METRIC", "COSINE")]`.
    pub fn vector<K: ToArg, V: ToArg>(
        name: impl ToArg,
        algorithm: VectorAlgorithm,
        attributes: impl IntoIterator<Item = (K, V)>,
    ) -> Field {
        let mut field = Field::new(name, b"VECTOR");
        let attributes: Vec<(Bytes, Bytes)> = attributes
            .into_iter()
            .map(|(k, v)| (arg_bytes(&k), arg_bytes(&v)))
            .collect();
        field.options.push(Bytes::from_static(match algorithm {
            VectorAlgorithm::Flat => b"FLAT",
            VectorAlgorithm::Hnsw => b"HNSW",
        }));
        field
            .options
            .push(Bytes::from((attributes.len() * 2).to_string()));
        for (k, v) in attributes {
            field.options.extend([k, v]);
        }
        field
    }

    /// `AS alias`: the name queries use (for a JSON path field, say).
    pub fn as_name(mut self, alias: impl ToArg) -> Field {
        self.alias = Some(arg_bytes(&alias));
        self
    }

    fn option(mut self, token: &'static [u8]) -> Field {
        self.options.push(Bytes::from_static(token));
        self
    }

    /// `WEIGHT w` (TEXT): the field's importance in scoring.
    pub fn weight(self, weight: f64) -> Field {
        let mut f = self.option(b"WEIGHT");
        f.options.push(Bytes::from(number_text(weight)));
        f
    }

    /// `NOSTEM` (TEXT).
    pub fn nostem(self) -> Field {
        self.option(b"NOSTEM")
    }

    /// `PHONETIC matcher` (TEXT), e.g. `dm:en`.
    pub fn phonetic(self, matcher: impl ToArg) -> Field {
        let mut f = self.option(b"PHONETIC");
        f.options.push(arg_bytes(&matcher));
        f
    }

    /// `SEPARATOR c` (TAG; default `,`).
    pub fn separator(self, separator: char) -> Field {
        let mut f = self.option(b"SEPARATOR");
        f.options.push(Bytes::from(separator.to_string()));
        f
    }

    /// `CASESENSITIVE` (TAG).
    pub fn casesensitive(self) -> Field {
        self.option(b"CASESENSITIVE")
    }

    /// `WITHSUFFIXTRIE` (TEXT, TAG): faster suffix and infix queries.
    pub fn withsuffixtrie(self) -> Field {
        self.option(b"WITHSUFFIXTRIE")
    }

    /// `INDEXEMPTY` (TEXT, TAG): empty values are indexed too.
    pub fn indexempty(self) -> Field {
        self.option(b"INDEXEMPTY")
    }

    /// `INDEXMISSING`: documents without the field can be queried (`ismissing(@f)`).
    pub fn indexmissing(self) -> Field {
        self.option(b"INDEXMISSING")
    }

    /// `SORTABLE`: the field can be sorted on (`SORTBY`).
    pub fn sortable(mut self) -> Field {
        self.sortable = true;
        self
    }

    /// `SORTABLE UNF`: sortable, without normalizing (lower-casing) the value.
    pub fn unf(mut self) -> Field {
        self.sortable = true;
        self.unf = true;
        self
    }

    /// `NOINDEX`: kept for sorting only, not searchable.
    pub fn noindex(mut self) -> Field {
        self.noindex = true;
        self
    }
}

/// A number as the module reads it (`2`, not `2.0`).
fn number_text(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// The bytes of one argument value (names and option values write one argument; a
/// value that wrote several would be cut to its first).
fn arg_bytes(value: &impl ToArg) -> Bytes {
    let mut args = Args::default();
    value.write_arg(&mut args);
    args.iter()
        .next()
        .map(Bytes::copy_from_slice)
        .unwrap_or_default()
}

impl ToArg for Field {
    fn write_arg(&self, out: &mut Args) {
        out.push_bytes(&self.name);
        if let Some(alias) = &self.alias {
            out.push_bytes(b"AS");
            out.push_bytes(alias);
        }
        out.push_bytes(self.kind);
        for o in &self.options {
            out.push_bytes(o);
        }
        if self.sortable {
            out.push_bytes(b"SORTABLE");
            if self.unf {
                out.push_bytes(b"UNF");
            }
        }
        if self.noindex {
            out.push_bytes(b"NOINDEX");
        }
    }
}

// ------------------------------------------------------------------ replies

/// An FT.SEARCH reply: how many documents match, and the page of them returned.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SearchResult {
    /// The number of matching documents (not only this page).
    pub total: i64,
    /// The documents of this page, in order.
    pub documents: Vec<Document>,
    /// Warnings (RESP3 only), e.g. a timeout that cut the results short.
    pub warnings: Vec<Bytes>,
}

/// One document of a [`SearchResult`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Document {
    /// Its key.
    pub id: Bytes,
    /// With `WITHSCORES`.
    pub score: Option<f64>,
    /// With `WITHPAYLOADS` (RESP3).
    pub payload: Option<Bytes>,
    /// With `WITHSORTKEYS` (RESP3).
    pub sort_key: Option<Bytes>,
    /// Its fields (none with `NOCONTENT`), in the server's order.
    pub fields: Vec<(Bytes, Bytes)>,
}

impl Document {
    /// The value of field `name`.
    pub fn get(&self, name: &str) -> Option<&Bytes> {
        self.fields
            .iter()
            .find(|(k, _)| k[..] == *name.as_bytes())
            .map(|(_, v)| v)
    }
}

/// Field name/value pairs, from a RESP3 map or a RESP2 flat array; nil values (a field
/// the document lacks) are left out.
fn fields(v: Value) -> Result<Vec<(Bytes, Bytes)>> {
    let pairs: Vec<(Bytes, Option<Bytes>)> = Vec::from_value(v)?;
    Ok(pairs
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect())
}

/// The entries of a RESP3 map reply, by name.
fn entries(v: Value, what: &str) -> Result<Vec<(Bytes, Value)>> {
    match v {
        Value::Map(pairs) => pairs
            .into_iter()
            .map(|(k, v)| Ok((Bytes::from_value(k)?, v)))
            .collect(),
        other => Err(Error::decode(what, other.kind_name())),
    }
}

impl FromValue for SearchResult {
    fn from_value(value: Value) -> Result<Self> {
        match value.into_result()? {
            v @ Value::Map(_) => search_resp3(v),
            Value::Array(items) => search_resp2(items),
            other => Err(Error::decode("an FT.SEARCH reply", other.kind_name())),
        }
    }
}

fn search_resp3(v: Value) -> Result<SearchResult> {
    let mut out = SearchResult::default();
    for (k, v) in entries(v, "an FT.SEARCH map")? {
        match &k[..] {
            b"total_results" => out.total = i64::from_value(v)?,
            b"warning" => out.warnings = Vec::from_value(v)?,
            b"results" => {
                for doc in Vec::<Value>::from_value(v)? {
                    let mut d = Document::default();
                    for (k, v) in entries(doc, "an FT.SEARCH result map")? {
                        match &k[..] {
                            b"id" => d.id = Bytes::from_value(v)?,
                            b"score" => d.score = Some(f64::from_value(v)?),
                            b"payload" => d.payload = Option::from_value(v)?,
                            b"sortkey" => d.sort_key = Option::from_value(v)?,
                            b"extra_attributes" => d.fields = fields(v)?,
                            _ => {}
                        }
                    }
                    out.documents.push(d);
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

fn search_resp2(items: Vec<Value>) -> Result<SearchResult> {
    let mut it = items.into_iter();
    let total = i64::from_value(it.next().unwrap_or(Value::Nil))?;
    let rest: Vec<Value> = it.collect();
    let mut out = SearchResult {
        total,
        ..SearchResult::default()
    };
    if !rest.iter().any(|v| matches!(v, Value::Array(_))) {
        // NOCONTENT: ids only.
        for id in rest {
            out.documents.push(Document {
                id: Bytes::from_value(id)?,
                ..Document::default()
            });
        }
        return Ok(out);
    }
    // Each document: its id, the flags' scalars, then its fields as an array.
    let mut it = rest.into_iter();
    while let Some(id) = it.next() {
        let mut doc = Document {
            id: Bytes::from_value(id)?,
            ..Document::default()
        };
        let mut extras = Vec::new();
        let fields_value = loop {
            match it.next() {
                Some(v @ Value::Array(_)) => break v,
                Some(v) => extras.push(v),
                None => {
                    return Err(Error::decode(
                        "an FT.SEARCH document's fields",
                        "the end of the reply",
                    ))
                }
            }
        };
        match extras.len() {
            0 => {}
            1 => {
                let only = extras.pop().unwrap_or(Value::Nil);
                doc.score = Some(f64::from_value(only).map_err(|_| {
                    Error::decode(
                        "a score (RESP2 FT.SEARCH replies with WITHPAYLOADS or WITHSORTKEYS need RESP3)",
                        "another value",
                    )
                })?);
            }
            3 => {
                // All three flags: the only layout with three values.
                let mut e = extras.into_iter();
                doc.score = Some(f64::from_value(e.next().unwrap_or(Value::Nil))?);
                doc.payload = Option::from_value(e.next().unwrap_or(Value::Nil))?;
                doc.sort_key = Option::from_value(e.next().unwrap_or(Value::Nil))?;
            }
            n => {
                return Err(Error::decode(
                    "a score, or a score, a payload and a sort key, before a document's fields (RESP2 FT.SEARCH replies with WITHPAYLOADS or WITHSORTKEYS need RESP3)",
                    format!("{n} values"),
                ))
            }
        }
        doc.fields = fields(fields_value)?;
        out.documents.push(doc);
    }
    Ok(out)
}

/// An FT.AGGREGATE (or FT.CURSOR READ) reply: the number of results and the rows, each
/// its field/value pairs. With `WITHCURSOR` the reply is `(AggregateResult, cursor id)`;
/// read on with `ft_cursor_read` until the id is 0.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AggregateResult {
    /// The number of results the server reports.
    pub total: i64,
    /// The rows, in order; a value is what the pipeline made (a string, or an array for
    /// `REDUCE TOLIST`).
    pub rows: Vec<Vec<(Bytes, Value)>>,
    /// Warnings (RESP3 only).
    pub warnings: Vec<Bytes>,
}

impl FromValue for AggregateResult {
    fn from_value(value: Value) -> Result<Self> {
        let mut out = AggregateResult::default();
        match value.into_result()? {
            v @ Value::Map(_) => {
                for (k, v) in entries(v, "an FT.AGGREGATE map")? {
                    match &k[..] {
                        b"total_results" => out.total = i64::from_value(v)?,
                        b"warning" => out.warnings = Vec::from_value(v)?,
                        b"results" => {
                            for row in Vec::<Value>::from_value(v)? {
                                let mut fields = Vec::new();
                                for (k, v) in entries(row, "an FT.AGGREGATE row map")? {
                                    if &k[..] == b"extra_attributes" {
                                        fields = Vec::from_value(v)?;
                                    }
                                }
                                out.rows.push(fields);
                            }
                        }
                        _ => {}
                    }
                }
            }
            Value::Array(items) => {
                let mut it = items.into_iter();
                out.total = i64::from_value(it.next().unwrap_or(Value::Nil))?;
                for row in it {
                    out.rows.push(Vec::from_value(row)?);
                }
            }
            other => return Err(Error::decode("an FT.AGGREGATE reply", other.kind_name())),
        }
        Ok(out)
    }
}

/// An FT.SPELLCHECK reply: for each misspelled term of the query, its suggestions with
/// their scores (best first, as the server orders them).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SpellCheck {
    /// `(term, [(suggestion, score)])`, in query order.
    pub terms: Vec<(Bytes, Vec<(Bytes, f64)>)>,
}

impl FromValue for SpellCheck {
    fn from_value(value: Value) -> Result<Self> {
        let mut out = SpellCheck::default();
        match value.into_result()? {
            // RESP3: {results: {term: [{suggestion: score}, …]}}
            v @ Value::Map(_) => {
                for (k, v) in entries(v, "an FT.SPELLCHECK map")? {
                    if &k[..] != b"results" {
                        continue;
                    }
                    for (term, suggestions) in entries(v, "FT.SPELLCHECK results")? {
                        let mut list = Vec::new();
                        for one in Vec::<Value>::from_value(suggestions)? {
                            for (s, score) in entries(one, "an FT.SPELLCHECK suggestion")? {
                                list.push((s, f64::from_value(score)?));
                            }
                        }
                        out.terms.push((term, list));
                    }
                }
            }
            // RESP2: [["TERM", term, [[score, suggestion], …]], …]
            other => {
                for entry in Vec::<Value>::from_value(other)? {
                    let (_, term, suggestions): (Bytes, Bytes, Vec<(f64, Bytes)>) =
                        FromValue::from_value(entry)?;
                    out.terms
                        .push((term, suggestions.into_iter().map(|(s, t)| (t, s)).collect()));
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Value {
        Value::Bulk(Bytes::copy_from_slice(s.as_bytes()))
    }
    fn k(s: &str) -> Value {
        Value::SimpleString(Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn resp2_layouts() {
        let plain = Value::Array(vec![
            Value::Int(2),
            b("d1"),
            Value::Array(vec![b("t"), b("x")]),
            b("d2"),
            Value::Array(vec![b("t"), b("y")]),
        ]);
        let r = SearchResult::from_value(plain).unwrap();
        assert_eq!(r.total, 2);
        assert_eq!(r.documents[1].id, "d2");
        assert_eq!(r.documents[1].get("t").unwrap(), "y");
        assert_eq!(r.documents[1].score, None);
        let scored = Value::Array(vec![
            Value::Int(1),
            b("d1"),
            b("0.5"),
            Value::Array(vec![b("t"), b("x")]),
        ]);
        assert_eq!(
            SearchResult::from_value(scored).unwrap().documents[0].score,
            Some(0.5)
        );
        let ids = Value::Array(vec![Value::Int(5), b("d1"), b("d2")]);
        let r = SearchResult::from_value(ids).unwrap();
        assert_eq!((r.total, r.documents.len()), (5, 2));
        // Two scalars before the fields cannot be told apart in RESP2.
        let ambiguous = Value::Array(vec![
            Value::Int(1),
            b("d1"),
            b("0.5"),
            b("#1"),
            Value::Array(vec![]),
        ]);
        assert!(SearchResult::from_value(ambiguous).is_err());
        assert!(SearchResult::from_value(Value::Int(3)).is_err());
    }

    #[test]
    fn resp3_map() {
        let doc = Value::Map(vec![
            (k("id"), b("d1")),
            (k("score"), Value::Double(1.5)),
            (k("sortkey"), b("#10")),
            (
                k("extra_attributes"),
                Value::Map(vec![(b("t"), b("x")), (b("gone"), Value::Nil)]),
            ),
            (k("values"), Value::Array(vec![])),
        ]);
        let reply = Value::Map(vec![
            (k("attributes"), Value::Array(vec![])),
            (k("total_results"), Value::Int(7)),
            (k("results"), Value::Array(vec![doc])),
            (k("warning"), Value::Array(vec![])),
        ]);
        let r = SearchResult::from_value(reply).unwrap();
        assert_eq!(r.total, 7);
        let d = &r.documents[0];
        assert_eq!(
            (d.score, d.sort_key.as_deref()),
            (Some(1.5), Some(&b"#10"[..]))
        );
        assert_eq!(d.fields, vec![(Bytes::from("t"), Bytes::from("x"))]);
    }

    #[test]
    fn spellcheck_both_protocols() {
        let resp2 = Value::Array(vec![Value::Array(vec![
            k("TERM"),
            b("helo"),
            Value::Array(vec![Value::Array(vec![b("2"), b("hello")])]),
        ])]);
        let want = vec![(Bytes::from("helo"), vec![(Bytes::from("hello"), 2.0)])];
        assert_eq!(SpellCheck::from_value(resp2).unwrap().terms, want);
        let resp3 = Value::Map(vec![(
            k("results"),
            Value::Map(vec![(
                b("helo"),
                Value::Array(vec![Value::Map(vec![(b("hello"), Value::Double(2.0))])]),
            )]),
        )]);
        assert_eq!(SpellCheck::from_value(resp3).unwrap().terms, want);
    }
}
