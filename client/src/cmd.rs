//! A command ready to send: its arguments, already encoded as RESP bulk strings.
//!
//! [`Args`] is the buffer that [`ToArg`](crate::ToArg) writes into. Arguments are encoded once, when
//! the caller builds the command, into a buffer that holds short commands inline (no heap
//! allocation for `GET key` or `SET key value` with short values) and moves to the heap
//! beyond that; sending it copies it into the connection's write buffer after the
//! `*<argc>\r\n` header. Nothing here knows about individual commands.

use bytes::{Bytes, BytesMut};

use crate::error::{Error, Result, ServerError, UsageKind};

/// Bytes of encoded arguments kept inline, without a heap allocation: enough for most
/// commands on short keys and values (`GET key`, `SET key value`, `INCR counter`).
const INLINE_ARGS: usize = 62;

/// The buffer of [`Args`]: inline up to [`INLINE_ARGS`] bytes, on the heap beyond. A
/// command's buffer lives only until it is copied into the connection's write buffer, so
/// for the common short command an allocation (and its free, often on another thread)
/// would cost more than everything else done to encode it.
#[derive(Clone)]
enum ArgBuf {
    Inline { len: u8, bytes: [u8; INLINE_ARGS] },
    Heap(Vec<u8>),
}

impl Default for ArgBuf {
    #[inline]
    fn default() -> Self {
        ArgBuf::Inline {
            len: 0,
            bytes: [0; INLINE_ARGS],
        }
    }
}

impl ArgBuf {
    /// Inline for small hints (the hint only sizes the first heap buffer).
    #[inline]
    fn with_capacity(bytes: usize) -> Self {
        if bytes <= 4 * INLINE_ARGS {
            ArgBuf::default()
        } else {
            ArgBuf::Heap(Vec::with_capacity(bytes))
        }
    }

    #[inline]
    fn as_slice(&self) -> &[u8] {
        match self {
            ArgBuf::Inline { len, bytes } => &bytes[..*len as usize],
            ArgBuf::Heap(v) => v,
        }
    }

    /// Appends `head[..head_len]`, `arg` and CRLF (one bulk string).
    #[inline]
    fn push_arg(&mut self, head: &[u8; 24], head_len: usize, arg: &[u8]) {
        if let ArgBuf::Inline { len, bytes } = self {
            let at = *len as usize;
            let end = at + head_len + arg.len() + 2;
            if end <= INLINE_ARGS {
                // Fixed-size copies where there is room: the bytes past `end` are
                // overwritten by the next argument or never read.
                match bytes.get_mut(at..at + 24) {
                    Some(dst) => dst.copy_from_slice(head),
                    None => bytes[at..at + head_len].copy_from_slice(&head[..head_len]),
                }
                let p = at + head_len;
                bytes[p..p + arg.len()].copy_from_slice(arg);
                bytes[end - 2..end].copy_from_slice(b"\r\n");
                // At most INLINE_ARGS (< 256), checked above.
                *len = end as u8;
                return;
            }
        }
        self.extend(&[&head[..head_len], arg, b"\r\n"]);
    }

    /// Appends `parts` one after the other.
    #[inline]
    fn extend(&mut self, parts: &[&[u8]]) {
        if let ArgBuf::Inline { len, bytes } = self {
            let total: usize = parts.iter().map(|p| p.len()).sum();
            let at = *len as usize;
            if at + total <= INLINE_ARGS {
                let mut i = at;
                for p in parts {
                    bytes[i..i + p.len()].copy_from_slice(p);
                    i += p.len();
                }
                // At most INLINE_ARGS (< 256), checked just above.
                *len = i as u8;
                return;
            }
            let mut v = Vec::with_capacity((at + total).max(4 * INLINE_ARGS));
            v.extend_from_slice(&bytes[..at]);
            *self = ArgBuf::Heap(v);
        }
        if let ArgBuf::Heap(v) = self {
            for p in parts {
                v.extend_from_slice(p);
            }
        }
    }
}

impl std::ops::Deref for ArgBuf {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

/// The encoded arguments of one command (name included), as RESP bulk strings.
///
/// An argument that cannot be encoded (e.g. a value whose JSON serialisation fails)
/// records an error with [`Args::fail`]; the command is then not sent and the caller
/// gets that error. An argument that not every server accepts records a note with
/// [`Args::note`], added to the server's error if it rejects the arguments.
#[derive(Clone, Default)]
pub struct Args {
    buf: ArgBuf,
    argc: u32,
    /// Rare, so boxed: a command without either costs one null pointer.
    extra: Option<Box<Extra>>,
}

/// What a command carries besides its arguments, rarely.
#[derive(Clone, Default)]
struct Extra {
    error: Option<Error>,
    notes: Vec<&'static str>,
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
    /// An empty argument list.
    pub fn new() -> Self {
        Args::default()
    }

    /// The arguments of a command so far: its name, given as its tokens (`[b"GET"]`,
    /// or `[b"CLIENT", b"KILL"]` for a subcommand).
    pub fn command(name: &[&[u8]]) -> Self {
        let mut args = Args::new();
        for token in name {
            args.push_bytes(token);
        }
        args
    }

    /// [`Args::command`] evaluated at compile time: generated builders start from
    /// `const { Args::const_command(..) }`, a constant copied in a few stores. Only for
    /// names whose encoding fits the inline buffer (62 bytes); longer ones fail to
    /// compile in a `const` block (and panic elsewhere), so the generator uses
    /// [`Args::command`] for them.
    #[doc(hidden)]
    pub const fn const_command(name: &[&[u8]]) -> Self {
        let mut bytes = [0u8; INLINE_ARGS];
        let mut at = 0;
        let mut i = 0;
        while i < name.len() {
            let token = name[i];
            // The token's length in decimal, last digit first.
            let mut digits = [0u8; 20];
            let mut n = token.len();
            let mut d = 0;
            loop {
                digits[d] = b'0' + (n % 10) as u8;
                d += 1;
                n /= 10;
                if n == 0 {
                    break;
                }
            }
            assert!(
                at + 1 + d + 2 + token.len() + 2 <= INLINE_ARGS,
                "command name too long to encode inline"
            );
            bytes[at] = b'$';
            at += 1;
            while d > 0 {
                d -= 1;
                bytes[at] = digits[d];
                at += 1;
            }
            bytes[at] = b'\r';
            bytes[at + 1] = b'\n';
            at += 2;
            let mut j = 0;
            while j < token.len() {
                bytes[at] = token[j];
                at += 1;
                j += 1;
            }
            bytes[at] = b'\r';
            bytes[at + 1] = b'\n';
            at += 2;
            i += 1;
        }
        Args {
            // At most INLINE_ARGS (< 256), asserted above.
            buf: ArgBuf::Inline {
                len: at as u8,
                bytes,
            },
            argc: name.len() as u32,
            extra: None,
        }
    }

    /// An empty argument list with room for `bytes` encoded bytes.
    #[inline]
    pub fn with_capacity(bytes: usize) -> Self {
        Args {
            buf: ArgBuf::with_capacity(bytes),
            argc: 0,
            extra: None,
        }
    }

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

    /// Appends one binary-safe argument.
    #[inline]
    pub fn push_bytes(&mut self, arg: &[u8]) {
        // `$<len>\r\n<bytes>\r\n`; the header is formatted on the stack.
        let (head, n) = header(b'$', arg.len());
        self.buf.push_arg(&head, n, arg);
        self.argc += 1;
    }

    /// Appends a signed integer argument (formatted without allocating).
    #[inline]
    pub fn push_i64(&mut self, n: i64) {
        let mut b = itoa::Buffer::new();
        self.push_bytes(b.format(n).as_bytes());
    }

    /// Appends an unsigned integer argument (formatted without allocating).
    #[inline]
    pub fn push_u64(&mut self, n: u64) {
        let mut b = itoa::Buffer::new();
        self.push_bytes(b.format(n).as_bytes());
    }

    /// Appends a float argument; infinities become `+inf` / `-inf` as Redis expects.
    #[inline]
    pub fn push_f64(&mut self, n: f64) {
        if n.is_infinite() {
            self.push_bytes(if n > 0.0 { b"+inf" } else { b"-inf" });
        } else if n.is_nan() {
            self.push_bytes(b"nan");
        } else {
            let mut b = ryu::Buffer::new();
            let s = b.format_finite(n);
            // ryu writes `3.0` for integral values; Redis accepts it, but `3` is shorter
            // and is what users expect to see in MONITOR output.
            self.push_bytes(s.strip_suffix(".0").unwrap_or(s).as_bytes());
        }
    }

    /// Appends all arguments of `other` (and its recorded error and notes, if any).
    pub fn extend_from(&mut self, other: &Args) {
        self.buf.extend(&[&other.buf]);
        self.argc += other.argc;
        if let Some(x) = &other.extra {
            if let Some(e) = &x.error {
                self.fail(e.clone());
            }
            for n in &x.notes {
                self.note(n);
            }
        }
    }

    /// Number of arguments so far.
    pub fn len(&self) -> usize {
        self.argc as usize
    }

    /// Whether no argument was added.
    pub fn is_empty(&self) -> bool {
        self.argc == 0
    }

    /// The encoded body (without the `*<argc>` header).
    pub fn body(&self) -> &[u8] {
        &self.buf
    }

    /// Writes the whole command (`*<argc>\r\n` + body) into `out`.
    #[inline]
    pub fn write_command(&self, out: &mut BytesMut) {
        if let (ArgBuf::Inline { len, bytes }, 1..=9) = (&self.buf, self.argc) {
            // The common short command: header and body assembled on the stack with
            // fixed-size copies, then one copy into `out`.
            let mut cmd = [0u8; 4 + INLINE_ARGS];
            cmd[..4].copy_from_slice(&[b'*', b'0' + self.argc as u8, b'\r', b'\n']);
            cmd[4..].copy_from_slice(bytes);
            out.extend_from_slice(&cmd[..4 + *len as usize]);
            return;
        }
        let (head, n) = header(b'*', self.argc as usize);
        out.reserve(n + self.buf.len());
        out.extend_from_slice(&head[..n]);
        out.extend_from_slice(&self.buf);
    }

    /// Iterates over the raw arguments (decoding the bulk strings back).
    pub fn iter(&self) -> ArgsIter<'_> {
        ArgsIter { rest: &self.buf }
    }

    /// The arguments as owned `Bytes` (used where argv must be inspected, e.g. cluster
    /// key extraction; not on the single-node hot path).
    pub fn to_vec(&self) -> Vec<Bytes> {
        self.iter().map(Bytes::copy_from_slice).collect()
    }
}

/// Fails a batch before anything is sent if one of its commands could not be encoded or
/// is empty.
pub(crate) fn check_batch(commands: &[Args]) -> Result<()> {
    for c in commands {
        if c.has_error() {
            // Only on the error path: `take_error` needs ownership of the message.
            if let Some(e) = c.clone().take_error() {
                return Err(e);
            }
        }
        if c.is_empty() {
            return Err(Error::usage(
                UsageKind::EmptyCommand,
                "empty command in a batch",
            ));
        }
    }
    Ok(())
}

/// `<prefix><n>\r\n` on the stack, and its length. Lengths under 100 (nearly every
/// argument count and most argument lengths) skip the general formatting.
#[inline]
fn header(prefix: u8, n: usize) -> ([u8; 24], usize) {
    let mut out = [0u8; 24];
    out[0] = prefix;
    let digits = if n < 10 {
        out[1] = b'0' + n as u8;
        1
    } else if n < 100 {
        out[1] = b'0' + (n / 10) as u8;
        out[2] = b'0' + (n % 10) as u8;
        2
    } else {
        let mut b = itoa::Buffer::new();
        let d = b.format(n).as_bytes();
        out[1..1 + d.len()].copy_from_slice(d);
        d.len()
    };
    out[1 + digits] = b'\r';
    out[2 + digits] = b'\n';
    (out, 3 + digits)
}

impl std::fmt::Debug for Args {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut list = f.debug_list();
        for a in self.iter() {
            list.entry(&String::from_utf8_lossy(a));
        }
        list.finish()
    }
}

/// Iterator over the arguments of an [`Args`].
pub struct ArgsIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for ArgsIter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        // The buffer was written by `push_bytes`, so it is well formed: `$len\r\n…\r\n`.
        let rest = self.rest.strip_prefix(b"$")?;
        let nl = rest.iter().position(|&b| b == b'\r')?;
        let len: usize = std::str::from_utf8(&rest[..nl]).ok()?.parse().ok()?;
        let start = nl + 2;
        let arg = rest.get(start..start + len)?;
        self.rest = rest.get(start + len + 2..)?;
        Some(arg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_a_command() {
        let mut a = Args::new();
        a.push_bytes(b"SET");
        a.push_bytes(b"k");
        a.push_i64(-42);
        a.push_f64(3.0);
        a.push_f64(f64::INFINITY);
        let mut out = BytesMut::new();
        a.write_command(&mut out);
        assert_eq!(
            &out[..],
            b"*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\n-42\r\n$1\r\n3\r\n$4\r\n+inf\r\n"
        );
        let back: Vec<&[u8]> = a.iter().collect();
        assert_eq!(back, vec![&b"SET"[..], b"k", b"-42", b"3", b"+inf"]);
    }

    // Evaluated by the compiler, as in generated code.
    const GET: Args = Args::const_command(&[b"GET"]);

    #[test]
    fn a_command_name_encodes_as_pushed_tokens() {
        assert_eq!(GET.body(), b"$3\r\nGET\r\n");
        let long = [b'n'; 70];
        let names: [&[&[u8]]; 5] = [
            &[b"GET"],
            &[b"CLIENT", b"KILL"],
            &[b""],
            &[&long[..30], &long[..40]],
            &[&long[..]],
        ];
        for name in names {
            let mut pushed = Args::new();
            for t in name {
                pushed.push_bytes(t);
            }
            let mut a = Args::command(name);
            assert_eq!(a.body(), pushed.body(), "{name:?}");
            if pushed.body().len() <= INLINE_ARGS {
                let c = Args::const_command(name);
                assert_eq!(c.body(), pushed.body(), "{name:?}");
                assert_eq!(c.len(), name.len());
            }
            assert_eq!(a.len(), name.len());
            // Later arguments go after the name, inline or not.
            a.push_bytes(b"key");
            pushed.push_bytes(b"key");
            let (mut x, mut y) = (BytesMut::new(), BytesMut::new());
            a.write_command(&mut x);
            pushed.write_command(&mut y);
            assert_eq!(x, y, "{name:?}");
        }
    }

    #[test]
    fn commands_of_every_short_length_are_written_whole() {
        // Inline with 1–9 arguments takes the one-copy path; 0 and 10+ do not.
        // Empty arguments (6 bytes each) stay inline up to 10 of them.
        for empty in [false, true] {
            for argc in 0..16 {
                let mut a = Args::new();
                let mut expected = format!("*{argc}\r\n").into_bytes();
                for i in 0..argc {
                    let arg = if empty { String::new() } else { i.to_string() };
                    a.push_bytes(arg.as_bytes());
                    expected.extend_from_slice(format!("${}\r\n{arg}\r\n", arg.len()).as_bytes());
                }
                let mut out = BytesMut::from(&b"before"[..]);
                a.write_command(&mut out);
                assert_eq!(&out[6..], &expected[..], "{argc} arguments");
                assert_eq!(&out[..6], b"before");
            }
        }
    }

    #[test]
    fn headers_agree_with_plain_formatting() {
        let mut cases: Vec<usize> = (0..1200).collect();
        cases.extend([9_999, 10_000, 65_535, 1 << 20, usize::MAX]);
        for n in cases {
            let (head, len) = header(b'$', n);
            assert_eq!(&head[..len], format!("${n}\r\n").as_bytes(), "{n}");
        }
    }

    #[test]
    fn spills_from_inline_to_heap_intact() {
        // Arguments of every size around the inline capacity, in one command.
        let mut a = Args::new();
        let args: Vec<Vec<u8>> = (0..2 * INLINE_ARGS)
            .map(|n| (0..n).map(|i| (i * 7 + n) as u8).collect())
            .collect();
        for arg in &args {
            a.push_bytes(arg);
        }
        let back: Vec<&[u8]> = a.iter().collect();
        assert_eq!(back.len(), args.len());
        for (got, want) in back.iter().zip(&args) {
            assert_eq!(got, want);
        }
        let mut b = Args::with_capacity(10_000);
        b.extend_from(&a);
        assert_eq!(b.body(), a.body());
        assert_eq!(b.len(), a.len());
    }

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

    #[test]
    fn binary_args_round_trip() {
        let mut a = Args::new();
        a.push_bytes(b"\r\n$3\r\n");
        a.push_bytes(b"");
        assert_eq!(a.iter().collect::<Vec<_>>(), vec![&b"\r\n$3\r\n"[..], b""]);
    }
}
