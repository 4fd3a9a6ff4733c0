//! The one error type of the `typedis` crate.
//!
//! Every fallible operation returns [`Error`]. Server error replies keep their code
//! (`WRONGTYPE`, `NOSCRIPT`, `MOVED`, …) as data in [`ServerError`], so callers can match
//! on [`ServerErrorKind`] or use the predicates (`is_moved()`, `is_timeout()`, …) instead
//! of comparing strings. The other payloads say what kind of misuse, timeout or
//! refused authentication an error is (`kinds.rs`); `server.rs` reads the server's
//! error replies.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

mod kinds;
mod server;

pub use kinds::{AuthErrorKind, TimeoutKind, UsageKind};
pub use server::{ServerError, ServerErrorKind};

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong talking to Redis or Valkey.
///
/// `Error` is `Clone` (I/O errors are shared behind an `Arc`) because one broken
/// connection has to be reported to every caller that was waiting on it.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an error reply.
    #[error("server error: {0}")]
    Server(ServerError),

    /// The byte stream from the server is not valid RESP, breaks a configured limit
    /// ([`Limits`](crate::resp::Limits): nesting depth, bulk, aggregate or line length,
    /// frame size; the message names the limit), or holds a frame nobody asked for. The
    /// connection is closed after this.
    #[error("protocol error: {0}")]
    Protocol(String),

    /// A reply could not be converted into the requested Rust type.
    #[error("cannot decode reply: expected {expected}, got {got}")]
    Decode {
        /// What the target type accepts.
        expected: String,
        /// A short description of what the server sent.
        got: String,
    },

    /// A reading or writing error on the socket, or a refused connection.
    #[error("I/O error{}: {source}", context_suffix(.context))]
    Io {
        /// What was being done (e.g. "connecting to 127.0.0.1:6379").
        context: String,
        /// The underlying error.
        #[source]
        source: Arc<std::io::Error>,
    },

    /// The connection was closed (by the server, the network, or a protocol error)
    /// while this command was in flight or before it could be sent. The command may or
    /// may not have been executed. The next command reconnects.
    #[error("connection closed: {0}")]
    ConnectionClosed(String),

    /// Something did not complete within its timeout; [`TimeoutKind`] says which one.
    /// A command's reply, if it ever comes, is read and discarded; it is never
    /// delivered to another caller.
    #[error("{} timed out after {after:?}{}", kind.what(), kind.hint())]
    #[non_exhaustive]
    Timeout {
        /// Which timeout expired.
        kind: TimeoutKind,
        /// How long was waited.
        after: Duration,
    },

    /// A connection URL or option could not be understood.
    #[error("invalid connection URL or option: {0}")]
    InvalidUrl(String),

    /// Setting up TLS failed (bad certificate, unknown CA, wrong hostname, …).
    #[error("TLS error: {0}")]
    Tls(String),

    /// The client was used in a way the API does not allow (an empty command, a
    /// missing required argument, settings that cannot work together, …); [`UsageKind`]
    /// says which, the message says what to do instead. Nothing was sent.
    #[error("invalid client usage: {message}")]
    #[non_exhaustive]
    Usage {
        /// What kind of misuse.
        kind: UsageKind,
        /// What happened and what to do instead.
        message: Cow<'static, str>,
    },

    /// The server refused the credentials of the connection's settings during the
    /// handshake (`HELLO … AUTH` or `AUTH`). The password never appears in the error.
    #[error("authentication failed for user `{user}`: {source} ({})", kind.hint())]
    #[non_exhaustive]
    Auth {
        /// Why, as far as the server says.
        kind: AuthErrorKind,
        /// The user that was tried (`default` when the settings name none).
        user: String,
        /// The server's reply.
        #[source]
        source: ServerError,
    },

    /// A step of the connection handshake after authentication (`CLIENT SETNAME`,
    /// `SELECT`, `READONLY`, `CLIENT TRACKING ON`) was refused by the server.
    #[error("handshake failed: `{command}` was refused: {source}")]
    #[non_exhaustive]
    Handshake {
        /// The refused command, e.g. `SELECT 3`.
        command: String,
        /// The server's reply.
        #[source]
        source: ServerError,
    },

    /// A command that changes the state of the connection it runs on (`SELECT`,
    /// `CLIENT REPLY`, `MULTI`, `SUBSCRIBE`, …) was given to a handle that shares its
    /// connection with other callers (a `Client`, its pipelines, a `ClusterClient`).
    /// Nothing was sent.
    #[error("`{command}` was not sent: it changes the state of the connection it runs on, and this one is shared by every clone of the client ({reason}). Send it on a connection of your own: `let conn = client.dedicated().await?;` (in a cluster: `cluster.node(addr).await?.dedicated().await?`)")]
    SharedConnection {
        /// The command.
        command: String,
        /// Why it matters, from its spec.
        reason: &'static str,
    },

    /// The command was sent on a dedicated connection where the server was told not to
    /// reply (`CLIENT REPLY OFF`, or the one command after `CLIENT REPLY SKIP`), so
    /// whether it succeeded is not known.
    #[error("`{command}` was sent, but the server does not reply on this connection now (CLIENT REPLY OFF or SKIP), so whether it succeeded is not known; `CLIENT REPLY ON` brings replies back")]
    NoReply {
        /// The command.
        command: String,
    },

    /// A call of the blocking API (feature `blocking`) was made on a thread inside a
    /// Tokio runtime, where blocking would stall it (or deadlock, when the runtime is
    /// the one doing the I/O). Nothing was sent.
    #[error("a typedis::blocking call was made on a thread inside a Tokio runtime (an async task, `block_on`, `spawn_blocking`), where blocking would stall or deadlock it; nothing was sent. In async code use the async client (`blocking_client.as_async()`, awaited), or make the call from a thread of your own (`std::thread::spawn`)")]
    BlockingInRuntime,

    /// A transaction's EXEC was aborted because a WATCHed key changed.
    #[error("transaction aborted: a watched key was modified (retry the transaction)")]
    Watch,

    /// `watch_transaction` gave up: every one of its attempts met a conflicting write
    /// to a watched key ([`Error::Watch`]). Raise its attempt budget, or make the
    /// transaction's keys less contended.
    #[error("the transaction was aborted by conflicting writes to its watched keys {attempts} times in a row (its every attempt); raise max_attempts, or reduce contention on those keys")]
    WatchRetriesExhausted {
        /// How many times the transaction ran and was aborted.
        attempts: usize,
    },

    /// A command of a cluster `WATCH` session was redirected (`MOVED`, `ASK`): the slot
    /// of the watched keys is served, or being imported, by another node than the one
    /// that watches them, so the session can no longer guarantee anything. Nothing of a
    /// refused transaction ran. Start a new session (`watch_transaction` does, within
    /// its attempts).
    #[error("the slot {slot} of the watched keys moved away from the node of the WATCH session ({source}); nothing of a refused transaction ran: start a new session")]
    WatchSlotMoved {
        /// The slot of the watched keys.
        slot: u16,
        /// The server's redirection.
        #[source]
        source: ServerError,
    },

    /// A lock could not be acquired in time, or is no longer owned.
    #[error("lock error: {0}")]
    Lock(String),

    /// The keys of a command (or pipeline) hash to different cluster slots.
    #[error("keys of `{command}` map to different hash slots ({slots:?}); use hash tags like {{user1}}:a and {{user1}}:b to keep them together")]
    CrossSlot {
        /// The command name.
        command: String,
        /// The distinct slots seen.
        slots: Vec<u16>,
    },

    /// One command in a pipeline failed; the other replies are kept.
    #[error("command #{index} (`{command}`) of the pipeline failed: {source}")]
    Pipeline {
        /// Position of the failing command in the pipeline (0-based).
        index: usize,
        /// Its name.
        command: String,
        /// Why it failed.
        #[source]
        source: Box<Error>,
    },

    /// Cluster topology could not be discovered or a slot has no node.
    #[error("cluster error: {0}")]
    Cluster(String),

    /// A sentinel answered something unexpected.
    #[error("sentinel error: {0}")]
    Sentinel(String),

    /// None of the sentinels could be reached. A connection error
    /// ([`is_connection_error`](Error::is_connection_error)): they may be restarting.
    #[error("no sentinel could be reached; tried: {tried} (check that the sentinels run and that their addresses and credentials are right)")]
    SentinelUnreachable {
        /// Each sentinel asked, with why it could not be used.
        tried: String,
    },

    /// No sentinel knows a reachable master by this name. A connection error
    /// ([`is_connection_error`](Error::is_connection_error)): after a failover it can be
    /// transient.
    #[error("master `{name}` not found: no sentinel of [{sentinels}] knows a reachable master by that name (check the name given to `sentinel monitor`)")]
    MasterNotFound {
        /// The master name asked for.
        name: String,
        /// The sentinels that were asked.
        sentinels: String,
    },

    /// No replica of this master could be reached, and neither could the master (the
    /// fallback of a replica client). A connection error
    /// ([`is_connection_error`](Error::is_connection_error)).
    #[error("no replica of `{name}` found: the sentinels [{sentinels}] named no reachable replica, and no reachable master either (check the name given to `sentinel monitor`)")]
    ReplicaNotFound {
        /// The master name asked for.
        name: String,
        /// The sentinels that were asked.
        sentinels: String,
    },
}

fn context_suffix(context: &str) -> String {
    if context.is_empty() {
        String::new()
    } else {
        format!(" while {context}")
    }
}

impl Error {
    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source: Arc::new(source),
        }
    }

    /// A decode error with what was expected and a description of what was found.
    pub fn decode(expected: impl Into<String>, got: impl Into<String>) -> Self {
        Error::Decode {
            expected: expected.into(),
            got: got.into(),
        }
    }

    /// The server error, if this is one.
    pub fn server_error(&self) -> Option<&ServerError> {
        match self {
            Error::Server(e) => Some(e),
            Error::Pipeline { source, .. } => source.server_error(),
            _ => None,
        }
    }

    /// The kind of the server error, if this is one.
    pub fn server_kind(&self) -> Option<ServerErrorKind> {
        self.server_error().map(ServerError::kind)
    }

    /// `MOVED` redirection (cluster).
    pub fn is_moved(&self) -> bool {
        self.server_kind() == Some(ServerErrorKind::Moved)
    }

    /// `ASK` redirection (cluster).
    pub fn is_ask(&self) -> bool {
        self.server_kind() == Some(ServerErrorKind::Ask)
    }

    /// A connection-state command refused on a shared connection
    /// ([`Error::SharedConnection`]), also inside a pipeline.
    pub fn is_shared_connection(&self) -> bool {
        match self {
            Error::SharedConnection { .. } => true,
            Error::Pipeline { source, .. } => source.is_shared_connection(),
            _ => false,
        }
    }

    /// A command sent while the server was told not to reply ([`Error::NoReply`]).
    pub fn is_no_reply(&self) -> bool {
        matches!(self, Error::NoReply { .. })
    }

    /// A usage error ([`Error::Usage`]) of this kind, with what to do instead.
    pub fn usage(kind: UsageKind, message: impl Into<Cow<'static, str>>) -> Self {
        Error::Usage {
            kind,
            message: message.into(),
        }
    }

    /// A timeout ([`Error::Timeout`]) of this kind after waiting `after`.
    pub fn timeout(kind: TimeoutKind, after: Duration) -> Self {
        Error::Timeout { kind, after }
    }

    /// A client-side timeout ([`Error::Timeout`], any kind).
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. })
    }

    /// Which timeout expired, if this is a timeout.
    pub fn timeout_kind(&self) -> Option<&TimeoutKind> {
        match self {
            Error::Timeout { kind, .. } => Some(kind),
            _ => None,
        }
    }

    /// The kind of usage error, if this is one (also inside a pipeline).
    pub fn usage_kind(&self) -> Option<UsageKind> {
        match self {
            Error::Usage { kind, .. } => Some(*kind),
            Error::Pipeline { source, .. } => source.usage_kind(),
            _ => None,
        }
    }

    /// The credentials were refused or are missing: [`Error::Auth`] at the handshake,
    /// or a server's `NOAUTH` / `WRONGPASS` reply to a command (a connection made
    /// without a password to a server that requires one, an `AUTH` that failed). Not
    /// `NOPERM` on a command: that user is authenticated but may not run it.
    pub fn is_auth(&self) -> bool {
        matches!(self, Error::Auth { .. })
            || matches!(
                self.server_kind(),
                Some(ServerErrorKind::NoAuth | ServerErrorKind::WrongPass)
            )
    }

    /// Keys in different hash slots: refused before sending ([`Error::CrossSlot`]) or
    /// by the server (`CROSSSLOT`), also inside a pipeline.
    pub fn is_cross_slot(&self) -> bool {
        match self {
            Error::CrossSlot { .. } => true,
            Error::Pipeline { source, .. } => source.is_cross_slot(),
            _ => self.server_kind() == Some(ServerErrorKind::CrossSlot),
        }
    }

    /// A reply that could not be converted into the requested type ([`Error::Decode`]),
    /// also inside a pipeline.
    pub fn is_decode(&self) -> bool {
        match self {
            Error::Decode { .. } => true,
            Error::Pipeline { source, .. } => source.is_decode(),
            _ => false,
        }
    }

    /// The connection failed (also within `connect_timeout`: a
    /// [`TimeoutKind::Connect`] timeout) or was lost, no sentinel could be reached
    /// ([`Error::SentinelUnreachable`]), or Sentinel named no reachable node
    /// ([`Error::MasterNotFound`], [`Error::ReplicaNotFound`]).
    pub fn is_connection_error(&self) -> bool {
        matches!(
            self,
            Error::Io { .. }
                | Error::ConnectionClosed(_)
                | Error::Timeout {
                    kind: TimeoutKind::Connect { .. },
                    ..
                }
                | Error::SentinelUnreachable { .. }
                | Error::MasterNotFound { .. }
                | Error::ReplicaNotFound { .. }
        )
    }

    /// Whether retrying the same command later may succeed: connection loss,
    /// `TRYAGAIN`, `CLUSTERDOWN`, `LOADING`, `MASTERDOWN`, `BUSY`.
    pub fn is_retryable(&self) -> bool {
        self.is_connection_error()
            || matches!(
                self.server_kind(),
                Some(
                    ServerErrorKind::TryAgain
                        | ServerErrorKind::ClusterDown
                        | ServerErrorKind::Loading
                        | ServerErrorKind::MasterDown
                        | ServerErrorKind::Busy
                )
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_code_and_message() {
        let e = ServerError::parse(
            b"WRONGTYPE Operation against a key holding the wrong kind of value",
        );
        assert_eq!(e.kind(), ServerErrorKind::WrongType);
        assert_eq!(e.code(), "WRONGTYPE");
        assert!(e.message().starts_with("Operation"));
    }

    #[test]
    fn parses_redirects() {
        let e = ServerError::parse(b"MOVED 3999 127.0.0.1:6381");
        assert_eq!(e.redirect(), Some((3999, "127.0.0.1:6381")));
        let e = ServerError::parse(b"ASK 1 [::1]:7000");
        assert_eq!(e.redirect(), Some((1, "[::1]:7000")));
        assert!(Error::Server(ServerError::parse(b"TRYAGAIN x")).is_retryable());
    }

    #[test]
    fn sentinel_lookups_that_find_no_node_are_connection_errors() {
        let master = Error::MasterNotFound {
            name: "m".into(),
            sentinels: "127.0.0.1:26379".into(),
        };
        let replica = Error::ReplicaNotFound {
            name: "m".into(),
            sentinels: "127.0.0.1:26379".into(),
        };
        for e in [master, replica] {
            assert!(e.is_connection_error(), "{e:?}");
            assert!(e.is_retryable(), "{e:?}");
            assert!(e.to_string().contains("127.0.0.1:26379"), "{e}");
        }
    }

    #[test]
    fn argument_errors_are_told_apart() {
        for line in [
            &b"ERR syntax error"[..],
            b"ERR wrong number of arguments for 'zrank' command",
            b"ERR Unknown client type 'primary'",
            b"ERR unknown subcommand 'x'. Try CLIENT HELP.",
            b"ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP",
        ] {
            assert!(ServerError::parse(line).is_argument_error(), "{line:?}");
        }
        for line in [
            &b"ERR unknown command 'HGETEX', with args beginning with: "[..],
            b"WRONGTYPE Operation against a key holding the wrong kind of value",
            b"ERR value is not an integer or out of range",
        ] {
            assert!(!ServerError::parse(line).is_argument_error(), "{line:?}");
        }
        let e = ServerError::parse(b"ERR syntax error")
            .with_note("a")
            .with_note("b");
        assert_eq!(e.note(), Some("a; b"));
        assert_eq!(e.message(), "syntax error");
        assert_eq!(e.to_string(), "ERR syntax error (a; b)");
        assert_eq!(ServerError::parse(b"ERR x").note(), None);
    }

    #[test]
    fn error_without_code_keeps_message() {
        let e = ServerError::parse(b"something went wrong");
        assert_eq!(e.code(), "");
        assert_eq!(e.to_string(), "something went wrong");
    }
}
