//! The records from hand-made replies in both protocols' shapes, with the servers'
//! variations (older and newer fields, nil members) and malformed input.

use std::collections::HashMap;

use bytes::Bytes;

use super::*;
use crate::value::{FromValue, Value};

fn bulk(s: &str) -> Value {
    Value::Bulk(Bytes::copy_from_slice(s.as_bytes()))
}

fn arr(items: Vec<Value>) -> Value {
    Value::Array(items)
}

/// The RESP3 map and the RESP2 flat array of the same entries.
fn both(entries: Vec<(&str, Value)>) -> [Value; 2] {
    let map = Value::Map(entries.iter().map(|(k, v)| (bulk(k), v.clone())).collect());
    let flat = arr(entries
        .into_iter()
        .flat_map(|(k, v)| [bulk(k), v])
        .collect());
    [map, flat]
}

fn entry(id: &str, fields: &[&str]) -> Value {
    arr(vec![
        bulk(id),
        arr(fields.iter().map(|f| bulk(f)).collect()),
    ])
}

#[test]
fn stream_entries_and_reads_in_both_shapes() {
    let e = StreamEntry::<Vec<(Bytes, Bytes)>>::from_value(entry("1-1", &["a", "1", "a", "2"]))
        .unwrap();
    assert_eq!(e.fields.len(), 2, "a repeated field is kept");
    assert_eq!(e.get("a").unwrap(), "1");
    // A deleted entry (XREADGROUP history): nil fields.
    let deleted = arr(vec![bulk("2-1"), Value::Nil]);
    let d = StreamEntry::<Vec<(Bytes, Bytes)>>::from_value(deleted.clone()).unwrap();
    assert!(d.fields.is_empty());
    let d = StreamEntry::<Option<HashMap<String, String>>>::from_value(deleted).unwrap();
    assert_eq!(d.fields, None);
    // XREAD: a RESP3 map, or a RESP2 array of [key, entries] pairs; one stream or two.
    type Read = HashMap<Bytes, Vec<StreamEntry>>;
    let resp3 = Value::Map(vec![(bulk("s"), arr(vec![entry("1-1", &["f", "v"])]))]);
    let resp2 = arr(vec![arr(vec![
        bulk("s"),
        arr(vec![entry("1-1", &["f", "v"])]),
    ])]);
    assert_eq!(
        Read::from_value(resp3).unwrap(),
        Read::from_value(resp2).unwrap()
    );
    let two = arr(vec![
        arr(vec![bulk("a"), arr(vec![entry("1-1", &[])])]),
        arr(vec![bulk("b"), arr(vec![])]),
    ]);
    let two = Read::from_value(two).unwrap();
    assert_eq!((two[&b"a"[..]].len(), two[&b"b"[..]].len()), (1, 0));
    assert_eq!(Option::<Read>::from_value(Value::Nil).unwrap(), None);
    // A flat RESP2 map still reads as one.
    let flat = HashMap::<String, String>::from_value(arr(vec![bulk("k"), bulk("v")])).unwrap();
    assert_eq!(flat["k"], "v");
}

#[test]
fn pending_and_autoclaim() {
    let empty = arr(vec![Value::Int(0), Value::Nil, Value::Nil, Value::Nil]);
    let s = XPendingSummary::from_value(empty).unwrap();
    assert_eq!((s.count, s.min_id, s.consumers.len()), (0, None, 0));
    let s = XPendingSummary::from_value(arr(vec![
        Value::Int(3),
        bulk("1-1"),
        bulk("3-1"),
        arr(vec![arr(vec![bulk("alice"), bulk("3")])]),
    ]))
    .unwrap();
    assert_eq!(s.consumers, vec![(Bytes::from("alice"), 3)]);
    // Redis 6.2 sends two elements, 7.0 three.
    let old = arr(vec![bulk("0-0"), arr(vec![entry("1-1", &["f", "v"])])]);
    let a = XAutoClaim::<StreamEntry>::from_value(old).unwrap();
    assert_eq!((a.claimed.len(), a.deleted.len()), (1, 0));
    let ids = arr(vec![
        bulk("0-0"),
        arr(vec![bulk("1-1")]),
        arr(vec![bulk("2-1")]),
    ]);
    let a = XAutoClaim::<Bytes>::from_value(ids).unwrap();
    assert_eq!(
        (a.claimed, a.deleted),
        (vec![Bytes::from("1-1")], vec![Bytes::from("2-1")])
    );
    let e =
        XPendingEntry::from_value(arr(vec![bulk("1-1"), bulk("c"), Value::Int(5)])).unwrap_err();
    assert!(e.to_string().contains("at least 4"), "{e}");
}

#[test]
fn map_records_skip_unknown_fields_and_name_missing_ones() {
    for v in both(vec![
        ("name", bulk("c")),
        ("pending", Value::Int(1)),
        ("idle", Value::Int(9)),
        ("a-field-of-tomorrow", arr(vec![])),
    ]) {
        let c = XInfoConsumer::from_value(v).unwrap();
        assert_eq!((c.pending, c.idle_ms, c.inactive_ms), (1, 9, None));
    }
    let [map, _] = both(vec![("name", bulk("c"))]);
    let e = XInfoConsumer::from_value(map).unwrap_err().to_string();
    assert!(e.contains("with a `pending` field"), "{e}");
    let e = XInfoConsumer::from_value(Value::Int(3))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("XINFO CONSUMERS entry (a map)") && e.contains("integer 3"),
        "{e}"
    );
    let e = XInfoConsumer::from_value(arr(vec![bulk("name")]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("odd length"), "{e}");
    // Nested errors say where they are.
    let [full, _] = both(vec![
        ("length", Value::Int(0)),
        ("radix-tree-keys", Value::Int(0)),
        ("radix-tree-nodes", Value::Int(0)),
        ("last-generated-id", bulk("0-0")),
        ("entries", arr(vec![])),
        (
            "groups",
            arr(vec![Value::Map(vec![
                (bulk("name"), bulk("g")),
                (bulk("last-delivered-id"), bulk("0-0")),
                (bulk("pel-count"), bulk("x")),
            ])]),
        ),
    ]);
    let e = XInfoStreamFull::from_value(full).unwrap_err().to_string();
    assert!(
        e.contains(
            "in `pel-count` of a group of XINFO STREAM FULL in `groups` of XINFO STREAM FULL"
        ),
        "{e}"
    );
}

#[test]
fn roles() {
    let master = arr(vec![
        bulk("master"),
        Value::Int(42),
        arr(vec![arr(vec![bulk("127.0.0.1"), bulk("6380"), bulk("40")])]),
    ]);
    let Role::Master { offset, replicas } = Role::from_value(master).unwrap() else {
        panic!("a master")
    };
    assert_eq!(
        (offset, replicas[0].port, replicas[0].offset),
        (42, 6380, 40)
    );
    let replica = arr(vec![
        bulk("slave"),
        bulk("127.0.0.1"),
        Value::Int(6379),
        bulk("connected"),
        Value::Int(-1),
    ]);
    assert!(matches!(
        Role::from_value(replica).unwrap(),
        Role::Replica {
            master_port: 6379,
            offset: -1,
            ..
        }
    ));
    let sentinel = arr(vec![bulk("sentinel"), arr(vec![bulk("mymaster")])]);
    assert_eq!(
        Role::from_value(sentinel).unwrap(),
        Role::Sentinel {
            masters: vec![Bytes::from("mymaster")]
        }
    );
    let e = Role::from_value(arr(vec![bulk("observer")]))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("master, slave or sentinel") && e.contains("observer"),
        "{e}"
    );
}

#[test]
fn geo_members_by_the_type_of_each_extra() {
    let m = GeoMember::from_value(arr(vec![
        bulk("x"),
        bulk("1.5"),
        Value::Int(7),
        arr(vec![bulk("13.3"), bulk("38.1")]),
    ]))
    .unwrap();
    assert_eq!(
        (m.dist, m.hash, m.coord),
        (Some(1.5), Some(7), Some((13.3, 38.1)))
    );
    let m = GeoMember::from_value(bulk("plain")).unwrap();
    assert_eq!((m.member, m.dist), (Bytes::from("plain"), None));
    assert!(GeoMember::from_value(arr(vec![bulk("x"), Value::Nil])).is_err());
}

#[test]
fn cluster_slots_and_slot_nodes() {
    let node = |port: i64, meta: Option<Value>| {
        let mut n = vec![bulk("127.0.0.1"), Value::Int(port), bulk("abc")];
        n.extend(meta);
        arr(n)
    };
    let range = arr(vec![
        Value::Int(0),
        Value::Int(5460),
        node(7000, Some(Value::Map(vec![(bulk("hostname"), bulk("h0"))]))),
        node(7003, Some(arr(vec![bulk("ip"), bulk("10.0.0.3")]))),
        node(7004, None),
    ]);
    let r = SlotRange::from_value(range).unwrap();
    assert_eq!((r.start, r.end, r.primary.port), (0, 5460, 7000));
    assert_eq!(r.primary.hostname.as_deref(), Some("h0"));
    assert_eq!(r.replicas.len(), 2);
    assert_eq!(r.replicas[0].ip.as_deref(), Some("10.0.0.3"));
    let unknown = arr(vec![Value::Nil, Value::Int(7000)]);
    assert_eq!(SlotNode::from_value(unknown).unwrap().endpoint, None);
}

#[test]
fn info_and_client_lines() {
    let text = "# Server\r\nredis_version:7.0.15\r\n\r\n# Keyspace\r\ndb0:keys=2,expires=0\r\n";
    let verbatim = Value::Verbatim {
        format: *b"txt",
        text: Bytes::from(text),
    };
    let info = Info::from_value(verbatim).unwrap();
    assert_eq!(info.get("redis_version"), Some("7.0.15"));
    assert_eq!(info.section("KEYSPACE").unwrap()["db0"], "keys=2,expires=0");
    // CLUSTER INFO has no headings.
    let info = Info::from_value(bulk("cluster_state:ok\r\ncluster_size:3\r\n")).unwrap();
    assert_eq!(info.section("").unwrap()["cluster_state"], "ok");
    assert_eq!(info.parse::<u32>("cluster_size"), Some(3));
    assert!(Info::from_value(Value::Int(1)).is_err());

    let line = "id=3 addr=127.0.0.1:1 fd=8 name= age=1 idle=0 flags=N db=2 sub=1 psub=0 multi=-1 cmd=get user=default";
    let c = ClientInfo::from_value(bulk(line)).unwrap();
    assert_eq!(
        (c.id, c.db, c.sub, c.name.len(), c.resp),
        (3, 2, 1, 0, None)
    );
    let list = Vec::<ClientInfo>::from_value(bulk(&format!("{line}\n{line}\n"))).unwrap();
    assert_eq!(list.len(), 2);
    assert!(Vec::<ClientInfo>::from_value(bulk("")).unwrap().is_empty());
    let e = ClientInfo::from_value(bulk(&format!("{line}\n{line}\n"))).unwrap_err();
    assert!(e.to_string().contains("Vec<ClientInfo>"), "{e}");
    let e = ClientInfo::from_value(bulk("id=x addr=a"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("number in `id=`"), "{e}");
    let e = Vec::<ClientInfo>::from_value(bulk("id=1\n"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("`addr=`"), "{e}");
}

#[test]
fn time_and_empty_pops() {
    let t = std::time::SystemTime::from_value(arr(vec![bulk("10"), bulk("5")])).unwrap();
    assert_eq!(
        t.duration_since(std::time::UNIX_EPOCH).unwrap(),
        std::time::Duration::from_micros(10_000_005)
    );
    assert!(std::time::SystemTime::from_value(arr(vec![bulk("10")])).is_err());
    // ZPOPMIN key with nothing to pop: an empty array is no pair.
    assert_eq!(
        Option::<(Bytes, f64)>::from_value(arr(vec![])).unwrap(),
        None
    );
    assert_eq!(
        Option::<Vec<Bytes>>::from_value(arr(vec![])).unwrap(),
        Some(vec![]),
        "an empty list is still a list"
    );
}
