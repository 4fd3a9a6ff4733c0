//! The kinds an [`Error`](crate::Error) carries as data: which timeout expired
//! ([`TimeoutKind`]), why credentials were refused ([`AuthErrorKind`]), what kind of
//! misuse a usage error is ([`UsageKind`]), and the parts of their messages that say
//! what to do.

use std::borrow::Cow;

use super::{ServerError, ServerErrorKind};

/// Which timeout expired ([`Error::Timeout`](crate::Error::Timeout)).
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
    pub(super) fn what(&self) -> Cow<'static, str> {
        match self {
            TimeoutKind::Command => "the command".into(),
            TimeoutKind::Connect { addr } => format!("connecting to {addr}").into(),
            TimeoutKind::ClusterDiscovery => "reading the slot map from a cluster node".into(),
            TimeoutKind::Subscribe => "confirming the subscriptions".into(),
        }
    }

    pub(super) fn hint(&self) -> &'static str {
        match self {
            TimeoutKind::Command => {
                " (command_timeout or the command's .timeout(); its reply is discarded when it comes)"
            }
            TimeoutKind::Connect { .. } => " (connect_timeout; is the server up and reachable?)",
            TimeoutKind::ClusterDiscovery | TimeoutKind::Subscribe => "",
        }
    }
}

/// Why the server refused the credentials at the handshake ([`Error::Auth`](crate::Error::Auth)).
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

    pub(super) fn hint(self) -> &'static str {
        match self {
            AuthErrorKind::WrongPassword => {
                "check the user and password of the URL or ConnectionInfo: the password is wrong, or the user does not exist or is disabled"
            }
            AuthErrorKind::NoPermission => "the user's ACL must allow HELLO and AUTH",
            AuthErrorKind::Refused => "check whether the server expects a password at all",
        }
    }
}

/// What kind of misuse an [`Error::Usage`](crate::Error::Usage) is.
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
