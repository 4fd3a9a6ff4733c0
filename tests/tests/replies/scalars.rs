//! Replies of the data commands through the typed API: yes/no answers are `bool`, nil
//! where the servers send it, `TIME` and cursors are integers, and every flag that
//! changes the reply's shape changes its type.

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use typedis::commands::{
    BlmoveWherefrom, BlmoveWhereto, GeoradiusRoUnit, GeoradiusUnit, GeoradiusbymemberRoUnit,
    GeoradiusbymemberUnit, LmoveWherefrom, LmoveWhereto,
};
use typedis::prelude::*;
use typedis::reply::{GeoMember, LcsMatch};
use typedis::Bytes;

use crate::support::Kind;
use crate::Targets;

#[tokio::test]
async fn yes_no_answers_are_bools() {
    let t = Targets::start(&[]).await;
    for (kind, at, c) in &t.clients {
        c.flushall().await.unwrap();
        c.set("k", "v").await.unwrap();
        assert!(c.expire("k", 100).await.unwrap(), "{at}");
        assert!(!c.expire("missing", 100).await.unwrap(), "{at}");
        assert!(
            !c.expire("k", 200).nx().await.unwrap(),
            "{at}: NX with a TTL set"
        );
        assert!(c.pexpire("k", 100_000).await.unwrap(), "{at}");
        assert!(c.expireat("k", 4_000_000_000).await.unwrap(), "{at}");
        assert!(c.pexpireat("k", 4_000_000_000_000).await.unwrap(), "{at}");
        assert!(c.persist("k").await.unwrap(), "{at}");
        assert!(!c.persist("k").await.unwrap(), "{at}: no TTL left");
        assert!(!c.setnx("k", "w").await.unwrap(), "{at}");
        assert!(c.setnx("k2", "w").await.unwrap(), "{at}");
        assert!(!c.msetnx([("k", "x"), ("k3", "x")]).await.unwrap(), "{at}");
        assert!(c.msetnx([("k4", "x"), ("k5", "x")]).await.unwrap(), "{at}");
        assert!(!c.renamenx("k4", "k5").await.unwrap(), "{at}");
        assert!(c.renamenx("k4", "k6").await.unwrap(), "{at}");
        assert!(c.copy("k6", "k7").await.unwrap(), "{at}");
        assert!(
            !c.copy("k6", "k7").await.unwrap(),
            "{at}: destination exists"
        );
        assert!(c.move_key("k7", 1).await.unwrap(), "{at}");
        assert!(!c.move_key("missing", 1).await.unwrap(), "{at}");
        c.sadd("s", ["a", "b"]).await.unwrap();
        assert!(c.sismember("s", "a").await.unwrap(), "{at}");
        assert!(!c.sismember("s", "z").await.unwrap(), "{at}");
        assert_eq!(
            c.smismember("s", ["a", "z", "b"]).await.unwrap(),
            vec![true, false, true],
            "{at}"
        );
        assert!(c.smove("s", "s2", "a").await.unwrap(), "{at}");
        assert!(!c.smove("s", "s2", "a").await.unwrap(), "{at}");
        c.hset("h", [("f", "1")]).await.unwrap();
        assert!(c.hexists("h", "f").await.unwrap(), "{at}");
        assert!(!c.hexists("h", "g").await.unwrap(), "{at}");
        assert!(!c.hsetnx("h", "f", "2").await.unwrap(), "{at}");
        assert!(c.hsetnx("h", "g", "2").await.unwrap(), "{at}");
        assert!(c.pfadd("hll").element(["a"]).await.unwrap(), "{at}");
        assert!(!c.pfadd("hll").element(["a"]).await.unwrap(), "{at}");
        assert!(!c.setbit("bits", 3, 1).await.unwrap(), "{at}: the old bit");
        assert!(c.getbit("bits", 3).await.unwrap(), "{at}");
        assert!(!c.getbit("bits", 4).await.unwrap(), "{at}");
        c.cmd("XADD").args(["st", "*", "f", "v"]).await.unwrap();
        c.cmd("XGROUP")
            .args(["CREATE", "st", "g", "$"])
            .await
            .unwrap();
        assert!(
            c.xgroup_createconsumer("st", "g", "c").await.unwrap(),
            "{at}"
        );
        assert!(
            !c.xgroup_createconsumer("st", "g", "c").await.unwrap(),
            "{at}"
        );
        assert!(c.xgroup_destroy("st", "g").await.unwrap(), "{at}");
        assert!(!c.xgroup_destroy("st", "g").await.unwrap(), "{at}");
        assert!(!c.client_unblock(999_999).await.unwrap(), "{at}");
        let sha: Bytes = c.script_load("return 1").await.unwrap();
        assert_eq!(
            c.script_exists([&sha[..], b"0000"]).await.unwrap(),
            vec![true, false],
            "{at}"
        );
        if *kind == Kind::Valkey {
            c.set("cas", "old").await.unwrap();
            assert!(!c.delifeq("cas", "new").await.unwrap(), "{at}");
            assert!(c.delifeq("cas", "old").await.unwrap(), "{at}");
            // (MSETEX's and HSETEX's 0/1 are checked by the synthesized run.)
        }
    }
}

#[tokio::test]
async fn nil_where_the_servers_send_it() {
    let t = Targets::start(&[]).await;
    for (_, at, c) in &t.clients {
        c.flushall().await.unwrap();
        assert_eq!(
            c.lmove("none", "dst", LmoveWherefrom::Left, LmoveWhereto::Right)
                .await
                .unwrap(),
            None,
            "{at}"
        );
        c.rpush("l", ["3", "1", "2"]).await.unwrap();
        let moved = c
            .lmove("l", "dst", LmoveWherefrom::Left, LmoveWhereto::Right)
            .await
            .unwrap();
        assert_eq!(moved.as_deref(), Some(&b"3"[..]), "{at}");
        let timed_out = c
            .blmove(
                "none",
                "dst",
                BlmoveWherefrom::Left,
                BlmoveWhereto::Right,
                0.05,
            )
            .await
            .unwrap();
        assert_eq!(timed_out, None, "{at}");
        assert_eq!(c.object_idletime("none").await.unwrap(), None, "{at}");
        assert_eq!(c.object_refcount("none").await.unwrap(), None, "{at}");
        assert_eq!(c.object_encoding("none").await.unwrap(), None, "{at}");
        assert!(c.object_idletime("l").await.unwrap().is_some(), "{at}");
        // FREQ needs an LFU policy (IDLETIME an LRU one).
        c.config_set([("maxmemory-policy", "allkeys-lfu")])
            .await
            .unwrap();
        assert!(c.object_freq("l").await.unwrap().is_some(), "{at}");
        assert_eq!(c.object_freq("none").await.unwrap(), None, "{at}");
        c.config_set([("maxmemory-policy", "noeviction")])
            .await
            .unwrap();
        assert_eq!(c.object_refcount("l").await.unwrap(), Some(1), "{at}");
        // SORT … GET of a pattern that matches no key gives nil elements.
        c.set("w_1", "one").await.unwrap();
        let got = c.sort("l").get_pattern(["w_*"]).await.unwrap();
        assert_eq!(got, vec![Some(Bytes::from("one")), None], "{at}");
        let got = c.sort("l").get_pattern(["#", "w_*"]).await.unwrap();
        assert_eq!(
            got,
            vec![
                Some(Bytes::from("1")),
                Some(Bytes::from("one")),
                Some(Bytes::from("2")),
                None
            ],
            "{at}"
        );
        let got = c.sort_ro("l").get_pattern(["nope_*"]).await.unwrap();
        assert_eq!(got, vec![None, None], "{at}");
        let stored: i64 = c.sort("l").store("sorted").await.unwrap();
        assert_eq!(stored, 2, "{at}");
        assert_eq!(
            c.lrange("sorted", 0, -1).await.unwrap(),
            vec![Bytes::from("1"), Bytes::from("2")],
            "{at}"
        );
    }
}

#[tokio::test]
async fn time_and_cursors_are_integers() {
    let t = Targets::start(&[]).await;
    for (kind, at, c) in &t.clients {
        c.flushall().await.unwrap();
        let (secs, micros) = c.time().await.unwrap();
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        assert!(secs.abs_diff(now.as_secs()) < 60, "{at}: {secs} vs {now:?}");
        assert!(micros < 1_000_000, "{at}");
        let t: SystemTime = c.time().decode().await.unwrap();
        let skew = t
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .abs_diff(SystemTime::now().duration_since(UNIX_EPOCH).unwrap());
        assert!(skew < Duration::from_secs(60), "{at}: {skew:?}");

        for i in 0..300 {
            c.set(format!("key:{i}"), i).await.unwrap();
        }
        // A small COUNT on 300 keys takes several calls: the cursor is a non-zero number
        // until it is 0.
        let (mut cursor, mut seen, mut calls) = (0u64, HashSet::new(), 0);
        loop {
            let (next, keys) = c.scan(cursor).count(10).await.unwrap();
            seen.extend(keys);
            calls += 1;
            if next == 0 {
                break;
            }
            cursor = next;
            assert!(calls < 1000, "{at}: SCAN does not end");
        }
        assert_eq!(seen.len(), 300, "{at}");
        assert!(calls > 1, "{at}");
        let members: Vec<String> = (0..300).map(|i| format!("m{i}")).collect();
        c.sadd("set", &members).await.unwrap();
        let (next, some) = c.sscan("set", 0).count(5).await.unwrap();
        assert!(next > 0 && !some.is_empty(), "{at}");
        c.hset("hash", [("a", "1"), ("b", "2")]).await.unwrap();
        let (next, pairs) = c.hscan("hash", 0).await.unwrap();
        let mut pairs: Vec<(Bytes, Bytes)> = pairs;
        pairs.sort();
        assert_eq!(next, 0, "{at}");
        assert_eq!(
            pairs,
            vec![
                (Bytes::from("a"), Bytes::from("1")),
                (Bytes::from("b"), Bytes::from("2"))
            ],
            "{at}"
        );
        c.zadd("z", [("x", 1.5), ("y", 2.0)]).await.unwrap();
        let (_, mut scored) = c.zscan("z", 0).await.unwrap();
        scored.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            scored,
            vec![(Bytes::from("x"), 1.5), (Bytes::from("y"), 2.0)],
            "{at}"
        );
        if *kind == Kind::Valkey {
            let (_, mut fields) = c.hscan("hash", 0).novalues().await.unwrap();
            fields.sort();
            assert_eq!(fields, vec![Bytes::from("a"), Bytes::from("b")], "{at}");
            let (_, mut members) = c.zscan("z", 0).noscores().await.unwrap();
            members.sort();
            assert_eq!(members, vec![Bytes::from("x"), Bytes::from("y")], "{at}");
        }
    }
}

#[tokio::test]
async fn flags_change_the_reply_type() {
    let t = Targets::start(&[]).await;
    for (kind, at, c) in &t.clients {
        c.flushall().await.unwrap();
        // SET: whether it was set (NX/XX can stop it), or with GET the old value.
        assert!(c.set("k", "1").await.unwrap(), "{at}");
        assert!(!c.set("k", "2").nx().await.unwrap(), "{at}");
        assert!(c.set("k", "2").xx().await.unwrap(), "{at}");
        let old: Option<Bytes> = c.set("k", "3").get_old().await.unwrap();
        assert_eq!(old.as_deref(), Some(&b"2"[..]), "{at}");
        let old: Option<Bytes> = c.set("fresh", "3").get_old().await.unwrap();
        assert_eq!(old, None, "{at}");
        // ZADD: a count, or with INCR the new score (nil when NX/XX stopped it).
        let n: i64 = c.zadd("z", [("a", 1.0), ("b", 2.0)]).await.unwrap();
        assert_eq!(n, 2, "{at}");
        let score: Option<f64> = c.zadd("z", [("a", 2.5)]).increment().await.unwrap();
        assert_eq!(score, Some(3.5), "{at}");
        let score = c.zadd("z", [("a", 1.0)]).increment().nx().await.unwrap();
        assert_eq!(score, None, "{at}");
        // WITHSCORES.
        let plain: Vec<Bytes> = c.zrange("z", 0, -1).await.unwrap();
        assert_eq!(plain, vec![Bytes::from("b"), Bytes::from("a")], "{at}");
        let scored: Vec<(Bytes, f64)> = c.zrange("z", 0, -1).withscores().await.unwrap();
        assert_eq!(
            scored,
            vec![(Bytes::from("b"), 2.0), (Bytes::from("a"), 3.5)],
            "{at}"
        );
        let scored = c
            .zrangebyscore("z", f64::NEG_INFINITY, f64::INFINITY)
            .withscores()
            .await
            .unwrap();
        assert_eq!(scored[1], (Bytes::from("a"), 3.5), "{at}");
        let scored = c.zrevrange("z", 0, 0).withscores().await.unwrap();
        assert_eq!(scored, vec![(Bytes::from("a"), 3.5)], "{at}");
        let scored = c
            .zrevrangebyscore("z", f64::INFINITY, f64::NEG_INFINITY)
            .withscores()
            .await
            .unwrap();
        assert_eq!(scored.len(), 2, "{at}");
        // ZRANK … WITHSCORE (Valkey; Redis 7.0 has no WITHSCORE).
        if *kind == Kind::Valkey {
            assert_eq!(
                c.zrank("z", "a").withscore().await.unwrap(),
                Some((1, 3.5)),
                "{at}"
            );
            assert_eq!(
                c.zrevrank("z", "a").withscore().await.unwrap(),
                Some((0, 3.5)),
                "{at}"
            );
            assert_eq!(
                c.zrank("z", "nope").withscore().await.unwrap(),
                None,
                "{at}"
            );
        }
        assert_eq!(c.zrank("z", "a").await.unwrap(), Some(1), "{at}");
        // Pops: one (or none) without COUNT, a list with it.
        let one: Option<(Bytes, f64)> = c.zpopmin("z").await.unwrap();
        assert_eq!(one, Some((Bytes::from("b"), 2.0)), "{at}");
        assert_eq!(c.zpopmax("none").await.unwrap(), None, "{at}");
        c.zadd("z3", [("x", 1.0), ("y", 2.0), ("w", 3.0)])
            .await
            .unwrap();
        let two: Vec<(Bytes, f64)> = c.zpopmax("z3").count(2).await.unwrap();
        assert_eq!(
            two,
            vec![(Bytes::from("w"), 3.0), (Bytes::from("y"), 2.0)],
            "{at}"
        );
        let one = c.zpopmin("z3").count(5).await.unwrap();
        assert_eq!(one, vec![(Bytes::from("x"), 1.0)], "{at}");
        c.rpush("l", ["a", "b", "c", "b"]).await.unwrap();
        assert_eq!(
            c.lpop("l").await.unwrap().as_deref(),
            Some(&b"a"[..]),
            "{at}"
        );
        let two: Option<Vec<Bytes>> = c.lpop("l").count(2).await.unwrap();
        assert_eq!(two, Some(vec![Bytes::from("b"), Bytes::from("c")]), "{at}");
        assert_eq!(c.rpop("none").count(2).await.unwrap(), None, "{at}");
        assert_eq!(c.rpop("none").await.unwrap(), None, "{at}");
        c.rpush("l2", ["a", "b", "a", "c", "a"]).await.unwrap();
        assert_eq!(c.lpos("l2", "a").await.unwrap(), Some(0), "{at}");
        assert_eq!(c.lpos("l2", "z").await.unwrap(), None, "{at}");
        let all: Vec<i64> = c.lpos("l2", "a").count(0).await.unwrap();
        assert_eq!(all, vec![0, 2, 4], "{at}");
        c.sadd("s", ["a", "b", "c"]).await.unwrap();
        let some: Vec<Bytes> = c.srandmember("s").count(2).await.unwrap();
        assert_eq!(some.len(), 2, "{at}");
        let one: Option<Bytes> = c.spop("s").await.unwrap();
        assert!(one.is_some(), "{at}");
        let rest: Vec<Bytes> = c.spop("s").count(5).await.unwrap();
        assert_eq!(rest.len(), 2, "{at}");
        assert_eq!(c.spop("s").await.unwrap(), None, "{at}");
        // HRANDFIELD / ZRANDMEMBER: COUNT and WITHVALUES / WITHSCORES are one tuple
        // today, so the typed reply waits for them to be separate setters; the variants'
        // types decode the real replies.
        c.hset("h", [("f", "v")]).await.unwrap();
        let fields: Vec<Bytes> = c.cmd("HRANDFIELD").args(["h", "2"]).decode().await.unwrap();
        assert_eq!(fields, vec![Bytes::from("f")], "{at}");
        let pairs: Vec<(Bytes, Bytes)> = c
            .cmd("HRANDFIELD")
            .args(["h", "2", "WITHVALUES"])
            .decode()
            .await
            .unwrap();
        assert_eq!(pairs, vec![(Bytes::from("f"), Bytes::from("v"))], "{at}");
        c.zadd("rz", [("m", 4.0)]).await.unwrap();
        let pairs: Vec<(Bytes, f64)> = c
            .cmd("ZRANDMEMBER")
            .args(["rz", "1", "WITHSCORES"])
            .decode()
            .await
            .unwrap();
        assert_eq!(pairs, vec![(Bytes::from("m"), 4.0)], "{at}");
        assert_eq!(
            c.hrandfield("h").await.unwrap().as_deref(),
            Some(&b"f"[..]),
            "{at}"
        );
        // LCS: the string, LEN, IDX (with MINMATCHLEN and WITHMATCHLEN).
        c.set("a", "ohmytext").await.unwrap();
        c.set("b", "mynewtext").await.unwrap();
        assert_eq!(c.lcs("a", "b").await.unwrap(), "mytext", "{at}");
        let len: i64 = c.lcs("a", "b").len().await.unwrap();
        assert_eq!(len, 6, "{at}");
        let idx = c.lcs("a", "b").idx().await.unwrap();
        assert_eq!(idx.len, 6, "{at}");
        let first: &LcsMatch = &idx.matches[0];
        assert_eq!(
            (first.key1, first.key2, first.len),
            ((4, 7), (5, 8), None),
            "{at}"
        );
        let idx = c
            .lcs("a", "b")
            .idx()
            .minmatchlen(4)
            .withmatchlen()
            .await
            .unwrap();
        assert_eq!(idx.matches.len(), 1, "{at}");
        assert_eq!(idx.matches[0].len, Some(4), "{at}");
        // BZPOPMIN / BLMPOP on a dedicated connection.
        c.zadd("bz", [("only", 1.0)]).await.unwrap();
        let popped = c.bzpopmin(["bz"], 0.1).await.unwrap();
        assert_eq!(
            popped,
            Some((Bytes::from("bz"), Bytes::from("only"), 1.0)),
            "{at}"
        );
        assert_eq!(c.bzpopmin(["bz"], 0.05).await.unwrap(), None, "{at}");
    }
}

/// Awaits `$b` with the `WITH*` flags of `$mask` (1: WITHDIST, 2: WITHHASH, 4:
/// WITHCOORD), set in differing orders: each setter gives the same record type.
macro_rules! with_flags {
    ($b:expr, $mask:expr) => {
        match $mask {
            1 => $b.withdist().await,
            2 => $b.withhash().await,
            3 => $b.withhash().withdist().await,
            4 => $b.withcoord().await,
            5 => $b.withdist().withcoord().await,
            6 => $b.withcoord().withhash().await,
            _ => $b.withhash().withcoord().withdist().await,
        }
        .unwrap()
    };
}

#[tokio::test]
async fn geo_with_every_combination() {
    let t = Targets::start(&[]).await;
    for (_, at, c) in &t.clients {
        c.flushall().await.unwrap();
        c.geoadd(
            "g",
            [
                (13.361389, 38.115556, "Palermo"),
                (15.087269, 37.502669, "Catania"),
            ],
        )
        .await
        .unwrap();
        let plain: Vec<Bytes> = c
            .georadius("g", 15.0, 37.0, 200.0, GeoradiusUnit::Km)
            .asc()
            .await
            .unwrap();
        assert_eq!(
            plain,
            vec![Bytes::from("Catania"), Bytes::from("Palermo")],
            "{at}"
        );
        let mut hashes = HashSet::new();
        for mask in 1..8u8 {
            let (dist, hash, coord) = (mask & 1 != 0, mask & 2 != 0, mask & 4 != 0);
            let mut check = |found: Vec<GeoMember>, what: &str, from_catania: bool| {
                assert_eq!(found.len(), 2, "{at} {what} {mask}");
                let catania = &found[0];
                assert_eq!(catania.member, "Catania", "{at} {what}");
                assert_eq!(
                    catania.dist.is_some(),
                    dist,
                    "{at} {what} {mask}: {catania:?}"
                );
                assert_eq!(
                    catania.hash.is_some(),
                    hash,
                    "{at} {what} {mask}: {catania:?}"
                );
                assert_eq!(
                    catania.coord.is_some(),
                    coord,
                    "{at} {what} {mask}: {catania:?}"
                );
                if let Some(d) = catania.dist {
                    let expected = if from_catania { 0.0 } else { 56.4413 };
                    assert!((d - expected).abs() < 0.01, "{at} {what}: {d}");
                    assert!(found[1].dist.unwrap() > d, "{at} {what}: ascending");
                }
                if let Some(h) = catania.hash {
                    hashes.insert(h);
                }
                if let Some((lon, lat)) = catania.coord {
                    assert!(
                        (lon - 15.087269).abs() < 1e-4 && (lat - 37.502669).abs() < 1e-4,
                        "{at} {what}: {lon} {lat}"
                    );
                }
            };
            let found = with_flags!(
                c.georadius("g", 15.0, 37.0, 200.0, GeoradiusUnit::Km).asc(),
                mask
            );
            check(found, "GEORADIUS", false);
            let found = with_flags!(
                c.georadius_ro("g", 15.0, 37.0, 200.0, GeoradiusRoUnit::Km)
                    .asc(),
                mask
            );
            check(found, "GEORADIUS_RO", false);
            let found = with_flags!(
                c.georadiusbymember("g", "Catania", 200.0, GeoradiusbymemberUnit::Km)
                    .asc(),
                mask
            );
            check(found, "GEORADIUSBYMEMBER", true);
            let found = with_flags!(
                c.georadiusbymember_ro("g", "Catania", 200.0, GeoradiusbymemberRoUnit::Km)
                    .asc(),
                mask
            );
            check(found, "GEORADIUSBYMEMBER_RO", true);
            // GEOSEARCH's FROM… and BY… are being made required parameters: the raw call,
            // decoded into the variant's type.
            let mut argv = vec![
                "g",
                "FROMLONLAT",
                "15",
                "37",
                "BYRADIUS",
                "200",
                "km",
                "ASC",
            ];
            for (on, flag) in [(dist, "WITHDIST"), (hash, "WITHHASH"), (coord, "WITHCOORD")] {
                if on {
                    argv.push(flag);
                }
            }
            let found: Vec<GeoMember> = c.cmd("GEOSEARCH").args(&argv).decode().await.unwrap();
            check(found, "GEOSEARCH", false);
        }
        // The same member has one hash, whichever command and flags found it.
        assert_eq!(hashes.len(), 1, "{at}: {hashes:?}");
        let stored: i64 = c
            .georadius("g", 15.0, 37.0, 200.0, GeoradiusUnit::Km)
            .store("stored")
            .await
            .unwrap();
        assert_eq!(stored, 2, "{at}");
        let stored: i64 = c
            .georadiusbymember("g", "Palermo", 10.0, GeoradiusbymemberUnit::Km)
            .storedist("stored2")
            .await
            .unwrap();
        assert_eq!(stored, 1, "{at}");
        let dist = c.geodist("g", "Palermo", "Catania").await.unwrap().unwrap();
        assert!((dist - 166274.1516).abs() < 1.0, "{at}: {dist}");
        assert_eq!(
            c.geodist("g", "Palermo", "nowhere").await.unwrap(),
            None,
            "{at}"
        );
        let hashes: Vec<Option<Bytes>> = c
            .cmd("GEOHASH")
            .args(["g", "Palermo", "nowhere"])
            .decode()
            .await
            .unwrap();
        assert!(
            hashes[0].is_some() && hashes[1].is_none(),
            "{at}: {hashes:?}"
        );
    }
}
