//! TLS against Debian's redis-server (`--tls-port`) with certificates made here:
//! verified connections work; a wrong host name and an unknown CA are refused with a
//! clear error unless verification is explicitly turned off; client certificates.

mod support;

use support::{free_port, Kind, Pki, Server};
use typedis::prelude::*;
use typedis::ConnectionInfo;
use typedis::{Client, ClientConfig, Error, TlsConfig};

/// A TLS redis-server whose certificate is valid for `localhost` and 127.0.0.1
/// (`tls-auth-clients` as given: `yes` asks for the PKI's client certificate).
fn tls_server(auth_clients: &str) -> (Server, u16, Pki) {
    let pki = Pki::new();
    // The TLS port is picked again with every start attempt (one taken meanwhile would
    // make every retry fail); the one of the attempt that started is kept.
    let tls_port = std::cell::Cell::new(0);
    let server = Server::start_with_fresh(Kind::Redis, || {
        tls_port.set(free_port());
        [
            "--tls-port",
            &tls_port.get().to_string(),
            "--tls-cert-file",
            &pki.cert_file,
            "--tls-key-file",
            &pki.key_file,
            "--tls-ca-cert-file",
            &pki.ca_file,
            "--tls-auth-clients",
            auth_clients,
        ]
        .map(str::to_owned)
        .to_vec()
    });
    (server, tls_port.get(), pki)
}

async fn connect(info: ConnectionInfo) -> typedis::Result<Client> {
    Client::with_config(ClientConfig::from_info(info)).await
}

#[tokio::test]
async fn verified_tls_works_and_bad_certificates_are_refused() {
    let (_server, port, pki) = tls_server("no");
    let trusted = TlsConfig::new().root_ca_pem(pki.ca_pem.as_bytes()).unwrap();

    // Verified, by host name.
    let client = connect(ConnectionInfo::tcp("localhost", port).tls(trusted.clone()))
        .await
        .unwrap();
    client.set("tls", "yes").await.unwrap();
    let v: Option<String> = client.get("tls").decode().await.unwrap();
    assert_eq!(v.as_deref(), Some("yes"));
    // By IP (the certificate has the 127.0.0.1 SAN), RESP2 too.
    let client = connect(
        ConnectionInfo::tcp("127.0.0.1", port)
            .tls(trusted.clone())
            .protocol(typedis::Protocol::Resp2),
    )
    .await
    .unwrap();
    assert_eq!(client.ping().await.unwrap().as_ref(), b"PONG");

    // Wrong host name: refused, with a hint.
    let err = connect(
        ConnectionInfo::tcp("127.0.0.1", port).tls(trusted.clone().server_name("db.example.com")),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Tls(_)), "{err:?}");
    assert!(err.to_string().contains("another host name"), "{err}");

    // Unknown CA (the default Mozilla roots): refused, with a hint.
    let err = connect(ConnectionInfo::tcp("localhost", port).tls(TlsConfig::new()))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Tls(_)), "{err:?}");
    assert!(err.to_string().contains("root_ca_pem"), "{err}");

    // The loud opt-out connects anyway.
    let insecure = TlsConfig::new()
        .server_name("db.example.com")
        .danger_accept_invalid_certificates();
    let client = connect(ConnectionInfo::tcp("127.0.0.1", port).tls(insecure))
        .await
        .unwrap();
    assert_eq!(client.ping().await.unwrap().as_ref(), b"PONG");

    // rediss:// URLs use TLS (and verify: the test CA is unknown to the default roots).
    let err = Client::connect(&format!("rediss://localhost:{port}"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Tls(_)), "{err:?}");
}

#[tokio::test]
async fn client_certificates() {
    let (_server, port, pki) = tls_server("yes");
    let trusted = TlsConfig::new().root_ca_pem(pki.ca_pem.as_bytes()).unwrap();
    // Without a client certificate the server refuses the handshake.
    let refused = connect(ConnectionInfo::tcp("localhost", port).tls(trusted.clone())).await;
    match refused {
        Err(e) => assert!(
            e.is_connection_error() || matches!(e, Error::Tls(_)),
            "{e:?}"
        ),
        // TLS 1.3 may only notice on the first read.
        Ok(c) => assert!(c.ping().await.is_err()),
    }
    let with_cert = trusted
        .client_cert_pem(
            pki.client_cert_pem.as_bytes(),
            pki.client_key_pem.as_bytes(),
        )
        .unwrap();
    let client = connect(ConnectionInfo::tcp("localhost", port).tls(with_cert))
        .await
        .unwrap();
    assert_eq!(client.ping().await.unwrap().as_ref(), b"PONG");
}
