//! Errors users match on by their variant and payload, never by their text: usage
//! errors by kind, timeouts by which timeout, decode mismatches with what was expected
//! and what came, cross-slot keys on the 6-node cluster (refused before sending, and
//! the server's own `CROSSSLOT`), and the `source()` chains — on both servers.
//! (Authentication failures are in `connection.rs`.)

mod support;

use std::time::Duration;

use support::{Cluster, Kind, Server, KINDS};
use typedis::cluster::ClusterClient;
use typedis::prelude::*;
use typedis::{Args, Client, ClientConfig, Error, ServerErrorKind, TimeoutKind, UsageKind};

#[tokio::test]
async fn decode_mismatches_say_expected_and_got() {
    for kind in KINDS {
        let server = Server::start(kind);
        let client = Client::connect(&server.url()).await.unwrap();
        client.set("text", "hello").await.unwrap();
        let err = client.get("text").decode::<i64>().await.unwrap_err();
        match &err {
            Error::Decode { expected, got } => {
                assert!(expected.contains("integer"), "{kind:?}: {expected}");
                assert!(got.contains("hello"), "{kind:?}: {got}");
            }
            other => panic!("{kind:?}: not a decode error: {other:?}"),
        }
        assert!(err.is_decode() && !err.is_connection_error(), "{err:?}");
    }
}

#[tokio::test]
async fn usage_errors_have_kinds() {
    let server = Server::start(Kind::Redis);
    let client = Client::connect(&server.url()).await.unwrap();
    let err = client.send(Args::new()).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Usage {
                kind: UsageKind::EmptyCommand,
                ..
            }
        ),
        "{err:?}"
    );
    let err = client.subscribe(Vec::<String>::new()).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Usage {
                kind: UsageKind::MissingArgument,
                ..
            }
        ),
        "{err:?}"
    );
    let err = typedis::command_keys(&[b"NO-SUCH-COMMAND"]).unwrap_err();
    assert_eq!(err.usage_kind(), Some(UsageKind::UnknownCommand), "{err:?}");
    let err = typedis::command_keys(&[]).unwrap_err();
    assert_eq!(err.usage_kind(), Some(UsageKind::EmptyCommand), "{err:?}");
    let err = typedis::command_keys(&[b"ZUNIONSTORE", b"dest", b"five", b"a"]).unwrap_err();
    assert_eq!(
        err.usage_kind(),
        Some(UsageKind::InvalidArgument),
        "{err:?}"
    );
    let err = ClusterClient::connect(Vec::<String>::new())
        .await
        .unwrap_err();
    assert_eq!(
        err.usage_kind(),
        Some(UsageKind::MissingArgument),
        "{err:?}"
    );
    // The connection still works: nothing was sent.
    let pong: String = client.cmd("PING").decode().await.unwrap();
    assert_eq!(pong, "PONG");
}

#[tokio::test]
async fn timeouts_say_which_timeout() {
    for kind in KINDS {
        let server = Server::start_with(kind, &["--enable-debug-command", "yes"]);
        let client = Client::with_config(
            ClientConfig::new(&server.url())
                .unwrap()
                .command_timeout(Some(Duration::from_millis(100))),
        )
        .await
        .unwrap();
        let err = client
            .cmd("DEBUG")
            .args(["SLEEP", "0.5"])
            .decode::<typedis::Value>()
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Timeout { kind: TimeoutKind::Command, after, .. }
                    if after == Duration::from_millis(100)
            ),
            "{kind:?}: {err:?}"
        );
        assert!(err.is_timeout() && !err.is_connection_error(), "{err:?}");
    }
    // A listener that accepts and never answers: the handshake cannot finish.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    let url = format!("redis://{addr}?connect_timeout=0.2");
    let err = Client::connect(&url).await.unwrap_err();
    match &err {
        Error::Timeout {
            kind: TimeoutKind::Connect { addr: a },
            after,
            ..
        } => {
            assert_eq!(a, &addr.to_string());
            assert_eq!(*after, Duration::from_millis(200));
        }
        other => panic!("not a connect timeout: {other:?}"),
    }
    // A connect timeout is also a connection error: retrying later may work.
    assert!(err.is_timeout() && err.is_connection_error(), "{err:?}");
    drop(silent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_slot_keys_on_the_cluster() {
    for kind in KINDS {
        let nodes = Cluster::start(kind);
        let cluster = ClusterClient::connect(nodes.urls()).await.unwrap();
        let (a, b) = ("cross:a", "cross:b");
        assert_ne!(
            typedis::key_slot(a.as_bytes()),
            typedis::key_slot(b.as_bytes())
        );
        // Refused before anything is sent, naming the command and the slots.
        let err = cluster.mset([(a, "1"), (b, "2")]).await.unwrap_err();
        match &err {
            Error::CrossSlot { command, slots } => {
                assert_eq!(command, "MSET", "{kind:?}");
                let mut want = vec![
                    typedis::key_slot(a.as_bytes()),
                    typedis::key_slot(b.as_bytes()),
                ];
                let mut got = slots.clone();
                want.sort_unstable();
                got.sort_unstable();
                assert_eq!(got, want, "{kind:?}");
            }
            other => panic!("{kind:?}: not a cross-slot error: {other:?}"),
        }
        assert!(err.is_cross_slot(), "{err:?}");
        for key in [a, b] {
            let v: Option<String> = cluster.get(key).decode().await.unwrap();
            assert_eq!(v, None, "{kind:?}: nothing was written");
        }
        // The server's own refusal, from a node asked directly.
        let node = Client::connect(&nodes.urls()[0]).await.unwrap();
        let err = node
            .cmd("MSET")
            .args(["{x}a", "1", "{y}b", "2"])
            .decode::<typedis::Value>()
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Server(s) if s.kind() == ServerErrorKind::CrossSlot),
            "{kind:?}: {err:?}"
        );
        assert!(err.is_cross_slot(), "{err:?}");
    }
}
