//! The one error type of the `typedis` crate.
//!
//! Every fallible operation returns [`Error`]. Server error replies keep their code
//! (`WRONGTYPE`, `NOSCRIPT`, `MOVED`, …) as data in [`ServerError`], so callers can match
//! on [`ServerErrorKind`] or use the predicates (`is_moved()`, `is_timeout()`, …) instead
//! of comparing strings.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

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

/// Which timeout expired ([`Error::Timeout`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TimeoutKind {
    /// A command (or pipeline, or transaction) had no reply within the client's
    /// `command_timeout` or the command's own `.timeout(…)`.
    Command,
    /// Opening a connection and its handshake took longer than `connect_timeout`.
    Connect {
        /// The address being connected to.
        addr: String,
    },
    /// A cluster node did not answer for the slot map in time while the map was being
    /// refreshed (the next node is asked).
    ClusterDiscovery,
    /// The server did not confirm the subscriptions of a reconnected subscriber in
    /// time.
    Subscribe,
}

impl TimeoutKind {
    fn what(&self) -> Cow<'static, str> {
        match self {
            TimeoutKind::Command => "the command".into(),
            TimeoutKind::Connect { addr } => format!("connecting to {addr}").into(),
            TimeoutKind::ClusterDiscovery => "reading the slot map from a cluster node".into(),
            TimeoutKind::Subscribe => "confirming the subscriptions".into(),
        }
    }

    fn hint(&self) -> &'static str {
        match self {
            TimeoutKind::Command => {
                " (command_timeout or the command's .timeout(); its reply is discarded when it comes)"
            }
            TimeoutKind::Connect { .. } => " (connect_timeout; is the server up and reachable?)",
            TimeoutKind::ClusterDiscovery | TimeoutKind::Subscribe => "",
        }
    }
}

/// Why the server refused the credentials at the handshake ([`Error::Auth`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthErrorKind {
    /// `WRONGPASS`: a wrong password, a user that does not exist, or a disabled user;
    /// the server does not say which (so as not to tell which users exist).
    WrongPassword,
    /// `NOPERM`: the user may not run `HELLO` or `AUTH`.
    NoPermission,
    /// Any other refusal, e.g. a password given to a server that has none configured.
    Refused,
}

impl AuthErrorKind {
    /// The kind of a server's refusal.
    pub(crate) fn of(e: &ServerError) -> Self {
        match e.kind() {
            ServerErrorKind::WrongPass => AuthErrorKind::WrongPassword,
            ServerErrorKind::NoPerm => AuthErrorKind::NoPermission,
            _ => AuthErrorKind::Refused,
        }
    }

    fn hint(self) -> &'static str {
        match self {
            AuthErrorKind::WrongPassword => {
                "check the user and password of the URL or ConnectionInfo: the password is wrong, or the user does not exist or is disabled"
            }
            AuthErrorKind::NoPermission => "the user's ACL must allow HELLO and AUTH",
            AuthErrorKind::Refused => "check whether the server expects a password at all",
        }
    }
}

/// What kind of misuse an [`Error::Usage`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UsageKind {
    /// A command without a name: an empty `cmd()`, an empty command in a batch, no
    /// argument given to `command_keys`.
    EmptyCommand,
    /// A command the generated tables do not know (`command_keys`).
    UnknownCommand,
    /// A required argument was not set on a builder, or a list that needs at least one
    /// element was empty (channels to subscribe to, keys to WATCH, startup nodes,
    /// sentinels).
    MissingArgument,
    /// An argument cannot be sent: it does not fit the command's key specs, or a value
    /// could not be encoded (JSON).
    InvalidArgument,
    /// Settings that cannot work: a client-side cache without RESP3, a cluster node
    /// that is not a TCP address, a node that is not part of the cluster, `reacquire`
    /// of a lock without a timeout.
    InvalidConfig,
    /// A command that changes how the server replies (`CLIENT REPLY`, the `SUBSCRIBE`
    /// family, `MONITOR`) where one reply per command is read (a pipeline, an open
    /// transaction), or a pipeline on a connection where replies are off.
    ChangesReplies,
    /// Something is subscribed that has no handler (PubSub `run`).
    NoHandler,
    /// A PubSub handler panicked.
    HandlerPanicked,
    /// What the call needs is gone: the connection pool was closed, or the connection
    /// was taken out of it.
    Closed,
    /// A future was polled again after it completed.
    PolledAfterCompletion,
}

/// The well-known error codes of Redis and Valkey (the first word of an error reply).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ServerErrorKind {
    /// `ERR`: generic error.
    Err,
    /// `WRONGTYPE`: operation against a key holding the wrong kind of value.
    WrongType,
    /// `NOSCRIPT`: no script with that SHA1 is loaded.
    NoScript,
    /// `MOVED slot host:port`: the slot lives on another node.
    Moved,
    /// `ASK slot host:port`: the slot is being migrated; ask the other node once.
    Ask,
    /// `TRYAGAIN`: multi-key command during resharding.
    TryAgain,
    /// `CLUSTERDOWN`: the cluster cannot serve the slot.
    ClusterDown,
    /// `CROSSSLOT`: keys in different slots.
    CrossSlot,
    /// `LOADING`: the server is loading its dataset.
    Loading,
    /// `READONLY`: write against a replica.
    ReadOnly,
    /// `MASTERDOWN`: link with the master is down.
    MasterDown,
    /// `BUSY`: a script or function is running.
    Busy,
    /// `NOAUTH`: authentication required.
    NoAuth,
    /// `WRONGPASS`: bad username or password.
    WrongPass,
    /// `NOPERM`: the ACL user may not run this.
    NoPerm,
    /// `EXECABORT`: the transaction was discarded because of an earlier error.
    ExecAbort,
    /// `NOPROTO`: the requested protocol version is not supported.
    NoProto,
    /// `OOM`: the server is out of memory.
    Oom,
    /// Any other code; see [`ServerError::code`].
    Other,
}

/// An error reply from the server: its code (first word) and the rest of the message,
/// and, when the server rejected an argument that not every server accepts, a note
/// saying which servers do ([`ServerError::note`]).
#[derive(Clone, PartialEq, Eq)]
pub struct ServerError {
    /// `code message` (or only one of them), then the note; one allocation keeps
    /// `Value` small.
    text: Box<str>,
    /// Length of the code (0 when the reply had none).
    code_len: u32,
    /// Where the server's text ends and the note begins.
    note_at: u32,
}

impl ServerError {
    /// Parses an error line such as `WRONGTYPE Operation against a key …`.
    pub fn parse(line: &[u8]) -> Self {
        let text = String::from_utf8_lossy(line);
        let text = text.trim_start_matches('-');
        let code_len = match text.split_once(' ') {
            Some((code, _)) if is_code(code) => code.len(),
            _ if is_code(text) => text.len(),
            _ => 0,
        };
        ServerError {
            note_at: text.len() as u32,
            text: text.into(),
            code_len: code_len as u32,
        }
    }

    /// The same error with a note added (see [`ServerError::note`]).
    pub fn with_note(&self, note: &str) -> Self {
        let server = &self.text[..self.note_at as usize];
        let note = match self.note() {
            Some(old) => format!("{old}; {note}"),
            None => note.to_owned(),
        };
        ServerError {
            text: format!("{server}{note}").into(),
            code_len: self.code_len,
            note_at: self.note_at,
        }
    }

    /// What typedis knows about why the server may have rejected the command: which
    /// servers accept an argument it used that not every server accepts, e.g.
    /// ``SET `IFEQ comparison-value` is accepted by Valkey ≥ 8.1; not by Redis 7.0.15``.
    /// Only on errors that say the arguments were not understood.
    pub fn note(&self) -> Option<&str> {
        let note = &self.text[self.note_at as usize..];
        (!note.is_empty()).then_some(note)
    }

    /// Whether the server says it did not understand the command's arguments: `ERR
    /// syntax error`, `wrong number of arguments`, an unknown subcommand, option or type.
    /// (Not for an unknown command, nor for values it understood and refused.)
    pub fn is_argument_error(&self) -> bool {
        if self.kind() != ServerErrorKind::Err {
            return false;
        }
        let m = self.message().to_ascii_lowercase();
        m.contains("syntax error")
            || m.contains("number of arguments")
            || m.contains("unsupported option")
            || (m.starts_with("unknown ") && !m.starts_with("unknown command"))
    }

    /// The error code, e.g. `"WRONGTYPE"` (empty when the reply had none).
    pub fn code(&self) -> &str {
        &self.text[..self.code_len as usize]
    }

    /// The message after the code.
    pub fn message(&self) -> &str {
        let rest = &self.text[self.code_len as usize..self.note_at as usize];
        if self.code_len > 0 {
            rest.strip_prefix(' ').unwrap_or(rest)
        } else {
            rest
        }
    }

    /// The code as a known kind.
    pub fn kind(&self) -> ServerErrorKind {
        match self.code() {
            "ERR" => ServerErrorKind::Err,
            "WRONGTYPE" => ServerErrorKind::WrongType,
            "NOSCRIPT" => ServerErrorKind::NoScript,
            "MOVED" => ServerErrorKind::Moved,
            "ASK" => ServerErrorKind::Ask,
            "TRYAGAIN" => ServerErrorKind::TryAgain,
            "CLUSTERDOWN" => ServerErrorKind::ClusterDown,
            "CROSSSLOT" => ServerErrorKind::CrossSlot,
            "LOADING" => ServerErrorKind::Loading,
            "READONLY" => ServerErrorKind::ReadOnly,
            "MASTERDOWN" => ServerErrorKind::MasterDown,
            "BUSY" => ServerErrorKind::Busy,
            "NOAUTH" => ServerErrorKind::NoAuth,
            "WRONGPASS" => ServerErrorKind::WrongPass,
            "NOPERM" => ServerErrorKind::NoPerm,
            "EXECABORT" => ServerErrorKind::ExecAbort,
            "NOPROTO" => ServerErrorKind::NoProto,
            "OOM" => ServerErrorKind::Oom,
            _ => ServerErrorKind::Other,
        }
    }

    /// For `MOVED`/`ASK`: the slot and the `host:port` to go to.
    pub fn redirect(&self) -> Option<(u16, &str)> {
        if !matches!(self.kind(), ServerErrorKind::Moved | ServerErrorKind::Ask) {
            return None;
        }
        let (slot, addr) = self.message().split_once(' ')?;
        Some((slot.parse().ok()?, addr.trim()))
    }
}

/// Codes are upper-case words (`ERR`, `WRONGTYPE`, `NOSCRIPT`, …).
fn is_code(word: &str) -> bool {
    !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.code().is_empty(), self.message().is_empty()) {
            (true, _) => f.write_str(self.message())?,
            (false, true) => f.write_str(self.code())?,
            (false, false) => write!(f, "{} {}", self.code(), self.message())?,
        }
        match self.note() {
            Some(note) => write!(f, " ({note})"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for ServerError {}

impl fmt::Debug for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServerError({self})")
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
