//! Connecting: unix sockets, AUTH (password and ACL user), wrong passwords, protocol
//! negotiation, SELECT from the URL, client names — on both servers.

mod support;

use support::{free_port, Kind, Server, KINDS};
use typedis::prelude::*;
use typedis::{AuthErrorKind, Client, Error, ServerError, ServerErrorKind};

#[tokio::test]
async fn unix_socket_and_db_from_the_url() {
    for kind in KINDS {
        let dir =
            std::env::temp_dir().join(format!("typedis-unix-{}-{:?}", std::process::id(), kind));
        std::fs::create_dir_all(&dir).unwrap();
        let sock = dir.join("redis.sock");
        let sock_s = sock.to_str().unwrap().to_owned();
        let server =
            Server::start_with(kind, &["--unixsocket", &sock_s, "--unixsocketperm", "700"]);
        let client = Client::connect(&format!("unix://{sock_s}?db=2"))
            .await
            .unwrap();
        client.set("where", "db2").await.unwrap();
        let tcp_db2 = Client::connect(&format!("{}/2", server.url()))
            .await
            .unwrap();
        let v: Option<String> = tcp_db2.get("where").decode().await.unwrap();
        assert_eq!(v.as_deref(), Some("db2"), "{kind:?}");
        let tcp_db0 = Client::connect(&server.url()).await.unwrap();
        assert_eq!(tcp_db0.get("where").await.unwrap(), None);
        drop(server);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[tokio::test]
async fn password_and_acl_users() {
    for kind in KINDS {
        let server = Server::start_with(kind, &["--requirepass", "s3cret"]);
        let base = format!("127.0.0.1:{}", server.port);
        for protocol in [2, 3] {
            let ok = Client::connect(&format!("redis://:s3cret@{base}?protocol={protocol}"))
                .await
                .unwrap();
            assert!(ok.incr("n").await.unwrap() > 0);
            let err = Client::connect(&format!("redis://:wrong-pw@{base}?protocol={protocol}"))
                .await
                .unwrap_err();
            let text = format!("{err} {err:?}");
            assert!(
                matches!(
                    &err,
                    Error::Auth { kind: AuthErrorKind::WrongPassword, user, .. } if user == "default"
                ),
                "{kind:?} RESP{protocol}: {err:?}"
            );
            assert!(err.is_auth() && !err.is_connection_error(), "{err:?}");
            // The server's reply is the source.
            let source =
                std::error::Error::source(&err).and_then(|s| s.downcast_ref::<ServerError>());
            assert_eq!(
                source.map(ServerError::kind),
                Some(ServerErrorKind::WrongPass)
            );
            assert!(text.contains("authentication failed"), "{text}");
            assert!(!text.contains("wrong-pw"), "password leaked: {text}");
        }
        // Without a password the server refuses commands: NOAUTH, an auth error.
        for protocol in [2, 3] {
            let anon = Client::connect(&format!("redis://{base}?protocol={protocol}"))
                .await
                .unwrap();
            let err = anon.get("k").await.unwrap_err();
            assert!(
                matches!(&err, Error::Server(s) if s.kind() == ServerErrorKind::NoAuth),
                "{kind:?} RESP{protocol}: {err:?}"
            );
            assert!(err.is_auth(), "{err:?}");
        }
        // An ACL user.
        let admin = Client::connect(&format!("redis://:s3cret@{base}"))
            .await
            .unwrap();
        admin
            .cmd("ACL")
            .args(["SETUSER", "ann", "on", ">ann-pw", "~app:*", "+@all"])
            .await
            .unwrap();
        for protocol in [2, 3] {
            let ann = Client::connect(&format!(
                "redis://ann:ann-pw@{base}?protocol={protocol}&client_name=svc"
            ))
            .await
            .unwrap();
            let who: String = ann.acl_whoami().decode().await.unwrap();
            assert_eq!(who, "ann");
            let name: Option<String> = ann.client_getname().decode().await.unwrap();
            assert_eq!(name.as_deref(), Some("svc"));
            ann.set("app:x", "1").await.unwrap();
            let denied = ann.set("other", "1").await.unwrap_err();
            // A permission error, not an authentication failure.
            assert!(
                matches!(&denied, Error::Server(s) if s.kind() == ServerErrorKind::NoPerm),
                "{denied:?}"
            );
            assert!(!denied.is_auth(), "{denied:?}");
            // A wrong password for an ACL user, and a user that does not exist: the
            // server does not say which, both are `WrongPassword`, naming the user.
            for (user, pw) in [("ann", "not-ann-pw"), ("nobody", "nobody-pw")] {
                let err =
                    Client::connect(&format!("redis://{user}:{pw}@{base}?protocol={protocol}"))
                        .await
                        .unwrap_err();
                assert!(
                    matches!(
                        &err,
                        Error::Auth { kind: AuthErrorKind::WrongPassword, user: u, .. } if u == user
                    ),
                    "{kind:?} RESP{protocol} {user}: {err:?}"
                );
                assert!(!err.to_string().contains(pw), "password leaked: {err}");
            }
        }
        // A refused handshake step after authentication names the command, with the
        // server's reply as its source.
        let err = Client::connect(&format!("redis://:s3cret@{base}/99"))
            .await
            .unwrap_err();
        match &err {
            Error::Handshake {
                command, source, ..
            } => {
                assert_eq!(command, "SELECT 99", "{kind:?}");
                assert_eq!(source.kind(), ServerErrorKind::Err, "{kind:?}");
            }
            other => panic!("{kind:?}: not a handshake error: {other:?}"),
        }
    }
}

#[tokio::test]
async fn protocol_is_negotiated() {
    for kind in KINDS {
        let server = Server::start(kind);
        for (protocol, expected) in [(2, 2), (3, 3)] {
            let client = Client::connect(&format!("{}?protocol={protocol}", server.url()))
                .await
                .unwrap();
            let info: String = client.client_info().decode().await.unwrap();
            assert!(
                info.contains(&format!("resp={expected}")),
                "{kind:?}: {info}"
            );
        }
        // Default: RESP3.
        let client = Client::connect(&server.url()).await.unwrap();
        let info: String = client.client_info().decode().await.unwrap();
        assert!(info.contains("resp=3"), "{info}");
    }
}

#[tokio::test]
async fn unreachable_server_is_a_clear_io_error() {
    let port = support::free_port();
    let err = Client::connect(&format!("redis://127.0.0.1:{port}"))
        .await
        .unwrap_err();
    assert!(err.is_connection_error(), "{err:?}");
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
}

#[tokio::test]
async fn the_harness_picks_ports_in_options_again_when_one_is_taken() {
    // A cluster bus port held by someone else makes the server exit at start; the
    // harness must try again with fresh options, not the same taken port eight times.
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = held.local_addr().unwrap().port();
    let dir = std::env::temp_dir().join(format!("typedis-retry-{}-{taken}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("nodes.conf").to_str().unwrap().to_owned();
    let attempts = std::cell::Cell::new(0);
    let server = Server::start_with_fresh(Kind::Redis, || {
        attempts.set(attempts.get() + 1);
        let bus = if attempts.get() == 1 {
            taken
        } else {
            free_port()
        };
        ["--cluster-enabled", "yes", "--cluster-config-file", &conf]
            .map(str::to_owned)
            .into_iter()
            .chain(["--cluster-port".to_owned(), bus.to_string()])
            .collect()
    });
    assert!(
        attempts.get() >= 2,
        "the first attempt should have failed on the held port"
    );
    let client = Client::connect(&server.url()).await.unwrap();
    let pong = client.ping().await.unwrap();
    assert_eq!(&pong[..], b"PONG");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
