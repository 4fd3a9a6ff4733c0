//! Round trips of derived types through real servers, in RESP2 and RESP3: a 10-field
//! struct as a hash (HSET/HGETALL/HMGET) and as stream entries (XADD/XRANGE), scalars
//! and JSON values as strings.

mod support;

use support::{Server, KINDS};
use typedis::commands::XaddId;
use typedis::prelude::*;
use typedis::record::Positional;
use typedis::{Bytes, Client, Json, Record, Scalar};

#[derive(Debug, Clone, Copy, PartialEq, Scalar)]
#[typedis(rename_all = "snake_case")]
enum Tier {
    Free,
    ProPlus,
}

#[derive(Debug, Clone, Copy, PartialEq, Scalar)]
struct Score(f64);

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Address {
    city: String,
    zip: String,
}

#[derive(Debug, Clone, PartialEq, Record)]
struct User {
    id: u64,
    name: String,
    #[typedis(rename = "e-mail")]
    email: String,
    age: u8,
    score: Score,
    tier: Tier,
    verified: i64,
    nickname: Option<String>,
    bio: Option<String>,
    #[typedis(json)]
    address: Address,
    #[typedis(skip)]
    session: Option<String>,
}

fn ann() -> User {
    User {
        id: 7,
        name: "Ann Lee".into(),
        email: "ann@example.com".into(),
        age: 31,
        score: Score(97.5),
        tier: Tier::ProPlus,
        verified: 1,
        nickname: Some("annie".into()),
        bio: None,
        address: Address {
            city: "Oslo".into(),
            zip: "0150".into(),
        },
        session: None,
    }
}

#[tokio::test]
async fn structs_round_trip_as_hashes_and_stream_entries() {
    for kind in KINDS {
        let server = Server::start(kind);
        for protocol in [2, 3] {
            let client = Client::connect(&format!("{}?protocol={protocol}", server.url()))
                .await
                .unwrap();
            client.flushall().await.unwrap();
            let user = ann();
            let written = client.hset("user:7", &user).await.unwrap();
            assert_eq!(written, 9, "None and skipped fields are not stored");
            let raw: Option<Bytes> = client.hget("user:7", "tier").await.unwrap();
            assert_eq!(raw.as_deref(), Some(&b"pro_plus"[..]));
            let raw: Option<Bytes> = client.hget("user:7", "e-mail").await.unwrap();
            assert_eq!(raw.as_deref(), Some(&b"ann@example.com"[..]));
            let back: User = client.hgetall("user:7").decode().await.unwrap();
            assert_eq!(back, user, "{kind:?} RESP{protocol}");
            let Positional(by_fields) = client
                .hmget("user:7", User::FIELDS)
                .decode::<Positional<User>>()
                .await
                .unwrap();
            assert_eq!(by_fields, user);
            // A missing non-optional field is named in the error.
            client.hdel("user:7", ["e-mail"]).await.unwrap();
            let err = client
                .hgetall("user:7")
                .decode::<User>()
                .await
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("field `email`") && err.contains("User"),
                "{err}"
            );
            // Stream entries.
            let id: Option<Bytes> = client.xadd("events", XaddId::Auto, &user).await.unwrap();
            assert!(id.is_some());
            let entries: Vec<(Bytes, User)> =
                client.xrange("events", "-", "+").decode().await.unwrap();
            assert_eq!(entries.len(), 1);
            assert_eq!(entries[0].1, user);
            // Scalars and JSON as plain values.
            client.set("tier", Tier::Free).await.unwrap();
            let t: Tier = client.get("tier").decode().await.unwrap();
            assert_eq!(t, Tier::Free);
            client.set("addr", Json(&user.address)).await.unwrap();
            let Json(a): Json<Address> = client.get("addr").decode().await.unwrap();
            assert_eq!(a, user.address);
        }
    }
}
