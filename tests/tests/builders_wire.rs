//! What the generated builders put on the wire, checked twice: the argv a builder
//! writes, and the server's own answer to it, on each server. A choice's token precedes
//! the chosen alternative (`AGGREGATE MAX`, `TYPE NORMAL`, `FILTERBY PATTERN`), and a
//! repeatable argument's setter adds to what earlier calls wrote, in call order
//! (EVAL's keys, SORT's GETs, ZADD/XADD/GEOADD's data, BITFIELD's operations).

mod support;

use support::{Server, KINDS};
use typedis::__private::Builder;
use typedis::commands::{
    BitfieldOverflow, ClientListClientType, XaddId, ZinterAggregate, ZunionstoreAggregate,
};
use typedis::prelude::*;
use typedis::{Bytes, Client};

/// The argv a builder sends, as text.
fn argv(builder: impl Builder) -> Vec<String> {
    let (_, args, _) = builder.into_parts();
    args.to_vec()
        .iter()
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

fn words(s: &str) -> Vec<String> {
    s.split(' ').map(str::to_owned).collect()
}

async fn client(server: &Server) -> Client {
    let client = Client::connect(&server.url()).await.expect("connect");
    client.flushall().await.unwrap();
    client
}

fn pairs(v: &[(&str, f64)]) -> Vec<(Bytes, f64)> {
    v.iter()
        .map(|(m, s)| (Bytes::from(m.to_string()), *s))
        .collect()
}

#[tokio::test]
async fn aggregate_and_weights_reach_zinter_zunion_and_their_store_forms() {
    for kind in KINDS {
        let server = Server::start(kind);
        let c = client(&server).await;
        c.zadd("a", [("x", 1.0), ("y", 2.0)]).await.unwrap();
        c.zadd("b", [("x", 10.0), ("y", 20.0)]).await.unwrap();
        c.zadd("c", [("x", 100.0)]).await.unwrap();

        assert_eq!(
            argv(c.zinter(["a", "b"]).max()),
            words("ZINTER 2 a b AGGREGATE MAX")
        );
        let max = c.zinter(["a", "b"]).max().withscores().await.unwrap();
        assert_eq!(max, pairs(&[("x", 10.0), ("y", 20.0)]), "{kind:?}");

        // WEIGHTS given in two calls: one WEIGHTS token, both weights.
        let b = || {
            c.zinter(["a", "b"])
                .weights([2.0])
                .weights([1.0])
                .aggregate(ZinterAggregate::Min)
        };
        assert_eq!(argv(b()), words("ZINTER 2 a b WEIGHTS 2 1 AGGREGATE MIN"));
        let min = b().withscores().await.unwrap();
        assert_eq!(min, pairs(&[("x", 2.0), ("y", 4.0)]), "{kind:?}");

        let union = c
            .zunion(["a", "b", "c"])
            .weights([1.0, 1.0, 1.0])
            .max()
            .withscores()
            .await
            .unwrap();
        assert_eq!(union, pairs(&[("y", 20.0), ("x", 100.0)]), "{kind:?}");

        assert_eq!(
            argv(c.zinterstore("sum", ["a", "b"]).sum()),
            words("ZINTERSTORE sum 2 a b AGGREGATE SUM")
        );
        let n = c.zinterstore("sum", ["a", "b"]).sum().await.unwrap();
        assert_eq!(n, 2);
        assert_eq!(c.zscore("sum", "x").await.unwrap(), Some(11.0));

        let b = || {
            c.zunionstore("best", ["a", "b"])
                .aggregate(ZunionstoreAggregate::Max)
                .weights([30.0, 2.0])
        };
        // Wire order is the spec's, whatever the call order.
        assert_eq!(
            argv(b()),
            words("ZUNIONSTORE best 2 a b WEIGHTS 30 2 AGGREGATE MAX")
        );
        assert_eq!(b().await.unwrap(), 2);
        let best = c.zrange("best", 0, -1).withscores().await.unwrap();
        assert_eq!(best, pairs(&[("x", 30.0), ("y", 60.0)]), "{kind:?}");
    }
}

#[tokio::test]
async fn client_list_filters_by_type() {
    for kind in KINDS {
        let server = Server::start(kind);
        let c = client(&server).await;
        let me = c.client_id().await.unwrap();
        assert_eq!(
            argv(c.client_list().normal()),
            words("CLIENT LIST TYPE NORMAL")
        );
        let normal = c.client_list().normal().await.unwrap();
        assert!(
            normal.iter().any(|i| i.id as i64 == me),
            "{kind:?}: {me} among {normal:?}"
        );
        assert_eq!(
            argv(c.client_list().client_type(ClientListClientType::Pubsub)),
            words("CLIENT LIST TYPE PUBSUB")
        );
        let pubsub = c
            .client_list()
            .client_type(ClientListClientType::Pubsub)
            .await
            .unwrap();
        assert!(
            pubsub.iter().all(|i| i.id as i64 != me),
            "{kind:?}: {pubsub:?}"
        );
    }
}

#[tokio::test]
async fn command_list_filters_by_module_category_and_pattern() {
    for kind in KINDS {
        let server = Server::start(kind);
        let c = client(&server).await;
        assert_eq!(
            argv(c.command_list().pattern("zint*")),
            words("COMMAND LIST FILTERBY PATTERN zint*")
        );
        let mut zint: Vec<Bytes> = c.command_list().pattern("zint*").await.unwrap();
        zint.sort();
        assert_eq!(zint, ["zinter", "zintercard", "zinterstore"], "{kind:?}");

        assert_eq!(
            argv(c.command_list().aclcat("hyperloglog")),
            words("COMMAND LIST FILTERBY ACLCAT hyperloglog")
        );
        let hll = c.command_list().aclcat("hyperloglog").await.unwrap();
        assert!(hll.iter().any(|n| n == "pfadd"), "{kind:?}: {hll:?}");
        assert!(
            hll.iter().all(|n| n.starts_with(b"pf")),
            "{kind:?}: {hll:?}"
        );

        assert_eq!(
            argv(c.command_list().module("nosuchmodule")),
            words("COMMAND LIST FILTERBY MODULE nosuchmodule")
        );
        let none = c.command_list().module("nosuchmodule").await.unwrap();
        assert!(none.is_empty(), "{kind:?}: {none:?}");
    }
}

#[tokio::test]
async fn bitfield_operations_run_in_call_order() {
    for kind in KINDS {
        let server = Server::start(kind);
        let c = client(&server).await;
        let ops = || {
            c.bitfield("bf")
                .set_field("u8", 0, 200)
                .get_field("u8", 0)
                .incrby_field("u8", 0, 100)
                .overflow(BitfieldOverflow::Sat)
                .incrby_field("u8", 0, 250)
                .overflow(BitfieldOverflow::Fail)
                .incrby_field("u8", 0, 1)
                .get_field("u8", 0)
                .set_field("u4", 8, 5)
        };
        assert_eq!(
            argv(ops()),
            words(
                "BITFIELD bf SET u8 0 200 GET u8 0 INCRBY u8 0 100 OVERFLOW SAT INCRBY u8 0 250 \
                 OVERFLOW FAIL INCRBY u8 0 1 GET u8 0 SET u4 8 5"
            )
        );
        let replies: Vec<Option<i64>> = ops().await.unwrap();
        // 200 + 100 wraps to 44 (WRAP is the default); 44 + 250 saturates at 255 under
        // SAT; under FAIL 255 + 1 overflows, so nothing changes and the reply is nil.
        assert_eq!(
            replies,
            [
                Some(0),
                Some(200),
                Some(44),
                Some(255),
                None,
                Some(255),
                Some(0)
            ],
            "{kind:?}"
        );
        // The server's own state: byte 0 holds 255, the high nibble of byte 1 holds 5.
        let raw: Option<Bytes> = c.get("bf").await.unwrap();
        assert_eq!(raw.as_deref(), Some(&[255u8, 0x50][..]), "{kind:?}");

        let ro = || {
            c.bitfield_ro("bf")
                .get_field("u8", 0)
                .get_field("u4", 0)
                .get_field("u4", 8)
        };
        assert_eq!(
            argv(ro()),
            words("BITFIELD_RO bf GET u8 0 GET u4 0 GET u4 8")
        );
        let read: Vec<i64> = ro().await.unwrap();
        assert_eq!(read, [255, 15, 5], "{kind:?}");
    }
}

#[tokio::test]
async fn eval_keys_and_args_given_in_several_calls_all_reach_the_script() {
    for kind in KINDS {
        let server = Server::start(kind);
        let c = client(&server).await;
        let script = "return {#KEYS, KEYS[1], KEYS[2], #ARGV, ARGV[1], ARGV[2]}";
        let call = || {
            c.eval(script)
                .key(["k1"])
                .key(["k2"])
                .arg(["a1"])
                .arg(["a2"])
        };
        assert_eq!(argv(call())[2..], words("2 k1 k2 a1 a2"));
        let (nkeys, k1, k2, nargs, a1, a2): (i64, String, String, i64, String, String) =
            call().decode().await.unwrap();
        assert_eq!(
            (
                nkeys,
                k1.as_str(),
                k2.as_str(),
                nargs,
                a1.as_str(),
                a2.as_str()
            ),
            (2, "k1", "k2", 2, "a1", "a2"),
            "{kind:?}"
        );
    }
}

#[tokio::test]
async fn sort_with_two_gets_returns_both_per_element() {
    for kind in KINDS {
        let server = Server::start(kind);
        let c = client(&server).await;
        c.rpush("ids", ["2", "1"]).await.unwrap();
        c.mset([("w_1", "one"), ("w_2", "two")]).await.unwrap();
        let sort = || c.sort("ids").get_pattern(["w_*"]).get_pattern(["#"]);
        assert_eq!(argv(sort()), words("SORT ids GET w_* GET #"));
        let got: Vec<Option<Bytes>> = sort().await.unwrap();
        let got: Vec<Option<&[u8]>> = got.iter().map(|v| v.as_deref()).collect();
        assert_eq!(
            got,
            [Some(&b"one"[..]), Some(b"1"), Some(b"two"), Some(b"2")],
            "{kind:?}"
        );
    }
}

#[tokio::test]
async fn zadd_xadd_and_geoadd_data_builds_up_over_calls() {
    for kind in KINDS {
        let server = Server::start(kind);
        let c = client(&server).await;

        let zadd = || {
            c.zadd("z", [("a", 1.0)])
                .data([("b", 2.0)])
                .data([("c", 3.0)])
        };
        assert_eq!(argv(zadd()), words("ZADD z 1 a 2 b 3 c"));
        assert_eq!(zadd().await.unwrap(), 3, "{kind:?}");
        let z = c.zrange("z", 0, -1).withscores().await.unwrap();
        assert_eq!(z, pairs(&[("a", 1.0), ("b", 2.0), ("c", 3.0)]), "{kind:?}");

        let xadd = || {
            c.xadd("s", XaddId::Auto, [("f1", "v1")])
                .data([("f2", "v2")])
        };
        assert_eq!(argv(xadd()), words("XADD s * f1 v1 f2 v2"));
        let id = xadd().await.unwrap().expect("an id");
        let entries = c.xrange("s", "-", "+").await.unwrap();
        assert_eq!(entries.len(), 1, "{kind:?}");
        assert_eq!(entries[0].id, id);
        assert_eq!(
            entries[0].fields,
            [
                (Bytes::from("f1"), Bytes::from("v1")),
                (Bytes::from("f2"), Bytes::from("v2"))
            ],
            "{kind:?}"
        );

        let geoadd = || {
            c.geoadd("g", [(13.361389, 38.115556, "Palermo")])
                .data([(15.087269, 37.502669, "Catania")])
        };
        assert_eq!(
            argv(geoadd()),
            words("GEOADD g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania")
        );
        assert_eq!(geoadd().await.unwrap(), 2, "{kind:?}");
        let km = c.geodist("g", "Palermo", "Catania").await.unwrap().unwrap() / 1000.0;
        assert!((166.0..167.0).contains(&km), "{kind:?}: {km} km");
    }
}
