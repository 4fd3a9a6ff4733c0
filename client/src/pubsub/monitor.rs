//! `MONITOR`: [`Monitor`], a stream of every command the server runs, as
//! [`MonitorEvent`]s parsed from the server's lines.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::task::{open_connection, write_command};
use super::CHANNEL_CAPACITY;
use crate::error::{Error, Result};
use crate::pool::Pool;
use crate::value::Value;

/// One command seen by `MONITOR`.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorEvent {
    /// Server time of the command, in seconds since the Unix epoch.
    pub timestamp: f64,
    /// The database the command ran in.
    pub db: i64,
    /// Who sent it: `ip:port`, `unix:/path`, or `lua` for scripts.
    pub client: String,
    /// The command name and arguments, unescaped, as bytes.
    pub args: Vec<Bytes>,
}

impl MonitorEvent {
    /// Parses a MONITOR line: `1339518083.107412 [0 127.0.0.1:60866] "keys" "*"`.
    pub fn parse(line: &[u8]) -> Result<MonitorEvent> {
        let bad = || {
            Error::Protocol(format!(
                "unexpected MONITOR line {:?}",
                String::from_utf8_lossy(&line[..line.len().min(120)])
            ))
        };
        let text = line;
        let space = text.iter().position(|&b| b == b' ').ok_or_else(bad)?;
        let timestamp: f64 = std::str::from_utf8(&text[..space])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(bad)?;
        let rest = &text[space + 1..];
        let rest = rest.strip_prefix(b"[").ok_or_else(bad)?;
        let close = rest.iter().position(|&b| b == b']').ok_or_else(bad)?;
        let origin = std::str::from_utf8(&rest[..close]).map_err(|_| bad())?;
        let (db, client) = origin.split_once(' ').ok_or_else(bad)?;
        let db: i64 = db.parse().map_err(|_| bad())?;
        let args = parse_quoted(&rest[close + 1..]).ok_or_else(bad)?;
        Ok(MonitorEvent {
            timestamp,
            db,
            client: client.to_owned(),
            args,
        })
    }
}

/// Parses space-separated `"…"` strings with the escapes Redis' `sdscatrepr` writes.
fn parse_quoted(mut s: &[u8]) -> Option<Vec<Bytes>> {
    let mut out = Vec::new();
    loop {
        while let [b' ', rest @ ..] = s {
            s = rest;
        }
        if s.is_empty() {
            return Some(out);
        }
        s = s.strip_prefix(b"\"")?;
        let mut arg = Vec::new();
        loop {
            match s {
                [b'"', rest @ ..] => {
                    s = rest;
                    break;
                }
                [b'\\', b'x', h, l, rest @ ..] => {
                    let hex = |c: u8| (c as char).to_digit(16);
                    arg.push((hex(*h)? * 16 + hex(*l)?) as u8);
                    s = rest;
                }
                [b'\\', c, rest @ ..] => {
                    arg.push(match c {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'a' => 7,
                        b'b' => 8,
                        other => *other,
                    });
                    s = rest;
                }
                [c, rest @ ..] => {
                    arg.push(*c);
                    s = rest;
                }
                [] => return None,
            }
        }
        out.push(Bytes::from(arg));
    }
}

/// A `MONITOR` session: a `Stream` of every command the server runs.
///
/// ```no_run
/// # async fn f() -> typedis::Result<()> {
/// use futures_util::StreamExt;
/// let client = typedis::Client::connect("redis://127.0.0.1:6379").await?;
/// let mut monitor = client.monitor().await?;
/// while let Some(event) = monitor.next().await {
///     let event = event?;
///     println!("db {} {} {:?}", event.db, event.client, event.args);
/// }
/// # Ok(()) }
/// ```
pub struct Monitor {
    rx: mpsc::Receiver<Result<MonitorEvent>>,
    task: JoinHandle<()>,
}

impl fmt::Debug for Monitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Monitor").finish_non_exhaustive()
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Monitor {
    pub(crate) async fn open(pool: &Pool) -> Result<Monitor> {
        let mut conn = open_connection(pool).await?;
        write_command(&mut conn, b"MONITOR", &[]).await?;
        match conn.read_reply().await?.into_unattributed() {
            Value::Error(e) => return Err(Error::Server(e)),
            Value::SimpleString(_) => {}
            other => {
                return Err(Error::Protocol(format!(
                    "unexpected reply to MONITOR: {}",
                    other.kind_name()
                )))
            }
        }
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let task = tokio::spawn(async move {
            loop {
                let event = match conn.read_reply().await.map(Value::into_unattributed) {
                    Ok(Value::SimpleString(line)) | Ok(Value::Bulk(line)) => {
                        MonitorEvent::parse(&line)
                    }
                    Ok(other) => Err(Error::Protocol(format!(
                        "unexpected MONITOR frame: {}",
                        other.kind_name()
                    ))),
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                };
                if tx.send(event).await.is_err() {
                    return;
                }
            }
        });
        Ok(Monitor { rx, task })
    }

    /// The next event (`None` after the connection failed and the error was yielded).
    pub async fn next_event(&mut self) -> Option<Result<MonitorEvent>> {
        self.rx.recv().await
    }
}

impl Stream for Monitor {
    type Item = Result<MonitorEvent>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_monitor_lines() {
        let e = MonitorEvent::parse(
            br#"1339518083.107412 [0 127.0.0.1:60866] "set" "k\"ey" "a\x00b\n""#,
        )
        .unwrap();
        assert_eq!(e.db, 0);
        assert_eq!(e.client, "127.0.0.1:60866");
        assert_eq!(
            e.args,
            vec![
                Bytes::from("set"),
                Bytes::from("k\"ey"),
                Bytes::from(&b"a\x00b\n"[..])
            ]
        );
        let e = MonitorEvent::parse(br#"1.5 [3 lua] "get" "x""#).unwrap();
        assert_eq!((e.db, e.client.as_str()), (3, "lua"));
        assert!(MonitorEvent::parse(b"garbage").is_err());
        assert!(MonitorEvent::parse(br#"1.0 [0 x] "unterminated"#).is_err());
    }
}
