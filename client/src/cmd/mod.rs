//! A command ready to send: its arguments, already encoded as RESP bulk strings.
//!
//! [`Args`] is the buffer that [`ToArg`](crate::ToArg) writes into. Arguments are encoded once, when
//! the caller builds the command, into a buffer that holds short commands inline (no heap
//! allocation for `GET key` or `SET key value` with short values) and moves to the heap
//! beyond that; sending it copies it into the connection's write buffer after the
//! `*<argc>\r\n` header. Nothing here knows about individual commands.
//!
//! The parts: `buf` (the inline-or-heap buffer and the RESP headers), `extra` (an
//! argument's encoding error and the notes of arguments not every server accepts).

mod buf;
mod extra;

use bytes::{Bytes, BytesMut};

use self::buf::{header, ArgBuf, INLINE_ARGS};
use self::extra::Extra;
pub(crate) use self::extra::Notes;
use crate::error::{Error, Result, UsageKind};

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
#[derive(Debug, Clone)]
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
    fn binary_args_round_trip() {
        let mut a = Args::new();
        a.push_bytes(b"\r\n$3\r\n");
        a.push_bytes(b"");
        assert_eq!(a.iter().collect::<Vec<_>>(), vec![&b"\r\n$3\r\n"[..], b""]);
    }
}
