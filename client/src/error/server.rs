//! Error replies of the server: [`ServerError`] (its code, message and typedis's note on
//! arguments not every server accepts) and the well-known codes as [`ServerErrorKind`].

use std::fmt;

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
