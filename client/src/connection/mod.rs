//! Opening connections: transport ([`Stream`]: TCP, Unix socket, TLS), URL parsing
//! ([`ConnectionInfo`]) and the handshake (`HELLO 3 AUTH … SETNAME …`, falling back to
//! `AUTH` + RESP2 where `HELLO` is missing or `protocol=2`; then `SELECT`).
//!
//! Owns: getting from a URL to a ready [`Connection`], and reading frames from one
//! connection (telling replies from push frames by [`Value::is_push`]). Does not own:
//! what runs over it (the multiplexer, the pool, PubSub).

mod handshake;
mod info;
mod stream;
#[cfg(feature = "tls")]
mod tls;
#[cfg(not(feature = "tls"))]
#[path = "tls_off.rs"]
mod tls;

use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::error::{Error, Result};
use crate::resp::Decoder;
use crate::value::Value;

pub(crate) use handshake::{configure, request};
pub use info::{
    Addr, ConnectionInfo, Password, Protocol, ResolveFuture, Resolver, MAX_CONNECTIONS,
};
pub(crate) use stream::{open_stream, Stream, WriteHalf};
pub use tls::TlsConfig;

/// A connection after the handshake.
#[derive(Debug)]
pub struct Connection {
    /// The transport.
    pub stream: Stream,
    /// Bytes already read past the handshake (normally empty).
    pub read_buf: BytesMut,
    /// The decoder for this connection's replies.
    pub decoder: Decoder,
    /// The protocol negotiated.
    pub protocol: Protocol,
    /// `server` and `version` from `HELLO`, when the server answered it.
    pub server: Option<(String, String)>,
    /// The health-check interval and PING timeout of the settings it was opened with.
    pub(crate) health_check: Option<(Duration, Duration)>,
    /// Where it is connected (after a resolver, e.g. Sentinel, named the node).
    #[cfg_attr(not(any(feature = "tracing", feature = "metrics")), allow(dead_code))]
    pub(crate) addr: Addr,
}

impl Connection {
    /// Reads the next reply: the next frame that is not a push (RESP3 push frames, with
    /// or without attributes, answer no command and are skipped). Cancellation safe, as
    /// [`Connection::read_frame`].
    pub async fn read_reply(&mut self) -> Result<Value> {
        loop {
            let v = self.read_frame().await?;
            if !v.is_push() {
                return Ok(v);
            }
        }
    }

    /// Sends `PING` and waits at most `timeout` for its reply (any reply: an error such
    /// as `NOAUTH` still proves the peer alive). For a connection with nothing pending.
    pub(crate) async fn ping(&mut self, timeout: Duration) -> Result<()> {
        let work = async {
            self.stream
                .write_all(b"*1\r\n$4\r\nPING\r\n")
                .await
                .map_err(|e| Error::io("sending a health-check PING", e))?;
            self.stream
                .flush()
                .await
                .map_err(|e| Error::io("sending a health-check PING", e))?;
            self.read_reply().await
        };
        match tokio::time::timeout(timeout, work).await {
            Ok(r) => r.map(drop),
            Err(_) => Err(Error::ConnectionClosed(format!(
                "health check: no answer to PING within {timeout:?} (health_check_timeout)"
            ))),
        }
    }

    /// Reads the next frame of any kind (push frames included). Cancellation safe: a
    /// future dropped while waiting loses no bytes (they stay in `read_buf`).
    pub async fn read_frame(&mut self) -> Result<Value> {
        loop {
            if let Some(v) = self.decoder.decode(&mut self.read_buf)? {
                return Ok(v);
            }
            if self.read_buf.capacity() - self.read_buf.len() < 4096 {
                self.read_buf.reserve(64 * 1024);
            }
            let n = self
                .stream
                .read_buf(&mut self.read_buf)
                .await
                .map_err(|e| Error::io("reading from the server", e))?;
            if n == 0 {
                return Err(Error::ConnectionClosed(
                    "the server closed the connection".into(),
                ));
            }
        }
    }
}

/// Opens a connection and performs the handshake, within `info.connect_timeout`.
pub(crate) async fn connect(info: &ConnectionInfo) -> Result<Connection> {
    let resolved;
    let info = match &info.resolver {
        Some(r) => {
            resolved = (r.0)().await?;
            &resolved
        }
        None => info,
    };
    let work = async {
        let stream = open_stream(info).await?;
        handshake::run(info, stream).await
    };
    match info.connect_timeout {
        Some(d) => tokio::time::timeout(d, work).await.map_err(|_| {
            let addr = info.addr.to_string();
            Error::timeout(crate::error::TimeoutKind::Connect { addr }, d)
        })?,
        None => work.await,
    }
}
