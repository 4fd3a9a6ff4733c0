//! The handshake: `HELLO 3 [AUTH user pass] [SETNAME name]`, or — when `protocol=2` or
//! the server has no `HELLO` — `AUTH [user] pass` and `CLIENT SETNAME` on RESP2; then
//! `SELECT db`, `READONLY` for cluster replicas, and `CLIENT TRACKING ON` for a client
//! with a cache (RESP3 only: on RESP2 the connection is refused). Errors say what failed without ever showing the password.
//!
//! Each request waits for its reply, skipping push frames (by [`Value::is_push`], so also
//! attributed ones); replies are judged by what they are under their attributes. Once a
//! reply is in, nothing else is due, so whatever else was read with it must be push
//! frames ([`unsolicited`]): any other frame would be taken for the next request's reply,
//! or the first command's, so the connection is refused. (A frame nobody asked for that
//! arrives in a later read, while the next request is out, cannot be told from that
//! request's reply: see ARCHITECTURE.md's invariants.)

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::cmd::Args;
use crate::error::{AuthErrorKind, Error, Result, ServerErrorKind, UsageKind};
use crate::resp::{unsolicited, Decoder, Unsolicited};
use crate::value::Value;

use super::{Connection, ConnectionInfo, Protocol, Stream};

pub(super) async fn run(info: &ConnectionInfo, stream: Stream) -> Result<Connection> {
    let mut conn = Connection {
        stream,
        read_buf: BytesMut::with_capacity(16 * 1024),
        decoder: Decoder::new(info.limits),
        protocol: Protocol::Resp2,
        server: None,
        health_check: info
            .health_check_interval
            .map(|i| (i, info.health_check_timeout)),
        addr: info.addr.clone(),
    };
    configure(info, &mut conn).await?;
    Ok(conn)
}

/// Puts a connection on RESP2 with the default user and database 0 (a new one, or one
/// after `RESET`) into the configured state: protocol, user, name, database, `READONLY`,
/// tracking.
pub(crate) async fn configure(info: &ConnectionInfo, conn: &mut Connection) -> Result<()> {
    conn.protocol = Protocol::Resp2;
    let mut authed = false;
    if info.protocol == Protocol::Resp3 {
        let mut hello = Args::new();
        hello.push_bytes(b"HELLO");
        hello.push_bytes(b"3");
        if let Some(p) = &info.password {
            hello.push_bytes(b"AUTH");
            hello.push_bytes(info.username.as_deref().unwrap_or("default").as_bytes());
            hello.push_bytes(p.expose().as_bytes());
        }
        if let Some(name) = &info.client_name {
            hello.push_bytes(b"SETNAME");
            hello.push_bytes(name.as_bytes());
        }
        match request(conn, &hello).await? {
            Value::Error(e) => match e.kind() {
                ServerErrorKind::WrongPass | ServerErrorKind::NoPerm => {
                    return Err(auth_error(info, e))
                }
                // No HELLO (unknown command) or no RESP3 (NOPROTO): stay on RESP2.
                _ => {}
            },
            reply @ (Value::Map(_) | Value::Array(_)) => {
                conn.protocol = Protocol::Resp3;
                authed = true;
                conn.server = server_of(reply);
            }
            other => {
                return Err(Error::Protocol(format!(
                    "the server answered HELLO with a {}, not a map",
                    other.kind_name()
                )))
            }
        }
    }
    if !authed {
        if let Some(p) = &info.password {
            let mut auth = Args::new();
            auth.push_bytes(b"AUTH");
            if let Some(u) = &info.username {
                auth.push_bytes(u.as_bytes());
            }
            auth.push_bytes(p.expose().as_bytes());
            if let Value::Error(e) = request(conn, &auth).await? {
                return Err(auth_error(info, e));
            }
        }
        if let Some(name) = &info.client_name {
            let mut setname = Args::new();
            setname.push_bytes(b"CLIENT");
            setname.push_bytes(b"SETNAME");
            setname.push_bytes(name.as_bytes());
            if let Value::Error(e) = request(conn, &setname).await? {
                return Err(refused(format!("CLIENT SETNAME {name}"), e));
            }
        }
    }
    if info.db != 0 {
        let mut select = Args::new();
        select.push_bytes(b"SELECT");
        select.push_i64(info.db);
        if let Value::Error(e) = request(conn, &select).await? {
            return Err(refused(format!("SELECT {}", info.db), e));
        }
    }
    if info.readonly {
        let mut readonly = Args::new();
        readonly.push_bytes(b"READONLY");
        if let Value::Error(e) = request(conn, &readonly).await? {
            return Err(refused("READONLY".into(), e));
        }
    }
    if info.tracking {
        // Invalidations come as push frames on this very connection (the default
        // mode), in wire order with its replies: RESP2 has no pushes.
        if conn.protocol != Protocol::Resp3 {
            return Err(Error::usage(
                UsageKind::InvalidConfig,
                "client-side caching needs RESP3 (the server did not accept HELLO 3, or \
                 the URL says protocol=2): remove the cache or connect with RESP3",
            ));
        }
        let mut tracking = Args::new();
        tracking.push_bytes(b"CLIENT");
        tracking.push_bytes(b"TRACKING");
        tracking.push_bytes(b"ON");
        if let Value::Error(e) = request(conn, &tracking).await? {
            return Err(refused("CLIENT TRACKING ON".into(), e));
        }
    }
    Ok(())
}

fn auth_error(info: &ConnectionInfo, e: crate::error::ServerError) -> Error {
    Error::Auth {
        kind: AuthErrorKind::of(&e),
        user: info.username.as_deref().unwrap_or("default").to_owned(),
        source: e,
    }
}

fn refused(command: String, e: crate::error::ServerError) -> Error {
    Error::Handshake { command, source: e }
}

/// Nothing is due once a request's reply is in, so anything read past it must be push
/// frames (left in the buffer for the connection's reader): any other frame would be taken
/// for the reply of the next request or of the first command. An incomplete frame that may
/// still be a push is read to its end first (within the connect timeout, like the whole
/// handshake).
async fn expect_nothing_more(conn: &mut Connection) -> Result<()> {
    while unsolicited(&conn.read_buf, conn.decoder.limits())? == Unsolicited::Incomplete {
        read_more(conn).await?;
    }
    Ok(())
}

async fn read_more(conn: &mut Connection) -> Result<()> {
    let n = conn
        .stream
        .read_buf(&mut conn.read_buf)
        .await
        .map_err(|e| Error::io("reading the handshake reply", e))?;
    if n == 0 {
        return Err(Error::ConnectionClosed(
            "the server closed the connection during the handshake".into(),
        ));
    }
    Ok(())
}

fn server_of(reply: Value) -> Option<(String, String)> {
    let pairs = match reply {
        Value::Map(p) => p,
        Value::Array(items) => {
            let mut it = items.into_iter();
            let mut out = Vec::new();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                out.push((k, v));
            }
            out
        }
        _ => return None,
    };
    let text = |v: &Value| match v {
        Value::Bulk(b) | Value::SimpleString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        _ => None,
    };
    let get = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| text(k).as_deref() == Some(key))
            .and_then(|(_, v)| text(v))
    };
    Some((get("server")?, get("version")?))
}

/// Sends one command and reads its reply, skipping RESP3 push frames; the reply comes
/// without its attributes (an attributed error is an error). Fails when anything but push
/// frames came with it.
pub(crate) async fn request(conn: &mut Connection, args: &Args) -> Result<Value> {
    let mut out = BytesMut::new();
    args.write_command(&mut out);
    conn.stream
        .write_all(&out)
        .await
        .map_err(|e| Error::io("sending the handshake", e))?;
    conn.stream
        .flush()
        .await
        .map_err(|e| Error::io("sending the handshake", e))?;
    loop {
        match conn.decoder.decode(&mut conn.read_buf)? {
            Some(v) if v.is_push() => continue,
            Some(v) => {
                expect_nothing_more(conn).await?;
                return Ok(v.into_unattributed());
            }
            None => read_more(conn).await?,
        }
    }
}
