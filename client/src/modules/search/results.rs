//! The replies a spec cannot type, each decoded from RESP2 and RESP3:
//! [`SearchResult`] and [`Document`] (FT.SEARCH), [`AggregateResult`] (FT.AGGREGATE,
//! FT.CURSOR READ) and [`SpellCheck`] (FT.SPELLCHECK).

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::value::{FromValue, Value};

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
