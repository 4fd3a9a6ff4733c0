//! The tour (`client/examples/tour.rs`, what `cargo xtask tour` runs) against Redis 7.0
//! and Valkey 9.1 in RESP2 and RESP3: every step shows what it should, within the tour's
//! time limit, and it leaves the server's other keys alone and none of its own behind.

mod support;

#[allow(dead_code)]
#[path = "../../client/examples/tour.rs"]
mod tour;

use support::{Kind, Server, KINDS};
use typedis::prelude::*;
use typedis::Client;

async fn run(kind: Kind, protocol: u8) {
    let server = Server::start(kind);
    let url = format!("{}?protocol={protocol}", server.url());
    let client = Client::connect(&url).await.unwrap();
    client.set("not-the-tour's", "kept").await.unwrap();

    let mut lines = Vec::new();
    tokio::time::timeout(tour::LIMIT, tour::tour(&url, &mut |l| lines.push(l)))
        .await
        .unwrap_or_else(|_| {
            panic!(
                "{kind:?} RESP{protocol}: the tour took over {:?}",
                tour::LIMIT
            )
        })
        .unwrap_or_else(|e| {
            panic!("{kind:?} RESP{protocol}: the tour failed: {e}; it said {lines:#?}")
        });

    let server_name = match kind {
        Kind::Redis => "connected to redis 7.",
        Kind::Valkey => "connected to valkey 9.1",
    };
    let expected = [
        server_name,
        r#"GET greeting -> Some("hello")"#,
        r#"SET greeting bonjour GET -> Some(b"hello")"#,
        r#"ZADD -> 2; ZADD … INCR -> Some(7.5); ZRANGE … WITHSCORES -> [(b"bob", 5.0), (b"ann", 7.5)]"#,
        r#"pipeline -> visits 1, list length 3, items [b"a", b"b", b"c"]"#,
        "transaction -> balance 100, history length 1",
        r#"HSET then HGETALL as a struct -> User { name: "Ann", age: 31, plan: Pro, nickname: None }"#,
        "script INCRBY 10, then 5 -> [10, 15]",
        r#"PUBLISH reached 1 subscriber(s); message on b"typedis-tour:news": b"typedis says hi""#,
        "SELECT refused on the shared client: true; on a dedicated connection, db 1 has it: 1, db 0: 0",
        "SCAN MATCH typedis-tour:* -> 8 keys: [\"typedis-tour:balance\", \"typedis-tour:board\", \
         \"typedis-tour:counter\", \"typedis-tour:greeting\", \"typedis-tour:history\", \
         \"typedis-tour:list\", \"typedis-tour:user:1\", \"typedis-tour:visits\"]",
        "MSET's keys are at [1, 3]; both hash to slot",
    ];
    assert_eq!(
        lines.len(),
        expected.len(),
        "{kind:?} RESP{protocol}: {lines:#?}"
    );
    for (line, want) in lines.iter().zip(expected) {
        assert!(
            line.starts_with(want),
            "{kind:?} RESP{protocol}: {line:?} is not {want:?}"
        );
    }
    let slot = typedis::key_slot(b"{user:1}:name");
    assert_eq!(slot, typedis::key_slot(b"{user:1}:plan"));
    assert!(
        lines[11].ends_with(&format!("slot {slot} (hash tag {{user:1}})")),
        "{}",
        lines[11]
    );

    let left: Vec<typedis::Bytes> = client.keys(format!("{}*", tour::PREFIX)).await.unwrap();
    assert!(
        left.is_empty(),
        "{kind:?} RESP{protocol}: the tour left {left:?}"
    );
    let other: Option<String> = client.get("not-the-tour's").decode().await.unwrap();
    assert_eq!(other.as_deref(), Some("kept"));
}

#[tokio::test]
async fn tour_shows_every_step_on_both_servers_and_protocols() {
    for kind in KINDS {
        for protocol in [2, 3] {
            run(kind, protocol).await;
        }
    }
}
