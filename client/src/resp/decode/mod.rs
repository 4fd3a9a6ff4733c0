//! RESP2/RESP3 decoding, sans-IO, in two phases.
//!
//! 1. **Scan**: check that a whole frame is buffered, without allocating. The scan is
//!    incremental: it remembers how far it got (the offset of the first incomplete
//!    element, the counts of the aggregates still open, and how far the line at that
//!    offset was already searched for its CRLF), so a large reply arriving in many reads
//!    is scanned once in total, not once per read — a line that never ends included.
//!    Limits ([`Limits`]: nesting depth, bulk length, aggregate length, line length and
//!    the size of the whole frame) are enforced here, on each header, so nothing is ever
//!    allocated for a length that is only announced.
//! 2. **Build**: split the frame off the read buffer (`split_to(..).freeze()`) and build
//!    the [`Value`] from the tokens the scan left (below); bulk payloads are zero-copy
//!    slices of that frozen buffer.
//!
//! Each element the scan accepts leaves a 12-byte token behind (its type, and where its
//! payload or line is), so the build reads neither headers nor the frame's bytes again —
//! but only while the tokens take at most half the bytes scanned (or are at most 2^16). A frame of
//! many tiny elements (`*4294967295` then `:0`s) drops its tokens once it passes that,
//! and is parsed a second time in the build instead. Either way what a frame costs while
//! it arrives is the read buffer holding its bytes, tokens of at most half as much, a few
//! words and one counter per open aggregate (at most [`Limits::max_depth`]): at most 1.5×
//! the bytes received, for any shape — many tiny elements, deep nesting or huge announced
//! lengths.
//!
//! The commonest replies skip both phases: a bulk string, simple string or integer that
//! is wholly buffered is recognised in one pass. [`Decoder::decode_scalars`] takes a run
//! of them (what a connection busy with `GET`s reads) with a single split of the read
//! buffer, each payload a slice of it; anything it does not recognise is left, untouched,
//! to [`Decoder::decode`].
//!
//! An incomplete frame is `Ok(None)`, not an error. Anything malformed or over a limit
//! is `Error::Protocol`; the caller then drops the connection, so the decoder does not
//! try to resynchronise.
//!
//! The parts: this file (the limits, the decoder's state, line and integer helpers),
//! `scan.rs` (phase 1, the one-pass scalar paths and the entry points), `build.rs`
//! (phase 2), and the unit tests in `tests.rs` (frames) and `limit_tests.rs` (limits
//! and what a frame may cost).

use bytes::Bytes;

use crate::error::{Error, Result, ServerError};
use crate::value::Value;

mod build;
use build::{build, build_from_tokens, bulk_header, validate_simple};
#[cfg(test)]
mod limit_tests;
mod scan;
#[cfg(test)]
mod tests;

/// Decoder limits. The defaults suit any legitimate reply; raise them only for unusual
/// data. Set them with [`ClientConfig::limits`](crate::ClientConfig::limits), on a
/// [`ConnectionInfo`](crate::ConnectionInfo) (`limits`), or in the connection URL
/// (`?max_frame_bytes=…&max_bulk_len=…&max_aggregate_len=…&max_depth=…&max_line_len=…`).
///
/// ```
/// let mut limits = typedis::resp::Limits::default();
/// limits.max_frame_bytes = 64 << 20; // no reply above 64 MiB
/// let config = typedis::ClientConfig::new("redis://127.0.0.1:6379")?.limits(limits);
/// # Ok::<(), typedis::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Deepest nesting of aggregates (default 128). Building a value and dropping it
    /// recurse once per level, so keep this in the hundreds, not millions.
    pub max_depth: usize,
    /// Longest bulk string, blob error or verbatim string, in bytes (default 512 MiB,
    /// the server's `proto-max-bulk-len`).
    pub max_bulk_len: usize,
    /// Most elements announced by one aggregate (default 2^32).
    pub max_aggregate_len: usize,
    /// Longest simple string, simple error, double or big number line, in bytes
    /// (default 512 MiB). Headers of bulk strings and aggregates, integers, nulls and
    /// booleans are a few bytes by definition: a line of theirs longer than 64 bytes is
    /// refused whatever this says.
    pub max_line_len: usize,
    /// Largest frame (one reply or push, everything in it), in bytes (default 1 GiB:
    /// room for a value of the servers' largest size, 512 MiB, and then some). A frame
    /// that passes it fails as soon as its header announces it or its bytes arrive,
    /// not when it completes.
    pub max_frame_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 128,
            max_bulk_len: 512 * 1024 * 1024,
            max_aggregate_len: 1 << 32,
            max_line_len: 512 * 1024 * 1024,
            max_frame_bytes: 1 << 30,
        }
    }
}

/// An incremental RESP2/RESP3 frame decoder. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct Decoder {
    limits: Limits,
    /// Offset of the first element not yet known to be complete.
    pos: usize,
    /// Elements still expected by each open aggregate, innermost last.
    open: Vec<u64>,
    /// Where to resume looking for the CRLF of the line starting at `pos`: a long line
    /// arriving in many reads is then searched once, not once per read. Zero when no
    /// search is under way (a line never starts at offset 0 past its type byte), which
    /// is also what lets the one-pass scalar paths run: they would search from the start.
    crlf_from: usize,
    /// One token per element of the frame scanned so far, in order, unless `reparse`.
    tokens: Vec<Token>,
    /// This frame's tokens were dropped (they would outgrow its bytes): the build parses
    /// the frame again.
    reparse: bool,
    /// Never keep tokens (to check that both builds agree).
    always_reparse: bool,
    /// Scalar frames found by [`Decoder::decode_scalars`], reused between calls.
    spans: Vec<Span>,
}

/// What the scan learned about one element: enough to build its value without reading
/// its header again.
#[derive(Debug, Clone, Copy)]
struct Token {
    /// Strings: offset of the payload (bulk) or of the line (simple types) in the frame.
    start: u32,
    /// Strings: payload or line length. Aggregates: announced length (pairs for maps
    /// and attributes). [`NULL`] for RESP2 null bulks and arrays.
    len: u32,
    /// The RESP type byte.
    kind: u8,
}

/// `Token::len` of a RESP2 null (`$-1`, `*-1`).
const NULL: u32 = u32::MAX;

/// Tokens a frame may always keep, whatever its size (768 KiB at most): replies of up to
/// this many elements are built from tokens whatever their elements' size.
const FREE_TOKENS: usize = 1 << 16;

/// How often (in tokens) the scan checks that a frame's tokens stay within their budget.
const BUDGET_EVERY: usize = 256;

/// Tokens kept between frames; a larger vector (after a huge reply) is dropped.
const KEEP_TOKENS: usize = 1 << 16;

/// A complete scalar frame at the front of a buffer: its value, or where its payload is
/// (offsets into the buffer).
#[derive(Debug, Clone, Copy)]
enum Span {
    Int(i64),
    Nil,
    Bulk(usize, usize),
    Simple(usize, usize),
}

impl Span {
    /// Moves the offsets `by` bytes further into the buffer.
    #[inline]
    fn shifted(self, by: usize) -> Span {
        match self {
            Span::Bulk(a, b) => Span::Bulk(a + by, b + by),
            Span::Simple(a, b) => Span::Simple(a + by, b + by),
            other => other,
        }
    }

    /// The value, with payloads sliced out of `chunk` (zero-copy).
    #[inline]
    fn value(self, chunk: &Bytes) -> Value {
        match self {
            Span::Int(n) => Value::Int(n),
            Span::Nil => Value::Nil,
            Span::Bulk(a, b) => Value::Bulk(chunk.slice(a..b)),
            Span::Simple(a, b) => Value::SimpleString(chunk.slice(a..b)),
        }
    }
}

/// How a run of bulk strings in the scan ended.
enum Run {
    /// The frame is complete, this long.
    Frame(usize),
    /// The next element is not all buffered yet.
    Incomplete,
    /// Elements were accepted; scan on from `pos`.
    Continue,
    /// Nothing accepted: the element at `pos` needs the general path.
    General,
}

/// Longest line of a type whose line is a length or a fixed-width value (`$`, `*`, `:`,
/// `_`, `#`, …): 20 digits and a sign fit with room to spare.
const MAX_HEADER_LINE: usize = 64;

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(Limits::default())
    }
}

fn protocol(msg: impl Into<String>) -> Error {
    Error::Protocol(msg.into())
}

/// The error for a frame part over limit `name` (a [`Limits`] field), saying how to
/// raise it.
fn over(what: impl std::fmt::Display, name: &str, limit: usize) -> Error {
    protocol(format!(
        "{what}, over the {name} limit of {limit} (raise it with `ClientConfig::limits`, \
         `ConnectionInfo::limits` or `?{name}=` in the URL if this is expected)"
    ))
}

/// Finds `\r\n` at or after `from`; returns the index of `\r`.
fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i + 1 < buf.len() {
        match buf[i + 1..].iter().position(|&b| b == b'\n') {
            Some(off) => {
                let nl = i + 1 + off;
                if buf[nl - 1] == b'\r' {
                    return Some(nl - 1);
                }
                i = nl;
            }
            None => return None,
        }
    }
    None
}

/// Whether `kind` is a RESP2 or RESP3 type byte.
#[inline]
fn is_type(kind: u8) -> bool {
    matches!(
        kind,
        b'+' | b'-'
            | b':'
            | b'_'
            | b','
            | b'#'
            | b'('
            | b'$'
            | b'!'
            | b'='
            | b'*'
            | b'~'
            | b'>'
            | b'%'
            | b'|'
    )
}

#[cold]
fn unknown_type(kind: u8) -> Error {
    protocol(format!(
        "unknown RESP type byte {:?} (0x{kind:02x})",
        kind as char
    ))
}

/// Whether the line of type `kind` is a length or a fixed-width value (at most
/// [`MAX_HEADER_LINE`] bytes), rather than text of any length.
#[inline]
fn is_header(kind: u8) -> bool {
    !matches!(kind, b'+' | b'-' | b',' | b'(')
}

/// The integer line after the type byte at the front of `buf` (`$16\r\n`, `:-3\r\n`) in one
/// pass, and the offset of its CR: what `find_crlf(buf, 1)` then `parse_int` give for a
/// well-formed line. `None` for anything else (incomplete, malformed, out of range):
/// the caller then leaves the frame to the general path, which decides.
#[inline]
fn parse_int_line(buf: &[u8]) -> Option<(i64, usize)> {
    let mut i = 1;
    let neg = match buf.get(1)? {
        b'-' => {
            i += 1;
            true
        }
        b'+' => {
            i += 1;
            false
        }
        _ => false,
    };
    let start = i;
    // At most 19 digits: their value fits in a u64.
    let mut n: u64 = 0;
    loop {
        let b = *buf.get(i)?;
        if b.is_ascii_digit() {
            if i - start == 19 {
                return None;
            }
            n = n * 10 + u64::from(b - b'0');
            i += 1;
        } else if b == b'\r' && i > start && *buf.get(i + 1)? == b'\n' {
            break;
        } else {
            return None;
        }
    }
    let n = if neg {
        0i64.checked_sub_unsigned(n)?
    } else {
        i64::try_from(n).ok()?
    };
    Some((n, i))
}

/// Parses a decimal integer line (`-1`, `42`, `+7`).
fn parse_int(line: &[u8]) -> Option<i64> {
    let (neg, digits) = match line {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        rest => (false, rest),
    };
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    // Accumulate towards the sign so that `i64::MIN` (a legitimate integer reply, e.g.
    // after DECRBY) parses: its magnitude does not fit in a positive i64.
    let mut n: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        let d = (d - b'0') as i64;
        n = n.checked_mul(10)?;
        n = if neg {
            n.checked_sub(d)?
        } else {
            n.checked_add(d)?
        };
    }
    Some(n)
}

fn show(line: &[u8]) -> String {
    let cut = &line[..line.len().min(32)];
    format!("{:?}", String::from_utf8_lossy(cut))
}
