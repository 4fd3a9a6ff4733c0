//! Stream replies through the typed API: entries, reads (with their timeouts and
//! deleted entries), pending lists, claims and `XINFO`.

use std::collections::HashMap;

use typedis::prelude::*;
use typedis::reply::{StreamEntry, XAutoClaim};
use typedis::{Bytes, Client};

use crate::support::Kind;
use crate::Targets;

/// `XADD` through the raw path (its ID is becoming a required typed parameter).
async fn xadd(c: &Client, key: &str, id: &str, fields: &[&str]) {
    c.cmd("XADD").arg(key).arg(id).args(fields).await.unwrap();
}

/// `XGROUP CREATE key name 0` through the raw path (its ID is becoming a required typed
/// parameter).
async fn group(c: &Client, key: &str, name: &str) {
    c.cmd("XGROUP")
        .args(["CREATE", key, name, "0"])
        .await
        .unwrap();
}

/// What `XREAD`/`XREADGROUP` answer: each stream's entries, with fields of type `F`.
type Read<F> = HashMap<Bytes, Vec<StreamEntry<F>>>;

fn pairs(fields: &[(&str, &str)]) -> Vec<(Bytes, Bytes)> {
    fields
        .iter()
        .map(|(k, v)| {
            (
                Bytes::copy_from_slice(k.as_bytes()),
                Bytes::copy_from_slice(v.as_bytes()),
            )
        })
        .collect()
}

#[tokio::test]
async fn entries_and_reads() {
    let t = Targets::start(&[]).await;
    for (_, at, c) in &t.clients {
        c.flushall().await.unwrap();
        xadd(c, "s", "1-1", &["temp", "21", "unit", "c"]).await;
        xadd(c, "s", "2-1", &["temp", "22"]).await;
        xadd(c, "t", "5-0", &["k", "v"]).await;
        let all: Vec<StreamEntry> = c.xrange("s", "-", "+").await.unwrap();
        assert_eq!(all.len(), 2, "{at}");
        assert_eq!(all[0].id, "1-1", "{at}");
        assert_eq!(
            all[0].fields,
            pairs(&[("temp", "21"), ("unit", "c")]),
            "{at}"
        );
        assert_eq!(all[0].get("unit").map(|v| &v[..]), Some(&b"c"[..]), "{at}");
        let back = c.xrevrange("s", "+", "-").count(1).await.unwrap();
        assert_eq!(back[0].id, "2-1", "{at}");
        // Re-targeted: fields as a map.
        let as_maps: Vec<StreamEntry<HashMap<String, String>>> =
            c.xrange("s", "-", "+").decode().await.unwrap();
        assert_eq!(as_maps[1].fields["temp"], "22", "{at}");

        let read = c
            .xread((["s", "t"], ["0", "0"]))
            .await
            .unwrap()
            .expect("entries");
        assert_eq!(read.len(), 2, "{at}");
        assert_eq!(read[&b"s"[..]].len(), 2, "{at}");
        assert_eq!(read[&b"t"[..]][0].fields, pairs(&[("k", "v")]), "{at}");
        let one = c.xread((["s"], ["0"])).count(1).await.unwrap().unwrap();
        assert_eq!(one[&b"s"[..]].len(), 1, "{at}");
        // Nothing new: nil, also after a BLOCK that times out (on a dedicated connection).
        assert_eq!(c.xread((["s"], ["$"])).await.unwrap(), None, "{at}");
        let timed_out = c.xread((["s"], ["$"])).block(50).await.unwrap();
        assert_eq!(timed_out, None, "{at}");
        assert_eq!(c.xread((["nokey"], ["0"])).await.unwrap(), None, "{at}");

        group(c, "s", "g").await;
        let got = c
            .xreadgroup(("g", "alice"), (["s"], [">"]))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got[&b"s"[..]].len(), 2, "{at}");
        // An entry deleted while pending is read back from the history without fields.
        c.xdel("s", ["1-1"]).await.unwrap();
        let history = c
            .xreadgroup(("g", "alice"), (["s"], ["0"]))
            .await
            .unwrap()
            .unwrap();
        let history = &history[&b"s"[..]];
        assert_eq!(history[0].id, "1-1", "{at}");
        assert!(history[0].fields.is_empty(), "{at}: {history:?}");
        assert_eq!(history[1].fields, pairs(&[("temp", "22")]), "{at}");
        // Re-targeted: a deleted entry's fields as `None`.
        let deleted: Option<Read<Option<Vec<Bytes>>>> = c
            .xreadgroup(("g", "alice"), (["s"], ["0"]))
            .decode()
            .await
            .unwrap();
        assert_eq!(deleted.unwrap()[&b"s"[..]][0].fields, None, "{at}");
        let none = c
            .xreadgroup(("g", "bob"), (["s"], [">"]))
            .block(50)
            .await
            .unwrap();
        assert_eq!(none, None, "{at}");
    }
}

#[tokio::test]
async fn pending_claims_and_autoclaims() {
    let t = Targets::start(&[]).await;
    for (_, at, c) in &t.clients {
        c.flushall().await.unwrap();
        for id in ["1-1", "2-1", "3-1"] {
            xadd(c, "s", id, &["n", id]).await;
        }
        group(c, "s", "g").await;
        // Nothing pending: a zero count and no IDs.
        let empty = c.xpending("s", "g").await.unwrap();
        assert_eq!(
            (
                empty.count,
                empty.min_id,
                empty.max_id,
                empty.consumers.len()
            ),
            (0, None, None, 0),
            "{at}"
        );
        c.xreadgroup(("g", "alice"), (["s"], [">"]))
            .count(2)
            .await
            .unwrap();
        c.xreadgroup(("g", "bob"), (["s"], [">"])).await.unwrap();
        let summary = c.xpending("s", "g").await.unwrap();
        assert_eq!(summary.count, 3, "{at}");
        assert_eq!(summary.min_id.as_deref(), Some(&b"1-1"[..]), "{at}");
        assert_eq!(summary.max_id.as_deref(), Some(&b"3-1"[..]), "{at}");
        let mut consumers = summary.consumers.clone();
        consumers.sort();
        assert_eq!(
            consumers,
            vec![(Bytes::from("alice"), 2), (Bytes::from("bob"), 1)],
            "{at}"
        );
        let entries = c
            .xpending("s", "g")
            .filters((None, "-", "+", 10, None::<&str>))
            .await
            .unwrap();
        assert_eq!(entries.len(), 3, "{at}");
        assert_eq!(
            (&entries[0].id[..], &entries[0].consumer[..]),
            (&b"1-1"[..], &b"alice"[..]),
            "{at}"
        );
        assert_eq!(entries[0].deliveries, 1, "{at}");
        let bobs = c
            .xpending("s", "g")
            .filters((Some(0), "-", "+", 10, Some("bob")))
            .await
            .unwrap();
        assert_eq!(bobs.len(), 1, "{at}");
        assert_eq!(bobs[0].id, "3-1", "{at}");

        let claimed = c.xclaim("s", "g", "carol", "0", ["1-1"]).await.unwrap();
        assert_eq!(claimed[0].id, "1-1", "{at}");
        assert_eq!(claimed[0].fields, pairs(&[("n", "1-1")]), "{at}");
        let ids: Vec<Bytes> = c
            .xclaim("s", "g", "carol", "0", ["2-1", "9-9"])
            .justid()
            .await
            .unwrap();
        assert_eq!(ids, vec![Bytes::from("2-1")], "{at}");

        // XAUTOCLAIM reports entries deleted while pending (Redis ≥ 7.0).
        c.xdel("s", ["3-1"]).await.unwrap();
        let auto: XAutoClaim = c
            .xautoclaim("s", "g", "dave", "0", "0")
            .count(1)
            .await
            .unwrap();
        assert_eq!(auto.claimed.len(), 1, "{at}");
        assert_eq!(auto.claimed[0].id, "1-1", "{at}");
        assert_eq!(auto.next, "2-1", "{at}: where the next call starts");
        let auto: XAutoClaim<Bytes> = c
            .xautoclaim("s", "g", "dave", "0", "0")
            .justid()
            .await
            .unwrap();
        assert_eq!(
            auto.claimed,
            vec![Bytes::from("1-1"), Bytes::from("2-1")],
            "{at}"
        );
        assert_eq!(auto.deleted, vec![Bytes::from("3-1")], "{at}");
        assert_eq!(auto.next, "0-0", "{at}");
    }
}

#[tokio::test]
async fn xinfo_stream_groups_and_consumers() {
    let t = Targets::start(&[]).await;
    for (kind, at, c) in &t.clients {
        c.flushall().await.unwrap();
        // An empty stream has no first or last entry.
        xadd(c, "e", "1-1", &["a", "b"]).await;
        c.xdel("e", ["1-1"]).await.unwrap();
        let info = c.xinfo_stream("e").await.unwrap();
        assert_eq!(
            (info.length, info.first_entry, info.last_entry),
            (0, None, None),
            "{at}"
        );
        assert_eq!(
            info.max_deleted_entry_id.as_deref(),
            Some(&b"1-1"[..]),
            "{at}"
        );

        xadd(c, "s", "1-1", &["a", "1"]).await;
        xadd(c, "s", "2-1", &["b", "2"]).await;
        group(c, "s", "g").await;
        c.xreadgroup(("g", "alice"), (["s"], [">"]))
            .count(1)
            .await
            .unwrap();
        let info = c.xinfo_stream("s").await.unwrap();
        assert_eq!(info.length, 2, "{at}");
        assert_eq!(info.groups, 1, "{at}");
        assert_eq!(info.last_generated_id, "2-1", "{at}");
        assert_eq!(info.entries_added, Some(2), "{at}");
        assert_eq!(info.first_entry.unwrap().id, "1-1", "{at}");
        assert_eq!(
            info.last_entry.unwrap().fields,
            pairs(&[("b", "2")]),
            "{at}"
        );

        let full = c.xinfo_stream("s").full().await.unwrap();
        assert_eq!(full.entries.len(), 2, "{at}");
        let g = &full.groups[0];
        assert_eq!(
            (&g.name[..], g.pel_count, g.entries_read, g.lag),
            (&b"g"[..], 1, Some(1), Some(1)),
            "{at}"
        );
        assert_eq!(g.pending[0].id, "1-1", "{at}");
        assert_eq!(g.pending[0].consumer, "alice", "{at}");
        assert_eq!(g.pending[0].deliveries, 1, "{at}");
        let alice = &g.consumers[0];
        assert_eq!(
            (&alice.name[..], alice.pel_count),
            (&b"alice"[..], 1),
            "{at}"
        );
        assert_eq!(alice.pending[0].id, "1-1", "{at}");
        assert!(alice.seen_time_ms > 1_600_000_000_000, "{at}");
        // Valkey 9.1 (Redis 7.2+) reports when a consumer last read something.
        assert_eq!(
            alice.active_time_ms.is_some(),
            *kind == Kind::Valkey,
            "{at}"
        );
        let limited = c.xinfo_stream("s").full_count(1).await.unwrap();
        assert_eq!(limited.entries.len(), 1, "{at}");

        let groups = c.xinfo_groups("s").await.unwrap();
        assert_eq!(groups.len(), 1, "{at}");
        assert_eq!((groups[0].consumers, groups[0].pending), (1, 1), "{at}");
        assert_eq!(groups[0].last_delivered_id, "1-1", "{at}");
        assert_eq!(groups[0].lag, Some(1), "{at}");
        let consumers = c.xinfo_consumers("s", "g").await.unwrap();
        assert_eq!(consumers[0].name, "alice", "{at}");
        assert_eq!(consumers[0].pending, 1, "{at}");
        assert_eq!(
            consumers[0].inactive_ms.is_some(),
            *kind == Kind::Valkey,
            "{at}"
        );
        assert_eq!(
            c.xgroup_delconsumer("s", "g", "alice").await.unwrap(),
            1,
            "{at}"
        );
    }
}
