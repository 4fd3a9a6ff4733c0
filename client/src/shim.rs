//! Temporary stand-ins for the connection layer and the RESP decoder, so the multiplexer
//! can be built and tested before those modules land. Plain TCP only, no AUTH/TLS.
//! Replaced by `crate::connection` and `crate::resp` (same names, same shapes).
#![allow(dead_code)]

use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::cmd::Args;
use crate::error::{Error, Result};
pub use crate::resp::{Decoder, Limits};
use crate::value::Value;

/// Protocol spoken on a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// RESP2.
    Resp2,
    /// RESP3.
    Resp3,
}

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct ConnectionInfo {
    pub addr: String,
    pub db: i64,
    pub protocol: Protocol,
    pub connect_timeout: Option<Duration>,
    pub health_check_interval: Option<Duration>,
}

impl ConnectionInfo {
    pub fn parse(url: &str) -> Result<Self> {
        let rest = url
            .strip_prefix("redis://")
            .ok_or_else(|| Error::InvalidUrl(format!("unsupported URL `{url}`")))?;
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (addr, db) = rest.split_once('/').unwrap_or((rest, ""));
        let db = if db.is_empty() {
            0
        } else {
            db.parse()
                .map_err(|_| Error::InvalidUrl(format!("bad db in `{url}`")))?
        };
        let mut info = ConnectionInfo {
            addr: addr.to_owned(),
            db,
            protocol: Protocol::Resp3,
            connect_timeout: Some(Duration::from_secs(5)),
            health_check_interval: None,
        };
        for kv in query.split('&').filter(|s| !s.is_empty()) {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            match k {
                "protocol" if v == "2" => info.protocol = Protocol::Resp2,
                "protocol" => info.protocol = Protocol::Resp3,
                "health_check_interval" => {
                    let secs: f64 = v
                        .parse()
                        .map_err(|_| Error::InvalidUrl(format!("bad {k} in `{url}`")))?;
                    info.health_check_interval = Some(Duration::from_secs_f64(secs));
                }
                _ => {}
            }
        }
        Ok(info)
    }
}

/// A handshaken connection.
pub struct Connection {
    pub stream: TcpStream,
    pub read_buf: BytesMut,
    pub decoder: Decoder,
    pub protocol: Protocol,
}

/// Connects and performs HELLO / SELECT.
pub async fn connect(info: &ConnectionInfo) -> Result<Connection> {
    let fut = TcpStream::connect(&info.addr);
    let stream = match info.connect_timeout {
        Some(d) => tokio::time::timeout(d, fut)
            .await
            .map_err(|_| Error::Timeout(d))?,
        None => fut.await,
    }
    .map_err(|e| Error::io(format!("connecting to {}", info.addr), e))?;
    let _ = stream.set_nodelay(true);
    let mut conn = Connection {
        stream,
        read_buf: BytesMut::with_capacity(16 * 1024),
        decoder: Decoder::new(Limits::default()),
        protocol: Protocol::Resp2,
    };
    if info.protocol == Protocol::Resp3 {
        let mut a = Args::new();
        a.push_bytes(b"HELLO");
        a.push_bytes(b"3");
        if !matches!(roundtrip(&mut conn, &a).await?, Value::Error(_)) {
            conn.protocol = Protocol::Resp3;
        }
    }
    if info.db != 0 {
        let mut a = Args::new();
        a.push_bytes(b"SELECT");
        a.push_i64(info.db);
        if let Value::Error(e) = roundtrip(&mut conn, &a).await? {
            return Err(Error::Handshake(e.to_string()));
        }
    }
    Ok(conn)
}

async fn roundtrip(conn: &mut Connection, args: &Args) -> Result<Value> {
    let mut out = BytesMut::new();
    args.write_command(&mut out);
    conn.stream
        .write_all(&out)
        .await
        .map_err(|e| Error::io("handshake", e))?;
    loop {
        if let Some(v) = conn.decoder.decode(&mut conn.read_buf)? {
            return Ok(v);
        }
        let n = conn
            .stream
            .read_buf(&mut conn.read_buf)
            .await
            .map_err(|e| Error::io("handshake", e))?;
        if n == 0 {
            return Err(Error::ConnectionClosed("closed during handshake".into()));
        }
    }
}
