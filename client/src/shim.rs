//! Temporary stand-ins for the connection layer and the RESP decoder, so the multiplexer
//! can be built and tested before those modules land. Plain TCP only, no AUTH/TLS.
//! Replaced by `crate::connection` and `crate::resp` (same names, same shapes).
#![allow(dead_code)]

use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::cmd::Args;
use crate::error::{Error, Result, ServerError};
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

/// Decoder limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_depth: usize,
    pub max_bulk: usize,
    pub max_aggregate: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 128,
            max_bulk: 512 * 1024 * 1024,
            max_aggregate: 1 << 30,
        }
    }
}

/// Minimal RESP2/RESP3 decoder.
#[derive(Debug, Clone)]
pub struct Decoder {
    limits: Limits,
}

impl Decoder {
    pub fn new(limits: Limits) -> Self {
        Decoder { limits }
    }

    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Value>> {
        let mut pos = 0;
        match parse(buf, &mut pos, 0, &self.limits)? {
            Some(v) => {
                buf.advance(pos);
                Ok(Some(v))
            }
            None => Ok(None),
        }
    }
}

fn line<'a>(buf: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    let rest = buf.get(*pos..)?;
    let i = rest.windows(2).position(|w| w == b"\r\n")?;
    *pos += i + 2;
    Some(&rest[..i])
}

fn int(l: &[u8]) -> Result<i64> {
    std::str::from_utf8(l)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Error::Protocol(format!("bad integer {:?}", String::from_utf8_lossy(l))))
}

fn parse(buf: &[u8], pos: &mut usize, depth: usize, lim: &Limits) -> Result<Option<Value>> {
    if depth > lim.max_depth {
        return Err(Error::Protocol("nesting too deep".into()));
    }
    let Some(&t) = buf.get(*pos) else {
        return Ok(None);
    };
    *pos += 1;
    let Some(l) = line(buf, pos) else {
        return Ok(None);
    };
    let blob = |pos: &mut usize, n: i64| -> Result<Option<Bytes>> {
        if n < 0 || n as usize > lim.max_bulk {
            return Err(Error::Protocol(format!("bad bulk length {n}")));
        }
        let n = n as usize;
        if buf.len() < *pos + n + 2 {
            return Ok(None);
        }
        let b = Bytes::copy_from_slice(&buf[*pos..*pos + n]);
        *pos += n + 2;
        Ok(Some(b))
    };
    let agg = |pos: &mut usize, n: usize| -> Result<Option<Vec<Value>>> {
        if n > lim.max_aggregate {
            return Err(Error::Protocol("aggregate too large".into()));
        }
        let mut v = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            match parse(buf, pos, depth + 1, lim)? {
                Some(x) => v.push(x),
                None => return Ok(None),
            }
        }
        Ok(Some(v))
    };
    Ok(Some(match t {
        b'+' => Value::SimpleString(Bytes::copy_from_slice(l)),
        b'-' => Value::Error(ServerError::parse(l)),
        b':' => Value::Int(int(l)?),
        b'$' => {
            let n = int(l)?;
            if n == -1 {
                Value::Nil
            } else {
                match blob(pos, n)? {
                    Some(b) => Value::Bulk(b),
                    None => return Ok(None),
                }
            }
        }
        b'!' => match blob(pos, int(l)?)? {
            Some(b) => Value::Error(ServerError::parse(&b)),
            None => return Ok(None),
        },
        b'=' => match blob(pos, int(l)?)? {
            Some(b) if b.len() >= 4 => Value::Verbatim {
                format: b.slice(..3),
                text: b.slice(4..),
            },
            Some(_) => return Err(Error::Protocol("bad verbatim".into())),
            None => return Ok(None),
        },
        b'_' => Value::Nil,
        b'#' => Value::Boolean(l == b"t"),
        b',' => Value::Double(
            std::str::from_utf8(l)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| Error::Protocol("bad double".into()))?,
        ),
        b'(' => Value::BigNumber(Bytes::copy_from_slice(l)),
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let n = int(l)?;
            if n == -1 && t == b'*' {
                return Ok(Some(Value::Nil));
            }
            if n < 0 {
                return Err(Error::Protocol(format!("bad aggregate length {n}")));
            }
            let n = n as usize;
            let m = if matches!(t, b'%' | b'|') { n * 2 } else { n };
            let Some(items) = agg(pos, m)? else {
                return Ok(None);
            };
            match t {
                b'*' => Value::Array(items),
                b'~' => Value::Set(items),
                b'>' => Value::Push(items),
                b'%' => Value::Map(pairs(items)),
                _ => {
                    let Some(v) = parse(buf, pos, depth + 1, lim)? else {
                        return Ok(None);
                    };
                    Value::Attribute {
                        attributes: pairs(items),
                        value: Box::new(v),
                    }
                }
            }
        }
        other => return Err(Error::Protocol(format!("unknown type byte {other:#x}"))),
    }))
}

fn pairs(items: Vec<Value>) -> Vec<(Value, Value)> {
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((k, v));
    }
    out
}
