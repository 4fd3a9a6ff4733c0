//! Replies of data commands that are records: geo members with their `WITH*` extras and
//! `LCS … IDX`.

use bytes::Bytes;

use super::{array_record, field, items, map_record};
use crate::error::{Error, Result};
use crate::value::{describe, FromValue, Value};

/// A member found by `GEOSEARCH` / `GEORADIUS…` with `WITHDIST`, `WITHHASH` or
/// `WITHCOORD` (any combination): the member and what was asked for.
///
/// The server sends the extras in a fixed order (distance, hash, coordinates), each of a
/// different type, so one type serves every combination; a plain member (no `WITH*`)
/// decodes too.
///
/// ```
/// # use typedis::{Bytes, FromValue, Value};
/// use typedis::reply::GeoMember;
/// let m = GeoMember::from_value(Value::Array(vec![
///     Value::Bulk(Bytes::from("Palermo")),
///     Value::Bulk(Bytes::from("190.4424")),
///     Value::Array(vec![Value::Double(13.36), Value::Double(38.11)]),
/// ]))
/// .unwrap();
/// assert_eq!((m.dist, m.hash, m.coord), (Some(190.4424), None, Some((13.36, 38.11))));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct GeoMember {
    /// The member.
    pub member: Bytes,
    /// Its distance from the center, in the query's unit (`WITHDIST`).
    pub dist: Option<f64>,
    /// Its geohash as an integer (`WITHHASH`).
    pub hash: Option<u64>,
    /// Its longitude and latitude (`WITHCOORD`).
    pub coord: Option<(f64, f64)>,
}

impl FromValue for GeoMember {
    fn from_value(v: Value) -> Result<Self> {
        const WHAT: &str = "a geo member";
        let v = v.into_result()?;
        if !matches!(v, Value::Array(_)) {
            return Ok(GeoMember {
                member: field(WHAT, "member", Some(v))?,
                dist: None,
                hash: None,
                coord: None,
            });
        }
        let mut it = items(v, WHAT, 1)?;
        let mut m = GeoMember {
            member: field(WHAT, "member", it.next())?,
            dist: None,
            hash: None,
            coord: None,
        };
        for extra in it {
            match extra {
                Value::Int(_) => m.hash = field(WHAT, "hash", Some(extra))?,
                Value::Array(_) => m.coord = field(WHAT, "coord", Some(extra))?,
                Value::Bulk(_) | Value::Double(_) => m.dist = field(WHAT, "dist", Some(extra))?,
                other => {
                    return Err(Error::decode(
                        "a geo member's distance, hash or coordinates",
                        describe(&other),
                    ))
                }
            }
        }
        Ok(m)
    }
}

map_record! {
    /// `LCS key1 key2 IDX`: the matches, longest first, and the length of the longest
    /// common subsequence.
    pub struct LcsMatches("LCS IDX") {
        /// The matching ranges.
        pub matches: Vec<LcsMatch> = "matches",
        /// The length of the longest common subsequence.
        pub len: u64 = "len",
    }
}

array_record! {
    /// One match of `LCS … IDX`: where it is in each string (inclusive byte ranges).
    pub struct LcsMatch("an LCS match", at least 2) {
        /// Its range in the first key's string.
        pub key1: (u64, u64),
        /// Its range in the second key's string.
        pub key2: (u64, u64),
        /// Its length (with `WITHMATCHLEN`).
        pub len: Option<u64>,
    }
}
