//! A command ready to send: its arguments, already encoded as RESP bulk strings.
//!
//! [`Args`] is the buffer that [`ToArg`] writes into. Arguments are encoded once, when
//! the caller builds the command, straight into a `BytesMut`; sending it only prepends
//! the `*<argc>\r\n` header. Nothing here knows about individual commands.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::Error;
use crate::value::ToArg;

/// The encoded arguments of one command (name included), as RESP bulk strings.
///
/// An argument that cannot be encoded (e.g. a value whose JSON serialisation fails)
/// records an error with [`Args::fail`]; the command is then not sent and the caller
/// gets that error.
#[derive(Clone, Default)]
pub struct Args {
    buf: BytesMut,
    argc: u32,
    error: Option<Box<Error>>,
}

impl Args {
    /// An empty argument list.
    pub fn new() -> Self {
        Args::default()
    }

    /// An empty argument list with room for `bytes` encoded bytes.
    pub fn with_capacity(bytes: usize) -> Self {
        Args {
            buf: BytesMut::with_capacity(bytes),
            argc: 0,
            error: None,
        }
    }

    /// Records that an argument could not be encoded. The first error wins; the
    /// command will fail with it instead of being sent.
    pub fn fail(&mut self, error: Error) {
        if self.error.is_none() {
            self.error = Some(Box::new(error));
        }
    }

    /// The encoding error recorded by [`Args::fail`], if any. Senders check this before
    /// writing the command.
    pub fn take_error(&mut self) -> Option<Error> {
        self.error.take().map(|e| *e)
    }

    /// Whether an encoding error was recorded.
    pub fn has_error(&self) -> bool {
        self.error.is_some()
    }

    /// Appends one binary-safe argument.
    #[inline]
    pub fn push_bytes(&mut self, arg: &[u8]) {
        // `$<len>\r\n<bytes>\r\n`; the length is formatted on the stack.
        let mut len = itoa::Buffer::new();
        let len = len.format(arg.len());
        self.buf.reserve(1 + len.len() + 2 + arg.len() + 2);
        self.buf.put_u8(b'$');
        self.buf.put_slice(len.as_bytes());
        self.buf.put_slice(b"\r\n");
        self.buf.put_slice(arg);
        self.buf.put_slice(b"\r\n");
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

    /// Appends anything that is [`ToArg`].
    #[inline]
    pub fn push<A: ToArg + ?Sized>(&mut self, arg: &A) {
        arg.write_arg(self);
    }

    /// Appends all arguments of `other` (and its recorded error, if any).
    pub fn extend_from(&mut self, other: &Args) {
        self.buf.extend_from_slice(&other.buf);
        self.argc += other.argc;
        if let Some(e) = &other.error {
            self.fail((**e).clone());
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
        let mut n = itoa::Buffer::new();
        let n = n.format(self.argc);
        out.reserve(1 + n.len() + 2 + self.buf.len());
        out.put_u8(b'*');
        out.put_slice(n.as_bytes());
        out.put_slice(b"\r\n");
        out.put_slice(&self.buf);
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

    #[test]
    fn binary_args_round_trip() {
        let mut a = Args::new();
        a.push_bytes(b"\r\n$3\r\n");
        a.push_bytes(b"");
        assert_eq!(a.iter().collect::<Vec<_>>(), vec![&b"\r\n$3\r\n"[..], b""]);
    }
}
