//! Replies that are text made of fields: `INFO` (and `CLUSTER INFO`), `CLIENT LIST` and
//! `CLIENT INFO`.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::text;
use crate::error::{Error, Result};
use crate::value::{FromValue, Value};

/// `INFO`: sections of `field:value` lines.
///
/// Sections are found by name case-insensitively (`server`, `Keyspace`); lines outside
/// any section (`CLUSTER INFO` has no headings) are in the section `""`. Values are the
/// server's text: parse them with [`Info::parse`].
///
/// ```
/// # use typedis::{Bytes, FromValue, Value};
/// use typedis::reply::Info;
/// let text = "# Server\r\nredis_version:7.0.15\r\nprocess_id:42\r\n\r\n# Keyspace\r\ndb0:keys=1,expires=0\r\n";
/// let info = Info::from_value(Value::Bulk(Bytes::from(text))).unwrap();
/// assert_eq!(info.get("redis_version"), Some("7.0.15"));
/// assert_eq!(info.parse::<u32>("process_id"), Some(42));
/// assert_eq!(info.section("keyspace").unwrap()["db0"], "keys=1,expires=0");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Info {
    /// Each section's fields, by the section's name in lower case.
    pub sections: BTreeMap<String, BTreeMap<String, String>>,
}

impl Info {
    /// The fields of section `name` (any case).
    pub fn section(&self, name: &str) -> Option<&BTreeMap<String, String>> {
        self.sections.get(&name.to_ascii_lowercase())
    }

    /// The value of `field`, in whichever section has it.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.sections
            .values()
            .find_map(|s| s.get(field))
            .map(String::as_str)
    }

    /// The value of `field`, parsed (`None` when absent or not a `T`).
    pub fn parse<T: std::str::FromStr>(&self, field: &str) -> Option<T> {
        self.get(field)?.parse().ok()
    }
}

impl FromValue for Info {
    fn from_value(v: Value) -> Result<Self> {
        let body = text(v, "INFO")?;
        let body = String::from_utf8_lossy(&body);
        let mut info = Info::default();
        let mut section = String::new();
        for line in body.lines() {
            let line = line.trim_end_matches('\r');
            if let Some(name) = line.strip_prefix('#') {
                section = name.trim().to_ascii_lowercase();
                info.sections.entry(section.clone()).or_default();
            } else if let Some((k, v)) = line.split_once(':') {
                info.sections
                    .entry(section.clone())
                    .or_default()
                    .insert(k.to_owned(), v.to_owned());
            }
        }
        Ok(info)
    }
}

/// One client, from `CLIENT INFO` or a line of `CLIENT LIST` (`Vec<ClientInfo>`).
///
/// The fields every supported server sends are typed; every field, those of newer
/// servers too, is available by name with [`ClientInfo::get`].
///
/// ```
/// # use typedis::{Bytes, FromValue, Value};
/// use typedis::reply::ClientInfo;
/// let line = "id=7 addr=127.0.0.1:5000 laddr=127.0.0.1:6379 fd=8 name=worker age=3 idle=0 flags=N db=0 sub=0 psub=0 multi=-1 qbuf=0 obl=0 oll=0 omem=0 events=r cmd=client|list user=default redir=-1 resp=3 lib-name=typedis\n";
/// let all = Vec::<ClientInfo>::from_value(Value::Bulk(Bytes::from(line))).unwrap();
/// assert_eq!((all[0].id, &all[0].name[..], all[0].resp), (7, &b"worker"[..], Some(3)));
/// assert_eq!(all[0].get("lib-name"), Some("typedis"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientInfo {
    /// The client's ID.
    pub id: u64,
    /// Its address, `ip:port`.
    pub addr: String,
    /// The server's address it connected to (Redis ≥ 6.2).
    pub laddr: Option<String>,
    /// Its file descriptor (-1 for internal clients).
    pub fd: i64,
    /// Its name (empty when not set).
    pub name: Bytes,
    /// Seconds since it connected.
    pub age: u64,
    /// Seconds since its last command.
    pub idle: u64,
    /// Its flags (`N`: none, `M`: a primary, `S`: a replica, `P`: PubSub, `x`: in MULTI, …).
    pub flags: String,
    /// Its database.
    pub db: i64,
    /// Its channel subscriptions.
    pub sub: u64,
    /// Its pattern subscriptions.
    pub psub: u64,
    /// Its shard channel subscriptions (Redis ≥ 7.0.3).
    pub ssub: Option<u64>,
    /// Commands queued in MULTI (-1 outside MULTI).
    pub multi: i64,
    /// Keys watched (Redis ≥ 7.4, Valkey ≥ 8.0).
    pub watch: Option<u64>,
    /// Its last command.
    pub cmd: String,
    /// Its ACL user.
    pub user: Bytes,
    /// The client invalidations are redirected to (-1: none).
    pub redir: Option<i64>,
    /// Its protocol, 2 or 3 (Redis ≥ 7.0).
    pub resp: Option<u8>,
    /// Its library's name, from `CLIENT SETINFO` (Redis ≥ 7.2).
    pub lib_name: Option<Bytes>,
    /// Its library's version (Redis ≥ 7.2).
    pub lib_ver: Option<Bytes>,
    /// Every field as sent, in order.
    pub fields: Vec<(String, String)>,
}

impl ClientInfo {
    /// The value of field `name` as sent (`"tot-mem"`, `"events"`, …).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Parses one `CLIENT LIST` line.
    fn parse(line: &str) -> Result<ClientInfo> {
        let fields: Vec<(String, String)> = line
            .split(' ')
            .filter(|f| !f.is_empty())
            .filter_map(|f| f.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let need = |k: &'static str| {
            get(k).ok_or_else(|| {
                Error::decode(format!("a CLIENT LIST line with `{k}=`"), preview(line))
            })
        };
        fn num<T: std::str::FromStr>(k: &str, v: &str, line: &str) -> Result<T> {
            v.parse().map_err(|_| {
                Error::decode(
                    format!("a number in `{k}=` of a CLIENT LIST line"),
                    preview(line),
                )
            })
        }
        fn opt<T: std::str::FromStr>(k: &str, v: Option<&str>, line: &str) -> Result<Option<T>> {
            v.map(|v| num(k, v, line)).transpose()
        }
        let bytes = |k: &'static str| get(k).map(|v| Bytes::copy_from_slice(v.as_bytes()));
        Ok(ClientInfo {
            id: num("id", need("id")?, line)?,
            addr: need("addr")?.to_owned(),
            laddr: get("laddr").map(str::to_owned),
            fd: num("fd", need("fd")?, line)?,
            name: bytes("name").unwrap_or_default(),
            age: num("age", need("age")?, line)?,
            idle: num("idle", need("idle")?, line)?,
            flags: need("flags")?.to_owned(),
            db: num("db", need("db")?, line)?,
            sub: num("sub", need("sub")?, line)?,
            psub: num("psub", need("psub")?, line)?,
            ssub: opt("ssub", get("ssub"), line)?,
            multi: num("multi", need("multi")?, line)?,
            watch: opt("watch", get("watch"), line)?,
            cmd: need("cmd")?.to_owned(),
            user: bytes("user").unwrap_or_default(),
            redir: opt("redir", get("redir"), line)?,
            resp: opt("resp", get("resp"), line)?,
            lib_name: bytes("lib-name"),
            lib_ver: bytes("lib-ver"),
            fields,
        })
    }
}

/// The start of a line, for error messages.
fn preview(line: &str) -> String {
    let cut: String = line.chars().take(60).collect();
    if cut.len() < line.len() {
        format!("{cut:?}…")
    } else {
        format!("{cut:?}")
    }
}

impl FromValue for ClientInfo {
    fn from_value(v: Value) -> Result<Self> {
        let body = text(v, "CLIENT INFO")?;
        let body = String::from_utf8_lossy(&body);
        let mut lines = body.lines().filter(|l| !l.trim().is_empty());
        match (lines.next(), lines.next()) {
            (Some(line), None) => ClientInfo::parse(line.trim_end_matches('\r')),
            (None, _) => Err(Error::decode("a CLIENT INFO line", "empty text")),
            (Some(_), Some(_)) => Err(Error::decode(
                "one CLIENT INFO line (decode CLIENT LIST as Vec<ClientInfo>)",
                "several lines",
            )),
        }
    }

    /// `CLIENT LIST`: one client per line.
    fn from_byte_string(bytes: Bytes) -> Option<Result<Vec<Self>>> {
        let body = String::from_utf8_lossy(&bytes);
        Some(
            body.lines()
                .map(|l| l.trim_end_matches('\r'))
                .filter(|l| !l.trim().is_empty())
                .map(ClientInfo::parse)
                .collect(),
        )
    }
}
