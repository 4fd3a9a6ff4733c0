//! What a command carries besides its arguments, rarely, behind one pointer (`Extra`):
//! the error of an argument that could not be encoded ([`Args::fail`]) and the notes of
//! arguments not every server accepts ([`Args::note`]), kept while the reply is awaited
//! ([`Notes`]) and added to the server's error if it rejects the arguments.

use super::Args;
use crate::error::{Error, Result, ServerError};

/// What a command carries besides its arguments, rarely.
#[derive(Clone, Default)]
pub(super) struct Extra {
    pub(super) error: Option<Error>,
    pub(super) notes: Vec<&'static str>,
}

/// The notes of a command's arguments, kept while its reply is awaited (see
/// [`Args::note`]): one null pointer for the usual command without notes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Notes(Option<Box<NoteList>>);

/// The notes themselves, behind one thin pointer.
#[derive(Debug, Clone)]
pub(crate) struct NoteList(Vec<&'static str>);

impl Notes {
    /// Adds the notes to a server error that says the arguments were not understood.
    #[inline]
    pub(crate) fn apply<T>(&self, reply: Result<T>) -> Result<T> {
        match (&self.0, reply) {
            (Some(notes), Err(Error::Server(e))) => Err(Error::Server(annotate(e, &notes.0))),
            (_, reply) => reply,
        }
    }

    /// The same for an error reply inside a batch.
    pub(crate) fn apply_server(&self, reply: ServerError) -> ServerError {
        match &self.0 {
            Some(notes) => annotate(reply, &notes.0),
            None => reply,
        }
    }
}

fn annotate(e: ServerError, notes: &[&str]) -> ServerError {
    if e.is_argument_error() {
        e.with_note(&notes.join("; "))
    } else {
        e
    }
}

impl Args {
    /// Records that an argument could not be encoded. The first error wins; the
    /// command will fail with it instead of being sent.
    pub fn fail(&mut self, error: Error) {
        let extra = self.extra.get_or_insert_with(Box::default);
        if extra.error.is_none() {
            extra.error = Some(error);
        }
    }

    /// The encoding error recorded by [`Args::fail`], if any. Senders check this before
    /// writing the command.
    #[inline]
    pub fn take_error(&mut self) -> Option<Error> {
        self.extra.as_mut()?.error.take()
    }

    /// Whether an encoding error was recorded.
    #[inline]
    pub fn has_error(&self) -> bool {
        self.extra.as_ref().is_some_and(|x| x.error.is_some())
    }

    /// Records that an argument just written is not accepted by every server, and by
    /// which it is: if the server answers that it does not understand the arguments
    /// (`ERR syntax error`, `wrong number of arguments`, …), the note is added to that
    /// error ([`ServerError::note`](crate::ServerError::note)). Generated setters call
    /// this for such arguments; commands without them carry nothing.
    ///
    /// ```
    /// let mut args = typedis::Args::command(&[b"ZRANK"]);
    /// args.push_bytes(b"WITHSCORE");
    /// args.note("ZRANK `WITHSCORE` is accepted by Redis ≥ 7.2 · Valkey");
    /// assert_eq!(args.notes().len(), 1);
    /// ```
    pub fn note(&mut self, note: &'static str) {
        let extra = self.extra.get_or_insert_with(Box::default);
        if !extra.notes.contains(&note) {
            extra.notes.push(note);
        }
    }

    /// The notes recorded by [`Args::note`].
    pub fn notes(&self) -> &[&'static str] {
        self.extra.as_ref().map_or(&[], |x| &x.notes)
    }

    /// The notes to keep while the reply is awaited.
    #[inline]
    pub(crate) fn notes_handle(&self) -> Notes {
        match &self.extra {
            None => Notes(None),
            Some(x) if x.notes.is_empty() => Notes(None),
            Some(x) => Notes(Some(Box::new(NoteList(x.notes.clone())))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_cost_one_pointer() {
        assert_eq!(std::mem::size_of::<Notes>(), std::mem::size_of::<usize>());
        assert_eq!(
            std::mem::size_of::<Option<Box<Extra>>>(),
            std::mem::size_of::<usize>()
        );
    }

    #[test]
    fn notes_follow_the_arguments_and_reach_only_argument_errors() {
        let mut slot = Args::new();
        slot.push_bytes(b"IFEQ");
        slot.note("SET `IFEQ` is accepted by Valkey");
        slot.note("SET `IFEQ` is accepted by Valkey");
        let mut a = Args::command(&[b"SET"]);
        assert!(a.notes_handle().0.is_none(), "nothing kept without notes");
        a.extend_from(&slot);
        assert_eq!(a.notes(), ["SET `IFEQ` is accepted by Valkey"]);
        assert_eq!(a.len(), 2);
        let notes = a.notes_handle();
        let syntax = crate::error::ServerError::parse(b"ERR syntax error");
        let Err(Error::Server(e)) = notes.apply::<()>(Err(Error::Server(syntax))) else {
            panic!("still a server error");
        };
        assert_eq!(e.note(), Some("SET `IFEQ` is accepted by Valkey"));
        assert_eq!(e.message(), "syntax error");
        assert!(e.to_string().contains("IFEQ"), "{e}");
        let other = crate::error::ServerError::parse(b"WRONGTYPE Operation against a key");
        let Err(Error::Server(e)) = notes.apply::<()>(Err(Error::Server(other))) else {
            panic!("still a server error");
        };
        assert_eq!(e.note(), None, "not an argument error");
        assert!(a.take_error().is_none());
    }
}
