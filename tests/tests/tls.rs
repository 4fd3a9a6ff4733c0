//! TLS against Debian's redis-server (`--tls-port`) with certificates made here:
//! verified connections work; a wrong host name and an unknown CA are refused with a
//! clear error unless verification is explicitly turned off; client certificates.

mod support;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
use support::{free_port, Kind, Server};
use typedis::connection::ConnectionInfo;
use typedis::prelude::*;
use typedis::{Client, ClientConfig, Error, TlsConfig};

struct Pki {
    ca_pem: String,
    dir: std::path::PathBuf,
}

struct Issued {
    cert_pem: String,
    key_pem: String,
}

fn ca(name: &str) -> (CertificateParams, KeyPair, String) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let pem = params.self_signed(&key).unwrap().pem();
    (params, key, pem)
}

fn issue(ca: &CertificateParams, ca_key: &KeyPair, names: &[&str]) -> Issued {
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    params
        .subject_alt_names
        .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
    params.distinguished_name.push(DnType::CommonName, names[0]);
    let issuer = rcgen::Issuer::from_params(ca, ca_key);
    let cert = params.signed_by(&key, &issuer).unwrap();
    Issued {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_owned()
}

/// A TLS redis-server whose certificate is valid for `localhost` and 127.0.0.1.
fn tls_server(auth_clients: &str) -> (Server, u16, Pki, Issued) {
    let dir = std::env::temp_dir().join(format!(
        "typedis-tls-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let (ca_cert, ca_key, ca_pem) = ca("typedis test CA");
    let server_cert = issue(&ca_cert, &ca_key, &["localhost"]);
    let client_cert = issue(&ca_cert, &ca_key, &["typedis-client"]);
    let ca_file = write(&dir, "ca.pem", &ca_pem);
    let cert_file = write(&dir, "server.pem", &server_cert.cert_pem);
    let key_file = write(&dir, "server.key", &server_cert.key_pem);
    // The TLS port is picked again with every start attempt (one taken meanwhile would
    // make every retry fail); the one of the attempt that started is kept.
    let tls_port = std::cell::Cell::new(0);
    let server = Server::start_with_fresh(Kind::Redis, || {
        tls_port.set(free_port());
        [
            "--tls-port",
            &tls_port.get().to_string(),
            "--tls-cert-file",
            &cert_file,
            "--tls-key-file",
            &key_file,
            "--tls-ca-cert-file",
            &ca_file,
            "--tls-auth-clients",
            auth_clients,
        ]
        .map(str::to_owned)
        .to_vec()
    });
    (server, tls_port.get(), Pki { ca_pem, dir }, client_cert)
}

async fn connect(info: ConnectionInfo) -> typedis::Result<Client> {
    Client::with_config(ClientConfig::from_info(info)).await
}

#[tokio::test]
async fn verified_tls_works_and_bad_certificates_are_refused() {
    let (_server, port, pki, _) = tls_server("no");
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
    let _ = std::fs::remove_dir_all(&pki.dir);
}

#[tokio::test]
async fn client_certificates() {
    let (_server, port, pki, client_cert) = tls_server("yes");
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
            client_cert.cert_pem.as_bytes(),
            client_cert.key_pem.as_bytes(),
        )
        .unwrap();
    let client = connect(ConnectionInfo::tcp("localhost", port).tls(with_cert))
        .await
        .unwrap();
    assert_eq!(client.ping().await.unwrap().as_ref(), b"PONG");
    let _ = std::fs::remove_dir_all(&pki.dir);
}
