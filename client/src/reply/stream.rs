//! Stream replies: entries (`XRANGE`, `XREAD`, `XCLAIM`, …), `XPENDING`, `XAUTOCLAIM`
//! and `XINFO`.

use bytes::Bytes;

use super::{array_record, field, items, map_record};
use crate::error::Result;
use crate::value::{FromValue, Value};

/// One stream entry: its ID and its fields.
///
/// `F` is what the fields decode into: by default the field/value pairs in stream order
/// (a stream entry may repeat a field); any map type, or a `#[derive(Record)]` struct,
/// works too: `.decode::<Vec<StreamEntry<HashMap<String, String>>>>()`. An entry deleted
/// while pending (what `XREADGROUP` reads from a consumer's history) has no fields: an
/// empty list or map, or `None` with `F = Option<…>`.
///
/// ```
/// # use typedis::{Bytes, FromValue, Value};
/// use typedis::reply::StreamEntry;
/// let bulk = |s: &'static str| Value::Bulk(Bytes::from_static(s.as_bytes()));
/// let e = StreamEntry::<Vec<(Bytes, Bytes)>>::from_value(Value::Array(vec![
///     bulk("1-1"),
///     Value::Array(vec![bulk("temp"), bulk("21")]),
/// ]))
/// .unwrap();
/// assert_eq!(e.id, "1-1");
/// assert_eq!(e.get("temp").map(|v| &v[..]), Some(&b"21"[..]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct StreamEntry<F = Vec<(Bytes, Bytes)>> {
    /// The entry ID, `<milliseconds>-<sequence>`.
    pub id: Bytes,
    /// The fields.
    pub fields: F,
}

impl StreamEntry {
    /// The value of the first field named `name`.
    pub fn get(&self, name: impl AsRef<[u8]>) -> Option<&Bytes> {
        let name = name.as_ref();
        self.fields
            .iter()
            .find(|(k, _)| &k[..] == name)
            .map(|(_, v)| v)
    }
}

impl<F: FromValue> FromValue for StreamEntry<F> {
    fn from_value(v: Value) -> Result<Self> {
        const WHAT: &str = "a stream entry";
        let mut it = items(v, WHAT, 1)?;
        Ok(StreamEntry {
            id: field(WHAT, "id", it.next())?,
            fields: field(WHAT, "fields", it.next())?,
        })
    }
}

array_record! {
    /// `XPENDING key group` without a range: the group's pending entries in summary.
    pub struct XPendingSummary("the XPENDING summary", at least 4) {
        /// Entries delivered and not acknowledged.
        pub count: u64,
        /// The smallest pending ID (`None` when nothing is pending).
        pub min_id: Option<Bytes>,
        /// The greatest pending ID.
        pub max_id: Option<Bytes>,
        /// Each consumer with pending entries, and how many.
        pub consumers: Vec<(Bytes, u64)>,
    }
}

array_record! {
    /// One pending entry, from `XPENDING key group [IDLE ms] start end count [consumer]`.
    pub struct XPendingEntry("an XPENDING entry", at least 4) {
        /// The entry ID.
        pub id: Bytes,
        /// The consumer it was delivered to.
        pub consumer: Bytes,
        /// Milliseconds since it was last delivered.
        pub idle_ms: u64,
        /// How many times it was delivered.
        pub deliveries: u64,
    }
}

/// `XAUTOCLAIM`: the entries claimed, where to continue, and the IDs that no longer
/// exist (deleted while pending, removed from the pending list).
///
/// `E` is a claimed entry: a [`StreamEntry`], or its ID (`Bytes`) with `JUSTID`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct XAutoClaim<E = StreamEntry> {
    /// The start ID of the next call; `0-0` when the whole pending list was scanned.
    pub next: Bytes,
    /// The entries claimed.
    pub claimed: Vec<E>,
    /// IDs that were pending but are no longer in the stream (Redis ≥ 7.0).
    pub deleted: Vec<Bytes>,
}

impl<E: FromValue> FromValue for XAutoClaim<E> {
    fn from_value(v: Value) -> Result<Self> {
        const WHAT: &str = "the XAUTOCLAIM reply";
        let mut it = items(v, WHAT, 2)?;
        Ok(XAutoClaim {
            next: field(WHAT, "next", it.next())?,
            claimed: field(WHAT, "claimed", it.next())?,
            deleted: field(WHAT, "deleted", it.next())?,
        })
    }
}

map_record! {
    /// `XINFO STREAM key`.
    pub struct XInfoStream("XINFO STREAM") {
        /// Entries in the stream.
        pub length: u64 = "length",
        /// Keys in the stream's radix tree.
        pub radix_tree_keys: u64 = "radix-tree-keys",
        /// Nodes in the stream's radix tree.
        pub radix_tree_nodes: u64 = "radix-tree-nodes",
        /// The ID of the last entry added.
        pub last_generated_id: Bytes = "last-generated-id",
        /// The greatest ID deleted (Redis ≥ 7.0).
        pub max_deleted_entry_id: Option<Bytes> = "max-deleted-entry-id",
        /// Entries ever added (Redis ≥ 7.0).
        pub entries_added: Option<u64> = "entries-added",
        /// The first entry's ID as recorded (Redis ≥ 7.0).
        pub recorded_first_entry_id: Option<Bytes> = "recorded-first-entry-id",
        /// Consumer groups.
        pub groups: u64 = "groups",
        /// The first entry (`None` when the stream is empty).
        pub first_entry: Option<StreamEntry> = "first-entry",
        /// The last entry.
        pub last_entry: Option<StreamEntry> = "last-entry",
    }
}

map_record! {
    /// `XINFO STREAM key FULL [COUNT n]`.
    pub struct XInfoStreamFull("XINFO STREAM FULL") {
        /// Entries in the stream.
        pub length: u64 = "length",
        /// Keys in the stream's radix tree.
        pub radix_tree_keys: u64 = "radix-tree-keys",
        /// Nodes in the stream's radix tree.
        pub radix_tree_nodes: u64 = "radix-tree-nodes",
        /// The ID of the last entry added.
        pub last_generated_id: Bytes = "last-generated-id",
        /// The greatest ID deleted (Redis ≥ 7.0).
        pub max_deleted_entry_id: Option<Bytes> = "max-deleted-entry-id",
        /// Entries ever added (Redis ≥ 7.0).
        pub entries_added: Option<u64> = "entries-added",
        /// The first entry's ID as recorded (Redis ≥ 7.0).
        pub recorded_first_entry_id: Option<Bytes> = "recorded-first-entry-id",
        /// The entries, oldest first (at most `COUNT`, 10 by default).
        pub entries: Vec<StreamEntry> = "entries",
        /// The consumer groups.
        pub groups: Vec<XInfoStreamGroup> = "groups",
    }
}

map_record! {
    /// A consumer group in `XINFO STREAM … FULL`.
    pub struct XInfoStreamGroup("a group of XINFO STREAM FULL") {
        /// The group's name.
        pub name: Bytes = "name",
        /// The last ID delivered to the group.
        pub last_delivered_id: Bytes = "last-delivered-id",
        /// The logical read counter (Redis ≥ 7.0; `None` when unknown).
        pub entries_read: Option<u64> = "entries-read",
        /// Entries not yet delivered (`None` when it cannot be known).
        pub lag: Option<u64> = "lag",
        /// Entries pending in the group.
        pub pel_count: u64 = "pel-count",
        /// The pending entries.
        pub pending: Vec<XInfoPending> = "pending",
        /// The group's consumers.
        pub consumers: Vec<XInfoStreamConsumer> = "consumers",
    }
}

array_record! {
    /// A pending entry of a group in `XINFO STREAM … FULL`.
    pub struct XInfoPending("a pending entry of XINFO STREAM FULL", at least 4) {
        /// The entry ID.
        pub id: Bytes,
        /// The consumer it was delivered to.
        pub consumer: Bytes,
        /// When it was last delivered (Unix time, milliseconds).
        pub delivery_time_ms: u64,
        /// How many times it was delivered.
        pub deliveries: u64,
    }
}

map_record! {
    /// A consumer in `XINFO STREAM … FULL`.
    pub struct XInfoStreamConsumer("a consumer of XINFO STREAM FULL") {
        /// The consumer's name.
        pub name: Bytes = "name",
        /// When it last tried to read (Unix time, milliseconds).
        pub seen_time_ms: u64 = "seen-time",
        /// When it last read something (Unix time, milliseconds; Redis ≥ 7.2).
        pub active_time_ms: Option<i64> = "active-time",
        /// Entries pending for it.
        pub pel_count: u64 = "pel-count",
        /// Its pending entries.
        pub pending: Vec<XInfoConsumerPending> = "pending",
    }
}

array_record! {
    /// A pending entry of a consumer in `XINFO STREAM … FULL`.
    pub struct XInfoConsumerPending("a consumer's pending entry of XINFO STREAM FULL", at least 3) {
        /// The entry ID.
        pub id: Bytes,
        /// When it was last delivered (Unix time, milliseconds).
        pub delivery_time_ms: u64,
        /// How many times it was delivered.
        pub deliveries: u64,
    }
}

map_record! {
    /// One consumer group, from `XINFO GROUPS key`.
    pub struct XInfoGroup("an XINFO GROUPS entry") {
        /// The group's name.
        pub name: Bytes = "name",
        /// Consumers in the group.
        pub consumers: u64 = "consumers",
        /// Entries delivered and not acknowledged.
        pub pending: u64 = "pending",
        /// The last ID delivered to the group.
        pub last_delivered_id: Bytes = "last-delivered-id",
        /// The logical read counter (Redis ≥ 7.0; `None` when unknown).
        pub entries_read: Option<u64> = "entries-read",
        /// Entries not yet delivered (Redis ≥ 7.0; `None` when it cannot be known).
        pub lag: Option<u64> = "lag",
    }
}

map_record! {
    /// One consumer, from `XINFO CONSUMERS key group`.
    pub struct XInfoConsumer("an XINFO CONSUMERS entry") {
        /// The consumer's name.
        pub name: Bytes = "name",
        /// Entries pending for it.
        pub pending: u64 = "pending",
        /// Milliseconds since it last tried to read.
        pub idle_ms: u64 = "idle",
        /// Milliseconds since it last read something (Redis ≥ 7.2; -1 if never).
        pub inactive_ms: Option<i64> = "inactive",
    }
}
