//! Where and how to connect: [`ConnectionInfo`], parsed from a URL or built in code.
//!
//! URLs: `redis://[user[:password]@]host[:port][/db][?options]`, `rediss://…` (TLS),
//! `unix:///path/to/socket[?db=2&password=…]` (also `redis+unix://`), and the
//! `valkey://` / `valkeys://` aliases. Options: `protocol=2|3`, `client_name=…`,
//! `health_check_interval=<seconds>`, `health_check_timeout=<seconds>`,
//! `connect_timeout=<seconds>`, and the decoder limits (`max_frame_bytes`, `max_bulk_len`,
//! `max_line_len`: bytes, with an optional `k`/`kb`/`m`/`mb`/`g`/`gb` suffix as in the
//! server's own configuration; `max_aggregate_len`, `max_depth`: counts), and
//! `connections=<n>` (multiplexed connections of a `Client`). Passwords are
//! never shown: not in `Debug`, not in `Display`, not in errors.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::resp::Limits;

use super::tls::TlsConfig;

/// The protocol to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// RESP2 only (`protocol=2`): no `HELLO`.
    Resp2,
    /// RESP3 when the server has `HELLO 3`, else RESP2 (the default).
    Resp3,
}

/// The server's address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Addr {
    /// A TCP host and port.
    Tcp {
        /// Host name or IP address.
        host: String,
        /// Port.
        port: u16,
    },
    /// A Unix domain socket.
    Unix(PathBuf),
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Addr::Tcp { host, port } if host.contains(':') => write!(f, "[{host}]:{port}"),
            Addr::Tcp { host, port } => write!(f, "{host}:{port}"),
            Addr::Unix(p) => write!(f, "{}", p.display()),
        }
    }
}

/// A password that never shows up in `Debug` or `Display` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Wraps a password.
    pub fn new(p: impl Into<String>) -> Self {
        Password(p.into())
    }

    /// The password itself, for the handshake.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// The future a [`Resolver`] returns.
pub type ResolveFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<ConnectionInfo>> + Send>>;

/// Finds the address to connect to at connect time (e.g. asking Sentinel for the current
/// master). Called before every connection attempt, so a client follows failovers.
#[derive(Clone)]
pub struct Resolver(pub std::sync::Arc<dyn Fn() -> ResolveFuture + Send + Sync>);

impl fmt::Debug for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Resolver(..)")
    }
}

/// Everything needed to open and set up a connection.
#[derive(Debug, Clone)]
pub struct ConnectionInfo {
    /// Where the server is.
    pub addr: Addr,
    /// TLS settings (`rediss://`), if any.
    pub tls: Option<TlsConfig>,
    /// ACL user name (`AUTH user pass`), if any.
    pub username: Option<String>,
    /// Password, if any.
    pub password: Option<Password>,
    /// Database selected after connecting (default 0).
    pub db: i64,
    /// Protocol preference.
    pub protocol: Protocol,
    /// `CLIENT SETNAME` value, if any.
    pub client_name: Option<String>,
    /// How long connecting (TCP, TLS and handshake) may take (default 5 s).
    pub connect_timeout: Option<Duration>,
    /// PING before a command when the connection was idle longer than this; a
    /// connection with replies due that reads nothing for this long is presumed dead
    /// (see [`ClientConfig::health_check_interval`](crate::ClientConfig::health_check_interval)).
    /// Dedicated connections are PINGed when taken from the pool after being idle this
    /// long, and subscriber connections when they have read nothing for this long.
    pub health_check_interval: Option<Duration>,
    /// How long a health-check PING may take before the connection is presumed dead
    /// (default 2 s).
    pub health_check_timeout: Duration,
    /// Limits of the reply decoder (frame size, bulk and line length, …).
    pub limits: Limits,
    /// When set, asked for the actual settings before every connection attempt.
    pub resolver: Option<Resolver>,
    /// Send `READONLY` after the handshake, so a cluster replica serves reads
    /// (set by the cluster client on its node connections; harmless on a primary).
    pub readonly: bool,
    /// How many multiplexed connections a [`Client`](crate::Client) opens (default 1, URL
    /// `connections=`, at most [`MAX_CONNECTIONS`]; see
    /// [`ClientConfig::connections`](crate::ClientConfig::connections)).
    pub connections: usize,
    /// Send `CLIENT TRACKING ON` after the handshake (set by a client with a cache,
    /// [`ClientConfig::cache`](crate::ClientConfig::cache), on its multiplexed
    /// connections); needs RESP3.
    pub tracking: bool,
}

/// The most multiplexed connections one [`Client`](crate::Client) opens.
pub const MAX_CONNECTIONS: usize = 256;

const OPTIONS: &str = "protocol, client_name, health_check_interval, health_check_timeout, \
     connect_timeout, max_frame_bytes, max_bulk_len, max_line_len, max_aggregate_len, max_depth, \
     db, username, password, connections";

impl ConnectionInfo {
    /// A plain TCP connection to `host:port`, RESP3 preferred, db 0.
    pub fn tcp(host: impl Into<String>, port: u16) -> Self {
        ConnectionInfo {
            addr: Addr::Tcp {
                host: host.into(),
                port,
            },
            tls: None,
            username: None,
            password: None,
            db: 0,
            protocol: Protocol::Resp3,
            client_name: None,
            connect_timeout: Some(Duration::from_secs(5)),
            health_check_interval: None,
            health_check_timeout: Duration::from_secs(2),
            limits: Limits::default(),
            resolver: None,
            readonly: false,
            connections: 1,
            tracking: false,
        }
    }

    /// A Unix-socket connection.
    pub fn unix(path: impl Into<PathBuf>) -> Self {
        ConnectionInfo {
            addr: Addr::Unix(path.into()),
            ..ConnectionInfo::tcp("", 0)
        }
    }

    /// Sets the password.
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(Password::new(password));
        self
    }

    /// Sets the ACL user name.
    pub fn username(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self
    }

    /// Sets the database.
    pub fn db(mut self, db: i64) -> Self {
        self.db = db;
        self
    }

    /// Sets the protocol preference.
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// Sets the client name.
    pub fn client_name(mut self, name: impl Into<String>) -> Self {
        self.client_name = Some(name.into());
        self
    }

    /// Uses TLS with these settings.
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Sets the connect timeout.
    pub fn connect_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the health-check interval (`None`: no health checks).
    pub fn health_check_interval(mut self, interval: Option<Duration>) -> Self {
        self.health_check_interval = interval.filter(|d| !d.is_zero());
        self
    }

    /// Sets how long a health-check PING may take.
    pub fn health_check_timeout(mut self, timeout: Duration) -> Self {
        self.health_check_timeout = timeout;
        self
    }

    /// Sets the decoder limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Parses a connection URL: `redis://[user[:password]@]host[:port][/db][?options]`,
    /// `rediss://…` (TLS), `unix:///path[?db=2&password=…]`; options `protocol=2|3`,
    /// `client_name`, `health_check_interval`, `health_check_timeout` and
    /// `connect_timeout` (seconds), and the decoder limits `max_frame_bytes`,
    /// `max_bulk_len`, `max_line_len` (bytes, `64mb` style suffixes accepted),
    /// `max_aggregate_len` and `max_depth` (see [`Limits`]), and `connections` (how many
    /// multiplexed connections a `Client` opens).
    pub fn parse(input: &str) -> Result<Self> {
        let bad = |what: String| Error::InvalidUrl(format!("{what} in `{}`", redact(input)));
        let url = url::Url::parse(input).map_err(|e| bad(format!("cannot parse the URL ({e})")))?;
        let mut info = match url.scheme() {
            "redis" | "rediss" | "valkey" | "valkeys" => {
                let host = url
                    .host_str()
                    .filter(|h| !h.is_empty())
                    .ok_or_else(|| bad("no host".into()))?;
                let host = host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_owned();
                let mut info = ConnectionInfo::tcp(host, url.port().unwrap_or(6379));
                if matches!(url.scheme(), "rediss" | "valkeys") {
                    info.tls = Some(TlsConfig::new());
                }
                let path = url.path().trim_matches('/');
                if !path.is_empty() {
                    info.db = path
                        .parse()
                        .map_err(|_| bad(format!("the database `{path}` is not a number")))?;
                }
                info
            }
            "unix" | "redis+unix" | "valkey+unix" => {
                let path = url.path();
                if path.is_empty() || path == "/" {
                    return Err(bad("no socket path".into()));
                }
                ConnectionInfo::unix(path)
            }
            other => {
                return Err(bad(format!(
                    "unknown scheme `{other}` (expected redis, rediss, unix, valkey or valkeys)"
                )))
            }
        };
        let decode = |s: &str| {
            percent_decode(s)
                .ok_or_else(|| bad("invalid percent-encoding in the user or password".into()))
        };
        if !url.username().is_empty() {
            info.username = Some(decode(url.username())?);
        }
        if let Some(p) = url.password() {
            info.password = Some(Password(decode(p)?));
        }
        for (k, v) in url.query_pairs() {
            let secs = |v: &str| -> Result<Duration> {
                v.parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .map(Duration::from_secs_f64)
                    .ok_or_else(|| bad(format!("`{k}` must be a number of seconds, not `{v}`")))
            };
            let size = |v: &str| -> Result<usize> {
                parse_size(v).ok_or_else(|| {
                    bad(format!(
                        "`{k}` must be a number of bytes (e.g. 1048576, 512mb), not `{v}`"
                    ))
                })
            };
            let count = |v: &str| -> Result<usize> {
                v.parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| bad(format!("`{k}` must be a positive integer, not `{v}`")))
            };
            match k.as_ref() {
                "protocol" => {
                    info.protocol = match v.as_ref() {
                        "2" | "resp2" => Protocol::Resp2,
                        "3" | "resp3" => Protocol::Resp3,
                        other => {
                            return Err(bad(format!("`protocol` must be 2 or 3, not `{other}`")))
                        }
                    }
                }
                "client_name" => info.client_name = Some(v.into_owned()),
                "health_check_interval" => {
                    let d = secs(&v)?;
                    info.health_check_interval = (!d.is_zero()).then_some(d);
                }
                "health_check_timeout" => info.health_check_timeout = secs(&v)?,
                "connect_timeout" => {
                    let d = secs(&v)?;
                    info.connect_timeout = (!d.is_zero()).then_some(d);
                }
                "max_frame_bytes" => info.limits.max_frame_bytes = size(&v)?,
                "max_bulk_len" => info.limits.max_bulk_len = size(&v)?,
                "max_line_len" => info.limits.max_line_len = size(&v)?,
                "max_aggregate_len" => info.limits.max_aggregate_len = count(&v)?,
                "max_depth" => info.limits.max_depth = count(&v)?,
                "connections" => {
                    info.connections = count(&v)?;
                    if info.connections > MAX_CONNECTIONS {
                        return Err(bad(format!(
                            "`connections` must be at most {MAX_CONNECTIONS}, not `{v}`"
                        )));
                    }
                }
                "db" => {
                    info.db = v
                        .parse()
                        .map_err(|_| bad(format!("the database `{v}` is not a number")))?
                }
                "username" => info.username = Some(v.into_owned()),
                "password" => info.password = Some(Password(v.into_owned())),
                other => {
                    return Err(bad(format!(
                        "unknown option `{other}` (accepted: {OPTIONS})"
                    )))
                }
            }
        }
        Ok(info)
    }
}

/// A size in bytes as the servers' configuration writes it: `1024`, `64k` (×1000),
/// `64kb` (×1024), `512m`, `512mb`, `1g`, `1gb`; case-insensitive. Not zero.
fn parse_size(v: &str) -> Option<usize> {
    let v = v.trim().to_ascii_lowercase();
    let digits = v.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit: u64 = match &v[digits.len()..] {
        "" | "b" => 1,
        "k" => 1_000,
        "kb" => 1 << 10,
        "m" => 1_000_000,
        "mb" => 1 << 20,
        "g" => 1_000_000_000,
        "gb" => 1 << 30,
        _ => return None,
    };
    let n: u64 = digits.parse().ok()?;
    let bytes = n.checked_mul(unit)?;
    usize::try_from(bytes).ok().filter(|b| *b > 0)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The URL with any password replaced by `***`, for messages.
fn redact(input: &str) -> String {
    match url::Url::parse(input) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            let pairs: Vec<(String, String)> = u
                .query_pairs()
                .map(|(k, v)| {
                    let v = if k == "password" {
                        "***".into()
                    } else {
                        v.into_owned()
                    };
                    (k.into_owned(), v)
                })
                .collect();
            if !pairs.is_empty() {
                u.query_pairs_mut().clear().extend_pairs(pairs);
            }
            u.to_string()
        }
        // Not a URL at all: show only the scheme-ish prefix, never what could be a secret.
        Err(_) => input.split('@').next_back().unwrap_or("").to_owned(),
    }
}

impl fmt::Display for ConnectionInfo {
    /// The connection as a URL, password redacted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match (&self.addr, &self.tls) {
            (Addr::Unix(_), _) => "unix",
            (_, Some(_)) => "rediss",
            _ => "redis",
        };
        write!(f, "{scheme}://")?;
        if let Some(u) = &self.username {
            write!(f, "{u}")?;
        }
        if self.password.is_some() {
            write!(f, ":***")?;
        }
        if self.username.is_some() || self.password.is_some() {
            write!(f, "@")?;
        }
        write!(f, "{}", self.addr)?;
        if self.db != 0 {
            match self.addr {
                Addr::Unix(_) => write!(f, "?db={}", self.db)?,
                _ => write!(f, "/{}", self.db)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tcp_urls() {
        let i = ConnectionInfo::parse("redis://ann:p%40ss@127.0.0.1:6380/3?protocol=2&client_name=web&health_check_interval=30&connect_timeout=1.5").unwrap();
        assert_eq!(
            i.addr,
            Addr::Tcp {
                host: "127.0.0.1".into(),
                port: 6380
            }
        );
        assert_eq!(i.username.as_deref(), Some("ann"));
        assert_eq!(i.password.as_ref().map(Password::expose), Some("p@ss"));
        assert_eq!(i.db, 3);
        assert_eq!(i.protocol, Protocol::Resp2);
        assert_eq!(i.client_name.as_deref(), Some("web"));
        assert_eq!(i.health_check_interval, Some(Duration::from_secs(30)));
        assert_eq!(i.connect_timeout, Some(Duration::from_millis(1500)));
        let i = ConnectionInfo::parse("redis://[::1]").unwrap();
        assert_eq!(
            i.addr,
            Addr::Tcp {
                host: "::1".into(),
                port: 6379
            }
        );
        assert!(ConnectionInfo::parse("rediss://example.com")
            .unwrap()
            .tls
            .is_some());
        assert_eq!(
            ConnectionInfo::parse("redis://:secret@h")
                .unwrap()
                .password
                .unwrap()
                .expose(),
            "secret"
        );
    }

    #[test]
    fn decoder_limits_and_health_check_timeout_come_from_the_url() {
        let i = ConnectionInfo::parse(
            "redis://h?max_frame_bytes=64mb&max_bulk_len=1048576&max_line_len=4kb&max_aggregate_len=1000&max_depth=16&health_check_timeout=0.5&health_check_interval=1",
        )
        .unwrap();
        assert_eq!(i.limits.max_frame_bytes, 64 << 20);
        assert_eq!(i.limits.max_bulk_len, 1 << 20);
        assert_eq!(i.limits.max_line_len, 4096);
        assert_eq!(i.limits.max_aggregate_len, 1000);
        assert_eq!(i.limits.max_depth, 16);
        assert_eq!(i.health_check_timeout, Duration::from_millis(500));
        assert_eq!(i.health_check_interval, Some(Duration::from_secs(1)));
        let d = ConnectionInfo::parse("redis://h").unwrap();
        assert_eq!(d.limits, Limits::default());
        assert_eq!(d.health_check_timeout, Duration::from_secs(2));
        assert_eq!(d.connections, 1);
        assert_eq!(
            ConnectionInfo::parse("redis://h?connections=8")
                .unwrap()
                .connections,
            8
        );
        assert_eq!(parse_size("2GB"), Some(2usize << 30));
        assert_eq!(parse_size("2g"), Some(2_000_000_000));
        assert_eq!(parse_size("3k"), Some(3000));
        for bad in ["0", "-1", "1tb", "mb", "1.5mb", ""] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
        for (url, msg) in [
            (
                "redis://h?max_frame_bytes=lots",
                "`max_frame_bytes` must be a number of bytes",
            ),
            (
                "redis://h?max_depth=0",
                "`max_depth` must be a positive integer",
            ),
            (
                "redis://h?max_aggregate_len=-3",
                "`max_aggregate_len` must be a positive integer",
            ),
            ("redis://h?health_check_timeout=x", "health_check_timeout"),
            ("redis://h?max_frames=1", "max_frame_bytes"),
        ] {
            let e = ConnectionInfo::parse(url).unwrap_err().to_string();
            assert!(e.contains(msg), "{url}: {e}");
        }
    }

    #[test]
    fn parses_unix_urls() {
        let i = ConnectionInfo::parse("unix:///tmp/redis.sock?db=2&password=pw").unwrap();
        assert_eq!(i.addr, Addr::Unix("/tmp/redis.sock".into()));
        assert_eq!(i.db, 2);
        assert!(i.password.is_some());
        assert!(ConnectionInfo::parse("redis+unix:///s").is_ok());
    }

    #[test]
    fn bad_urls_say_what_is_wrong() {
        let cases = [
            ("http://h", "unknown scheme `http`"),
            ("redis://h:99999", "cannot parse"),
            ("redis://h/abc", "database `abc`"),
            ("redis://h?colour=red", "unknown option `colour`"),
            ("redis://h?protocol=4", "`protocol` must be 2 or 3"),
            (
                "redis://h?connections=0",
                "`connections` must be a positive integer",
            ),
            (
                "redis://h?connections=100000",
                "`connections` must be at most 256",
            ),
            (
                "redis://h?health_check_interval=soon",
                "health_check_interval",
            ),
            ("unix://", "no socket path"),
            ("not a url", "cannot parse"),
        ];
        for (url, msg) in cases {
            let e = ConnectionInfo::parse(url).unwrap_err().to_string();
            assert!(e.contains(msg), "{url}: {e}");
        }
    }

    #[test]
    fn passwords_never_show() {
        let url = "redis://user:hunter2@127.0.0.1:6379/1?password=hunter2";
        let i = ConnectionInfo::parse(url).unwrap();
        assert!(!format!("{i:?}").contains("hunter2"));
        assert!(!i.to_string().contains("hunter2"));
        assert_eq!(i.to_string(), "redis://user:***@127.0.0.1:6379/1");
        let e = ConnectionInfo::parse("redis://user:hunter2@h?bogus=1").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert!(!format!("{e:?}").contains("hunter2"));
    }
}
