//! TLS settings and the rustls client configuration built from them.
//!
//! Server certificates are verified, host name included, against the CAs given with
//! [`TlsConfig::root_ca_pem`] or, when none is given, the Mozilla roots
//! (`webpki-roots`). Mutual TLS with [`TlsConfig::client_cert_pem`]. Turning
//! verification off takes a call named for what it is:
//! [`TlsConfig::danger_accept_invalid_certificates`].

use std::fmt;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use crate::error::{Error, Result};

/// TLS settings of a connection.
#[derive(Clone, Default)]
pub struct TlsConfig {
    roots: Vec<CertificateDer<'static>>,
    client: Option<(Vec<CertificateDer<'static>>, Arc<PrivateKeyDer<'static>>)>,
    insecure: bool,
    server_name: Option<String>,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("custom_roots", &self.roots.len())
            .field("client_certificate", &self.client.is_some())
            .field(
                "verification",
                &if self.insecure { "DISABLED" } else { "on" },
            )
            .field("server_name", &self.server_name)
            .finish()
    }
}

fn tls_err(what: &str, e: impl fmt::Display) -> Error {
    Error::Tls(format!("{what}: {e}"))
}

impl TlsConfig {
    /// Verification on, against the Mozilla roots until a CA is given.
    pub fn new() -> Self {
        TlsConfig::default()
    }

    /// Trusts the CA certificate(s) in this PEM text (instead of the Mozilla roots).
    pub fn root_ca_pem(mut self, pem: &[u8]) -> Result<Self> {
        let certs = CertificateDer::pem_slice_iter(pem)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| tls_err("cannot read the CA certificate PEM", e))?;
        if certs.is_empty() {
            return Err(Error::Tls("the CA PEM holds no certificate".into()));
        }
        self.roots.extend(certs);
        Ok(self)
    }

    /// Presents this client certificate chain and key (PEM) for mutual TLS.
    pub fn client_cert_pem(mut self, cert_chain: &[u8], key: &[u8]) -> Result<Self> {
        let certs = CertificateDer::pem_slice_iter(cert_chain)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| tls_err("cannot read the client certificate PEM", e))?;
        let key = PrivateKeyDer::from_pem_slice(key)
            .map_err(|e| tls_err("cannot read the client key PEM", e))?;
        self.client = Some((certs, Arc::new(key)));
        Ok(self)
    }

    /// Checks the certificate against this name instead of the host of the address.
    pub fn server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }

    /// **Disables certificate and host-name verification.** Anyone between the client
    /// and the server can then read and change the traffic. For tests only.
    pub fn danger_accept_invalid_certificates(mut self) -> Self {
        self.insecure = true;
        self
    }

    /// Connects TLS over `tcp` to `host`.
    pub(crate) async fn connect(
        &self,
        host: &str,
        tcp: tokio::net::TcpStream,
    ) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_err("TLS setup", e))?;
        let builder = if self.insecure {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnything(provider)))
        } else {
            let mut roots = rustls::RootCertStore::empty();
            if self.roots.is_empty() {
                roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            } else {
                for c in &self.roots {
                    roots
                        .add(c.clone())
                        .map_err(|e| tls_err("the CA certificate is not usable", e))?;
                }
            }
            builder.with_root_certificates(roots)
        };
        let config = match &self.client {
            Some((certs, key)) => builder
                .with_client_auth_cert(certs.clone(), key.clone_key())
                .map_err(|e| tls_err("the client certificate or key is not usable", e))?,
            None => builder.with_no_client_auth(),
        };
        let name = self.server_name.as_deref().unwrap_or(host);
        let server_name = ServerName::try_from(name.to_owned())
            .map_err(|_| Error::Tls(format!("`{name}` is not a valid TLS server name")))?;
        tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(server_name, tcp)
            .await
            .map_err(|e| {
                let text = e.to_string().to_lowercase();
                let hint = if text.contains("unknownissuer") || text.contains("unknown issuer") {
                    "; the server's certificate is not signed by a trusted CA: pass it with TlsConfig::root_ca_pem"
                } else if text.contains("notvalidforname") || text.contains("not valid for name") {
                    "; the certificate is for another host name: connect by that name or set TlsConfig::server_name"
                } else {
                    ""
                };
                Error::Tls(format!("handshake with `{name}` failed: {e}{hint}"))
            })
    }
}

/// The verifier behind `danger_accept_invalid_certificates`: checks signatures (so the
/// handshake is still well-formed) but trusts any certificate for any name.
#[derive(Debug)]
struct AcceptAnything(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnything {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> std::result::Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
