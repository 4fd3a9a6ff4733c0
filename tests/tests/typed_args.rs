//! Arguments typed as users write them, against real servers: score and lex bounds,
//! doubles where the spec says integer, counts the client computes, durations, and one
//! value where the spec says `multiple`. Each asserts the server's answer.

mod support;

use std::time::Duration;

use support::{Server, KINDS};
use typedis::commands::{BzmpopWhere, GeosearchBy, LmpopWhere, ZmpopWhere};
use typedis::prelude::*;
use typedis::{Bytes, Client, LexBound, ScoreBound};

async fn client(server: &Server) -> Client {
    Client::connect(&server.url()).await.expect("connect")
}

fn bytes(v: &[&str]) -> Vec<Bytes> {
    v.iter()
        .map(|s| Bytes::copy_from_slice(s.as_bytes()))
        .collect()
}

#[tokio::test]
async fn score_bounds_and_doubles() {
    for kind in KINDS {
        let server = Server::start(kind);
        let c = client(&server).await;
        let n: i64 = c
            .zadd("z", [("a", 1.0), ("b", 1.5), ("c", 2.0), ("d", 5.0)])
            .await
            .unwrap();
        assert_eq!(n, 4, "{kind:?}");
        // Integers and floats are inclusive bounds.
        let n: i64 = c.zcount("z", 1, 5).await.unwrap();
        assert_eq!(n, 4, "{kind:?}");
        let n: i64 = c.zcount("z", 1.5, 2.0).await.unwrap();
        assert_eq!(n, 2, "{kind:?}");
        let n: i64 = c
            .zcount("z", ScoreBound::exclusive(1.5), ScoreBound::POS_INF)
            .await
            .unwrap();
        assert_eq!(n, 2, "{kind:?}");
        let got: Vec<Bytes> = c
            .zrangebyscore("z", ScoreBound::NEG_INF, ScoreBound::exclusive(2.0))
            .await
            .unwrap();
        assert_eq!(got, bytes(&["a", "b"]), "{kind:?}");
        let got: Vec<Bytes> = c
            .zrevrangebyscore("z", ScoreBound::POS_INF, ScoreBound::exclusive(1.5))
            .await
            .unwrap();
        assert_eq!(got, bytes(&["d", "c"]), "{kind:?}");
        // ZRANGE … BYSCORE takes the same bounds.
        let got: Vec<Bytes> = c
            .zrange("z", ScoreBound::exclusive(1.0), ScoreBound::inclusive(2.0))
            .byscore()
            .await
            .unwrap();
        assert_eq!(got, bytes(&["b", "c"]), "{kind:?}");
        // A fractional increment.
        let score: f64 = c.zincrby("z", 0.25, "a").await.unwrap();
        assert_eq!(score, 1.25, "{kind:?}");
        let n: i64 = c
            .zremrangebyscore("z", ScoreBound::exclusive(1.25), 2)
            .await
            .unwrap();
        assert_eq!(n, 2, "{kind:?}");
        // Fractional weights.
        c.zadd("w1", [("x", 1.0)]).await.unwrap();
        c.zadd("w2", [("x", 2.0)]).await.unwrap();
        let got: Vec<(Bytes, f64)> = c
            .zunion(["w1", "w2"])
            .weights([0.5, 1.5])
            .withscores()
            .await
            .unwrap();
        assert_eq!(got, vec![(Bytes::from("x"), 3.5)], "{kind:?}");
    }
}

#[tokio::test]
async fn lex_bounds() {
    for kind in KINDS {
        let server = Server::start(kind);
        let c = client(&server).await;
        c.zadd("l", [("a", 0.0), ("b", 0.0), ("c", 0.0), ("d", 0.0)])
            .await
            .unwrap();
        let n: i64 = c
            .zlexcount("l", LexBound::MIN, LexBound::MAX)
            .await
            .unwrap();
        assert_eq!(n, 4, "{kind:?}");
        let got: Vec<Bytes> = c
            .zrangebylex("l", LexBound::inclusive("b"), LexBound::exclusive("d"))
            .await
            .unwrap();
        assert_eq!(got, bytes(&["b", "c"]), "{kind:?}");
        let got: Vec<Bytes> = c
            .zrevrangebylex("l", LexBound::MAX, LexBound::exclusive("b"))
            .await
            .unwrap();
        assert_eq!(got, bytes(&["d", "c"]), "{kind:?}");
        // Strings are the server's syntax, as before.
        let got: Vec<Bytes> = c.zrangebylex("l", "(a", "[b").await.unwrap();
        assert_eq!(got, bytes(&["b"]), "{kind:?}");
        let got: Vec<Bytes> = c
            .zrange("l", LexBound::exclusive("a"), LexBound::MAX)
            .bylex()
            .await
            .unwrap();
        assert_eq!(got, bytes(&["b", "c", "d"]), "{kind:?}");
        let n: i64 = c
            .zremrangebylex("l", LexBound::MIN, LexBound::inclusive("b"))
            .await
            .unwrap();
        assert_eq!(n, 2, "{kind:?}");
    }
}

#[tokio::test]
async fn counts_come_from_the_lists() {
    for kind in KINDS {
        let server = Server::start(kind);
        let c = client(&server).await;
        c.zadd("a", [("x", 1.0), ("y", 2.0), ("z", 3.0)])
            .await
            .unwrap();
        c.zadd("b", [("x", 10.0), ("y", 20.0)]).await.unwrap();
        let got: Vec<Bytes> = c.zinter(["a", "b"]).await.unwrap();
        assert_eq!(got, bytes(&["x", "y"]), "{kind:?}");
        // One key more through the setter: the count follows.
        let got: Vec<Bytes> = c.zunion(["a"]).key(["b"]).await.unwrap();
        assert_eq!(got.len(), 3, "{kind:?}");
        let got: Vec<Bytes> = c.zdiff(["a", "b"]).await.unwrap();
        assert_eq!(got, bytes(&["z"]), "{kind:?}");
        let n: i64 = c.zdiffstore("d", ["a", "b"]).await.unwrap();
        assert_eq!(n, 1, "{kind:?}");
        let n: i64 = c.zinterstore("i", ["a", "b"]).await.unwrap();
        assert_eq!(n, 2, "{kind:?}");
        let n: i64 = c.zunionstore("u", ["a", "b", "d"]).await.unwrap();
        assert_eq!(n, 3, "{kind:?}");
        let n: i64 = c.zintercard(["a", "b"]).limit(1).await.unwrap();
        assert_eq!(n, 1, "{kind:?}");

        c.sadd("s1", ["p", "q", "r"]).await.unwrap();
        c.sadd("s2", ["q", "r"]).await.unwrap();
        let n: i64 = c.sintercard(["s1", "s2"]).await.unwrap();
        assert_eq!(n, 2, "{kind:?}");

        c.rpush("l2", ["v1", "v2"]).await.unwrap();
        let got = c
            .lmpop(["l1", "l2"], LmpopWhere::Left)
            .count(5)
            .await
            .unwrap();
        assert_eq!(
            got,
            Some((Bytes::from("l2"), bytes(&["v1", "v2"]))),
            "{kind:?}"
        );
        let got = c.zmpop(["a"], ZmpopWhere::Min).await.unwrap();
        assert_eq!(
            got,
            Some((Bytes::from("a"), vec![(Bytes::from("x"), 1.0)])),
            "{kind:?}"
        );
        let got = c
            .bzmpop(0.1, ["nothing", "a"], BzmpopWhere::Max)
            .await
            .unwrap();
        assert_eq!(
            got,
            Some((Bytes::from("a"), vec![(Bytes::from("z"), 3.0)])),
            "{kind:?}"
        );

        // Scripts: no keys is a count of 0; keys given in two calls count 2.
        let n: i64 = c.eval("return #KEYS").decode().await.unwrap();
        assert_eq!(n, 0, "{kind:?}");
        let got: (i64, i64) = c
            .eval("return {#KEYS, #ARGV}")
            .key(["k1"])
            .arg(["x"])
            .key(["k2"])
            .decode()
            .await
            .unwrap();
        assert_eq!(got, (2, 1), "{kind:?}");
        let got: (i64, String) = c
            .eval_ro("return {#KEYS, KEYS[1]}")
            .key(["k9"])
            .decode()
            .await
            .unwrap();
        assert_eq!(got, (1, "k9".to_owned()), "{kind:?}");
    }
}

/// Hash-field expiration and GEOSEARCH BYPOLYGON: Valkey's (Redis 7.0 has neither).
#[tokio::test]
async fn field_and_vertex_counts_come_from_the_lists() {
    let server = Server::start(support::Kind::Valkey);
    let c = client(&server).await;
    c.hset("h", [("f1", "a"), ("f2", "b"), ("f3", "c")])
        .await
        .unwrap();
    let got: Vec<i64> = c.hexpire("h", 100, ["f1", "f2", "nope"]).await.unwrap();
    assert_eq!(got, [1, 1, -2]);
    let got: Vec<i64> = c.httl("h", ["f1", "f3"]).await.unwrap();
    assert!((1..=100).contains(&got[0]) && got[1] == -1, "{got:?}");
    let got: Vec<i64> = c.hpersist("h", ["f1"]).await.unwrap();
    assert_eq!(got, [1]);
    let got: Vec<i64> = c.hpexpire("h", 100_000, ["f2"]).await.unwrap();
    assert_eq!(got, [1]);
    let got: Vec<i64> = c.hpttl("h", ["f2"]).await.unwrap();
    assert!(got[0] > 0 && got[0] <= 100_000, "{got:?}");
    let got: Vec<Option<Bytes>> = c.hgetex("h", ["f1", "f3", "nope"]).await.unwrap();
    assert_eq!(got, [Some(Bytes::from("a")), Some(Bytes::from("c")), None]);
    let done: bool = c.hsetex("h2", [("g1", "1"), ("g2", "2")]).await.unwrap();
    assert!(done);
    let n: i64 = c.hlen("h2").await.unwrap();
    assert_eq!(n, 2);

    c.geoadd("g", [(1.5, 1.5, "in"), (5.0, 5.0, "out")])
        .await
        .unwrap();
    let got: Vec<Bytes> = c
        .geosearch(
            "g",
            GeosearchBy::Polygon(vec![(1.0, 1.0), (2.0, 1.0), (2.0, 2.0), (1.0, 2.0)]),
        )
        .await
        .unwrap();
    assert_eq!(got, bytes(&["in"]));
}

#[tokio::test]
async fn expiries_take_durations_and_integers() {
    for kind in KINDS {
        let server = Server::start(kind);
        let c = client(&server).await;
        // Integers in the command's unit, as before.
        c.set("a", "v").ex(100).await.unwrap();
        let ttl: i64 = c.ttl("a").await.unwrap();
        assert!((1..=100).contains(&ttl), "{kind:?}: {ttl}");
        // A Duration, whole seconds.
        c.set("b", "v").ex(Duration::from_secs(200)).await.unwrap();
        let ttl: i64 = c.ttl("b").await.unwrap();
        assert!((101..=200).contains(&ttl), "{kind:?}: {ttl}");
        // A sub-second fraction rounds up: 0.5 s is 1 s, not 0 (which the server refuses).
        c.set("c", "v")
            .ex(Duration::from_millis(300_500))
            .await
            .unwrap();
        let pttl: i64 = c.pttl("c").await.unwrap();
        assert!((300_000..=301_000).contains(&pttl), "{kind:?}: {pttl}");
        c.set("d", "v")
            .px(Duration::from_millis(400_000))
            .await
            .unwrap();
        let pttl: i64 = c.pttl("d").await.unwrap();
        assert!((300_001..=400_000).contains(&pttl), "{kind:?}: {pttl}");
        // The expiry commands of both units.
        c.set("e", "v").await.unwrap();
        assert!(
            c.expire("e", Duration::from_secs(500)).await.unwrap(),
            "{kind:?}"
        );
        let ttl: i64 = c.ttl("e").await.unwrap();
        assert!((401..=500).contains(&ttl), "{kind:?}: {ttl}");
        assert!(
            c.pexpire("e", Duration::from_secs(600)).await.unwrap(),
            "{kind:?}"
        );
        let ttl: i64 = c.ttl("e").await.unwrap();
        assert!((501..=600).contains(&ttl), "{kind:?}: {ttl}");
        assert!(c.pexpire("e", 700_000).await.unwrap(), "{kind:?}");
        let ttl: i64 = c.ttl("e").await.unwrap();
        assert!((601..=700).contains(&ttl), "{kind:?}: {ttl}");
        c.setex("f", Duration::from_secs(800), "v").await.unwrap();
        let ttl: i64 = c.ttl("f").await.unwrap();
        assert!((701..=800).contains(&ttl), "{kind:?}: {ttl}");
        c.psetex("g", Duration::from_secs(900), "v").await.unwrap();
        let ttl: i64 = c.ttl("g").await.unwrap();
        assert!((801..=900).contains(&ttl), "{kind:?}: {ttl}");
        let v: Option<Bytes> = c.getex("g").ex(Duration::from_secs(50)).await.unwrap();
        assert_eq!(v.as_deref(), Some(&b"v"[..]), "{kind:?}");
        let ttl: i64 = c.ttl("g").await.unwrap();
        assert!((1..=50).contains(&ttl), "{kind:?}: {ttl}");
        c.getex("g").px(Duration::from_secs(60)).await.unwrap();
        let ttl: i64 = c.ttl("g").await.unwrap();
        assert!((51..=60).contains(&ttl), "{kind:?}: {ttl}");
    }
}

/// The hash-field forms: Valkey's (Redis 7.0 has no field expiration).
#[tokio::test]
async fn field_expiries_take_durations() {
    let server = Server::start(support::Kind::Valkey);
    let c = client(&server).await;
    c.hset("h", [("f", "v")]).await.unwrap();
    let got: Vec<i64> = c
        .hexpire("h", Duration::from_secs(100), ["f"])
        .await
        .unwrap();
    assert_eq!(got, [1]);
    let got: Vec<i64> = c.httl("h", ["f"]).await.unwrap();
    assert!((1..=100).contains(&got[0]), "{got:?}");
    let got: Vec<i64> = c
        .hpexpire("h", Duration::from_secs(200), ["f"])
        .await
        .unwrap();
    assert_eq!(got, [1]);
    let got: Vec<i64> = c.httl("h", ["f"]).await.unwrap();
    assert!((101..=200).contains(&got[0]), "{got:?}");
    let _: Vec<Option<Bytes>> = c
        .hgetex("h", ["f"])
        .ex(Duration::from_secs(300))
        .await
        .unwrap();
    let got: Vec<i64> = c.httl("h", ["f"]).await.unwrap();
    assert!((201..=300).contains(&got[0]), "{got:?}");
    let done: bool = c
        .hsetex("h", [("f2", "v")])
        .px(Duration::from_secs(400))
        .await
        .unwrap();
    assert!(done);
    let got: Vec<i64> = c.httl("h", ["f2"]).await.unwrap();
    assert!((301..=400).contains(&got[0]), "{got:?}");
}

#[tokio::test]
async fn one_value_where_the_spec_says_multiple() {
    for kind in KINDS {
        let server = Server::start(kind);
        let c = client(&server).await;
        // One value as is.
        let n: i64 = c.lpush("l", "x").await.unwrap();
        assert_eq!(n, 1, "{kind:?}");
        let n: i64 = c.rpush("l", 7).await.unwrap();
        assert_eq!(n, 2, "{kind:?}");
        let n: i64 = c.hset("h", ("f", "v")).await.unwrap();
        assert_eq!(n, 1, "{kind:?}");
        let n: i64 = c.sadd("s", "m").await.unwrap();
        assert_eq!(n, 1, "{kind:?}");
        let n: i64 = c.exists("l").await.unwrap();
        assert_eq!(n, 1, "{kind:?}");
        let n: i64 = c.hdel("h", "f").await.unwrap();
        assert_eq!(n, 1, "{kind:?}");
        let n: i64 = c.zadd("z", ("m", 2.5)).await.unwrap();
        assert_eq!(n, 1, "{kind:?}");
        let got: Vec<Option<Bytes>> = c.mget("nope").await.unwrap();
        assert_eq!(got, [None], "{kind:?}");
        let n: i64 = c.del("l").await.unwrap();
        assert_eq!(n, 1, "{kind:?}");
        // Collections, as before: arrays, slices, Vecs, maps, iterators.
        let n: i64 = c.rpush("l", ["a", "b"]).await.unwrap();
        assert_eq!(n, 2, "{kind:?}");
        let names = vec!["c".to_owned(), "d".to_owned()];
        let n: i64 = c.rpush("l", &names).await.unwrap();
        assert_eq!(n, 4, "{kind:?}");
        let n: i64 = c.rpush("l", &names[..1]).await.unwrap();
        assert_eq!(n, 5, "{kind:?}");
        let n: i64 = c.rpush("l", (0..3).map(|i| i * 10)).await.unwrap();
        assert_eq!(n, 8, "{kind:?}");
        let n: i64 = c
            .hset(
                "h",
                std::collections::BTreeMap::from([("a", "1"), ("b", "2")]),
            )
            .await
            .unwrap();
        assert_eq!(n, 2, "{kind:?}");
        let n: i64 = c.exists(vec!["l", "h", "nope"]).await.unwrap();
        assert_eq!(n, 2, "{kind:?}");
        // A setter of a repeatable argument takes one value too.
        let got: (i64, i64) = c
            .eval("return {#KEYS, #ARGV}")
            .key("k1")
            .arg("a")
            .key(["k2"])
            .decode()
            .await
            .unwrap();
        assert_eq!(got, (2, 1), "{kind:?}");
        // A binary value as one of a collection.
        let n: i64 = c.del([&b"h"[..]]).await.unwrap();
        assert_eq!(n, 1, "{kind:?}");
    }
}
