//! Typed forms of the generated API against real servers: setter names a Rust user would
//! write, stream trimming as a typed option, options chained inside pipelines, and the
//! typed forms of commands once reachable only through the raw path — each checked by
//! the server's answer, on both servers and in both protocols.

mod support;

use support::{Kind, Server, KINDS};
use typedis::commands::{GeosearchBy, GeosearchFrom, GeosearchUnit, XaddId};
use typedis::prelude::*;
use typedis::{Bytes, Client, Trim};

#[tokio::test]
async fn stream_trimming_is_a_typed_option() {
    for kind in KINDS {
        let server = Server::start(kind);
        for c in server.clients_in_both_protocols().await {
            c.flushall().asynchronous().await.unwrap();
            for i in 1..=5 {
                c.xadd("s", XaddId::Explicit(format!("{i}-0").into()), [("n", i)])
                    .await
                    .unwrap();
            }
            // Exact MAXLEN on XADD: the stream keeps the newest 3.
            c.xadd("s", XaddId::Explicit("6-0".into()), [("n", 6)])
                .trim(Trim::maxlen(3))
                .await
                .unwrap();
            assert_eq!(c.xlen("s").await.unwrap(), 3);
            // MINID on XTRIM: entries below 5-0 go.
            let evicted: i64 = c.xtrim("s", Trim::minid("5-0")).await.unwrap();
            assert_eq!(evicted, 1);
            assert_eq!(c.xlen("s").await.unwrap(), 2);
            // Approximate with LIMIT: accepted, and trims no more than asked.
            let evicted: i64 = c
                .xtrim("s", Trim::maxlen(0).approx().limit(10))
                .await
                .unwrap();
            assert!(evicted <= 2, "evicted {evicted}");
            let evicted: i64 = c.xtrim("s", Trim::maxlen(0)).await.unwrap();
            assert_eq!(c.xlen("s").await.unwrap(), 0, "evicted {evicted}");
        }
    }
}

#[tokio::test]
async fn split_blocks_and_renamed_setters_reach_the_server() {
    for kind in KINDS {
        let server = Server::start(kind);
        for c in server.clients_in_both_protocols().await {
            c.flushdb().asynchronous().await.unwrap();
            c.geoadd(
                "g",
                [
                    (13.361389, 38.115556, "Palermo"),
                    (15.087269, 37.502669, "Catania"),
                ],
            )
            .await
            .unwrap();
            // `COUNT count` and `COUNT count ANY`, not a `(count, bool)` tuple.
            let one: Vec<Bytes> = c
                .georadius("g", 15.0, 37.0, 200.0, typedis::commands::GeoradiusUnit::Km)
                .count(1)
                .await
                .unwrap();
            assert_eq!(one.len(), 1);
            let any: Vec<Bytes> = c
                .geosearch(
                    "g",
                    GeosearchBy::Circle {
                        from: GeosearchFrom::LonLat {
                            longitude: 15.0,
                            latitude: 37.0,
                        },
                        radius: 200.0,
                        unit: GeosearchUnit::Km,
                    },
                )
                .count_any(1)
                .await
                .unwrap();
            assert_eq!(any.len(), 1);
            // BYBOX is `.rectangle(..)`.
            let boxed: Vec<Bytes> = c
                .geosearch(
                    "g",
                    GeosearchBy::Rectangle {
                        from: GeosearchFrom::Member("Palermo".into()),
                        width: 400.0,
                        height: 400.0,
                        unit: GeosearchUnit::Km,
                    },
                )
                .asc()
                .await
                .unwrap();
            assert_eq!(boxed, vec![Bytes::from("Palermo"), Bytes::from("Catania")]);
            // SCAN's TYPE is `.of_type(..)`.
            c.set("str", "v").await.unwrap();
            let (_, keys) = c.scan(0).of_type("string").count(100).await.unwrap();
            assert_eq!(keys, vec![Bytes::from("str")]);
            // XINFO STREAM FULL [COUNT n]: `.full()`, `.full_count(n)`.
            c.xadd("s", XaddId::Auto, [("f", "v")]).await.unwrap();
            let full = c.xinfo_stream("s").full_count(1).await.unwrap();
            assert_eq!(full.length, 1);
            // CLIENT LIST's NOT-TYPE alternatives are `.not_type_*()` (Valkey ≥ 9.0).
            let listed = c.client_list().not_type_pubsub().await;
            match kind {
                Kind::Valkey => assert!(!listed.unwrap().is_empty()),
                Kind::Redis => {
                    let e = listed.unwrap_err().to_string();
                    assert!(e.contains("NOT-TYPE"), "{e}");
                }
            }
        }
    }
}

#[tokio::test]
async fn options_chain_inside_pipelines() {
    for kind in KINDS {
        let server = Server::start(kind);
        for c in server.clients_in_both_protocols().await {
            c.flushall().await.unwrap();
            // Options on a command inside the chain, the reply tuple typed per command.
            let (set, value, ttl, old): (bool, Option<Bytes>, i64, Option<Bytes>) = c
                .pipeline()
                .set("k", "v")
                .ex(60)
                .get("k")
                .ttl("k")
                .set("k", "w")
                .get_old()
                .execute()
                .await
                .unwrap();
            assert!(set);
            assert_eq!(value.as_deref(), Some(&b"v"[..]));
            assert!((1..=60).contains(&ttl), "ttl {ttl}");
            assert_eq!(old.as_deref(), Some(&b"v"[..]));
            // NX that does not apply answers nil: the option really reached the server.
            let (first, second) = c
                .pipeline()
                .set("n", "1")
                .nx()
                .set("n", "2")
                .nx()
                .execute()
                .await
                .unwrap();
            assert!(first);
            assert!(!second);
            // A reply-changing option re-types its element; decode re-targets one.
            let (added, top, len) = c
                .transaction()
                .zadd("z", [("a", 1.0), ("b", 2.0)])
                .zrange("z", 0, -1)
                .withscores()
                .strlen("k")
                .decode::<u64>()
                .execute()
                .await
                .unwrap();
            assert_eq!(added, 2);
            assert_eq!(top, vec![(Bytes::from("a"), 1.0), (Bytes::from("b"), 2.0)]);
            assert_eq!(len, 1);
            // The pipeline after an open command, to add more to in a loop.
            let mut p = c.pipeline().del(["k"]).into_pipeline();
            for i in 0..3 {
                p.add(c.incr("ctr").decode::<i64>());
                let _ = i;
            }
            let all: Vec<i64> = p.query().await.unwrap();
            assert_eq!(all, vec![1, 1, 2, 3]);
            // `then` still takes a builder made on the client.
            let (a, b) = c
                .pipeline()
                .incr("ctr")
                .then(c.incrby("ctr", 10))
                .execute()
                .await
                .unwrap();
            assert_eq!((a, b), (4, 14));
        }
    }
}

#[tokio::test]
async fn random_members_with_values_are_pairs_in_both_protocols() {
    for kind in KINDS {
        let server = Server::start(kind);
        for c in server.clients_in_both_protocols().await {
            c.flushall().await.unwrap();
            c.hset("h", [("f1", "v1"), ("f2", "v2")]).await.unwrap();
            c.zadd("z", [("a", 1.5), ("b", 2.5)]).await.unwrap();
            let fields: Vec<Bytes> = c.hrandfield("h").count(5).await.unwrap();
            assert_eq!(fields.len(), 2);
            let mut pairs: Vec<(Bytes, Bytes)> =
                c.hrandfield("h").count_withvalues(5).await.unwrap();
            pairs.sort();
            assert_eq!(
                pairs,
                vec![
                    (Bytes::from("f1"), Bytes::from("v1")),
                    (Bytes::from("f2"), Bytes::from("v2"))
                ]
            );
            // A negative count may repeat members: exactly that many pairs.
            let repeated: Vec<(Bytes, f64)> =
                c.zrandmember("z").count_withscores(-5).await.unwrap();
            assert_eq!(repeated.len(), 5);
            for (m, s) in &repeated {
                let want = if &m[..] == b"a" { 1.5 } else { 2.5 };
                assert_eq!(*s, want, "{m:?}");
            }
            let members: Vec<Bytes> = c.zrandmember("z").count(1).await.unwrap();
            assert_eq!(members.len(), 1);
        }
    }
}

#[tokio::test]
async fn scan_cursors_are_unsigned_and_bare_command_is_typed() {
    for kind in KINDS {
        let server = Server::start(kind);
        for c in server.clients_in_both_protocols().await {
            c.flushall().await.unwrap();
            for i in 0..50 {
                c.sadd("s", [i]).await.unwrap();
            }
            // The cursor goes back in as the u64 it came out as.
            let (mut cursor, mut seen) = (0u64, 0usize);
            for _ in 0..1000 {
                let (next, some) = c.sscan("s", cursor).count(5).await.unwrap();
                seen += some.len();
                cursor = next;
                if cursor == 0 {
                    break;
                }
            }
            assert_eq!(cursor, 0, "SSCAN did not end");
            assert!(seen >= 50, "saw {seen}");
            // Bare COMMAND: every command's info, decoded in either protocol.
            let all = c.command().await.unwrap();
            let count = c.command_count().await.unwrap();
            assert_eq!(all.len() as i64, count);
            assert!(all.iter().any(|i| i.name.eq_ignore_ascii_case("get")));
        }
    }
}

#[tokio::test]
async fn client_kill_filters_append_and_each_reaches_the_server() {
    use typedis::commands::{ClientKillSkipme, ClientKillType};
    for kind in KINDS {
        let server = Server::start(kind);
        let c = Client::connect(&server.url()).await.expect("connect");
        let victim = || async {
            let v = Client::connect(&server.url()).await.expect("connect");
            let info = v.client_info().await.unwrap();
            (v, info)
        };
        // ID: exactly that connection.
        let (_v, info) = victim().await;
        let killed: i64 = c.client_kill().id([info.id as i64]).await.unwrap();
        assert_eq!(killed, 1, "{kind:?}");
        // ADDR and LADDR together (filters combine with AND).
        let (_v, info) = victim().await;
        let laddr = info.laddr.clone().expect("laddr");
        let killed = c
            .client_kill()
            .addr(&info.addr)
            .laddr(&laddr)
            .await
            .unwrap();
        assert_eq!(killed, 1, "{kind:?}");
        // USER: the server looks the user up (so the filter reached it).
        let e = c
            .client_kill()
            .user("no-such-user")
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("No such user"), "{kind:?}: {e}");
        let (_v, info) = victim().await;
        let killed = c
            .client_kill()
            .user("default")
            .id([info.id as i64])
            .await
            .unwrap();
        assert_eq!(killed, 1, "{kind:?}");
        // TYPE normal with SKIPME yes: the victims, not the caller.
        let (_a, _) = victim().await;
        let (_b, _) = victim().await;
        let killed = c
            .client_kill()
            .client_type(ClientKillType::Normal)
            .skipme(ClientKillSkipme::Yes)
            .await
            .unwrap();
        assert!(killed >= 2, "{kind:?}: killed {killed}");
        let me = c.client_info().await.unwrap();
        assert_eq!(
            c.client_kill()
                .id([me.id as i64])
                .skipme(ClientKillSkipme::Yes)
                .await
                .unwrap(),
            0
        );
        // MAXAGE (Valkey ≥ 8.0): an old enough connection only; Redis 7.0 refuses it
        // with the note naming the servers that accept it.
        let (_v, _) = victim().await;
        let r = c
            .client_kill()
            .maxage(1_000_000)
            .skipme(ClientKillSkipme::Yes)
            .await;
        match kind {
            Kind::Valkey => assert_eq!(r.unwrap(), 0),
            Kind::Redis => {
                let e = r.unwrap_err().to_string();
                assert!(e.contains("MAXAGE"), "{e}");
            }
        }
    }
}
