//! TLS settings when typedis is built without the `tls` feature: the same API, and a
//! clear error when a TLS connection is attempted.

use crate::error::{Error, Result};

fn unavailable() -> Error {
    Error::Tls("typedis was built without TLS support: enable the `tls` feature".into())
}

/// TLS settings of a connection (TLS support is not compiled in; see the `tls` feature).
#[derive(Debug, Clone, Default)]
pub struct TlsConfig {
    _private: (),
}

impl TlsConfig {
    /// Verification on.
    pub fn new() -> Self {
        TlsConfig::default()
    }

    /// Not available without the `tls` feature.
    pub fn root_ca_pem(self, _pem: &[u8]) -> Result<Self> {
        Err(unavailable())
    }

    /// Not available without the `tls` feature.
    pub fn client_cert_pem(self, _cert_chain: &[u8], _key: &[u8]) -> Result<Self> {
        Err(unavailable())
    }

    /// Checks the certificate against this name.
    pub fn server_name(self, _name: impl Into<String>) -> Self {
        self
    }

    /// **Disables certificate verification** (when TLS is compiled in).
    pub fn danger_accept_invalid_certificates(self) -> Self {
        self
    }

    pub(crate) fn unavailable(&self) -> Error {
        unavailable()
    }
}
