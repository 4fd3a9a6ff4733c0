//! The FT.CREATE (and FT.ALTER) schema: [`Field`] (a field's name, alias, type and the
//! type's options, written in the module's order) and [`VectorAlgorithm`].

use bytes::Bytes;

use crate::cmd::Args;
use crate::value::ToArg;

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
