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

use bytes::{Bytes, BytesMut};

use crate::error::{Error, Result, ServerError};
use crate::value::Value;

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

impl Decoder {
    /// A decoder with the given limits.
    pub fn new(mut limits: Limits) -> Self {
        // No frame can be larger than memory: with these lengths capped, adding a length
        // to an offset within a buffer never overflows.
        const LARGEST: usize = isize::MAX as usize / 4;
        limits.max_bulk_len = limits.max_bulk_len.min(LARGEST);
        limits.max_line_len = limits.max_line_len.min(LARGEST);
        limits.max_frame_bytes = limits.max_frame_bytes.min(LARGEST);
        // Tokens hold 32-bit offsets.
        let always_reparse = limits.max_frame_bytes > u32::MAX as usize;
        Decoder {
            limits,
            pos: 0,
            open: Vec::new(),
            crlf_from: 0,
            tokens: Vec::new(),
            reparse: always_reparse,
            always_reparse,
            spans: Vec::new(),
        }
    }

    /// A decoder that never keeps tokens: every frame that is not a lone scalar is parsed
    /// twice. For tests and fuzzing, which check that both ways of building agree.
    #[doc(hidden)]
    pub fn reparsing(limits: Limits) -> Self {
        Decoder {
            always_reparse: true,
            reparse: true,
            ..Decoder::new(limits)
        }
    }

    /// Records the token of an element that ends at `end` (`len`: [`NULL`] for a RESP2
    /// null, else below it), unless the frame's tokens were dropped; drops them when they
    /// take more than half the bytes scanned (checked every [`BUDGET_EVERY`] tokens).
    /// Offsets fit in 32 bits: with a larger `max_frame_bytes` no frame keeps tokens, and
    /// a frame with an offset past it fails before it is built.
    #[inline(always)]
    fn record(&mut self, kind: u8, start: usize, len: u32, end: usize) {
        if self.reparse {
            return;
        }
        self.tokens.push(Token {
            start: start as u32,
            len,
            kind,
        });
        let n = self.tokens.len();
        if n % BUDGET_EVERY == 0 && n > FREE_TOKENS && n * std::mem::size_of::<Token>() > end / 2 {
            self.drop_tokens();
        }
    }

    /// Builds this frame without tokens: they would take too much room.
    #[cold]
    fn drop_tokens(&mut self) {
        self.reparse = true;
        self.tokens = Vec::new();
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Whether the one-pass scalar paths may look at the front of the buffer: no frame
    /// is partly scanned (they would start it again from its first byte).
    #[inline]
    fn at_rest(&self) -> bool {
        self.pos == 0 && self.crlf_from == 0
    }

    /// Decodes one frame from the front of `buf`.
    ///
    /// `Ok(Some(value))`: a whole frame was buffered; its bytes were removed from `buf`.
    /// `Ok(None)`: more bytes are needed; nothing was removed. `Err(Error::Protocol)`:
    /// the input is not valid RESP or breaks a limit. Error replies come back as
    /// [`Value::Error`].
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Value>> {
        if self.at_rest() {
            if let Some(v) = self.decode_scalar(buf) {
                return Ok(Some(v));
            }
        }
        let Some(len) = self.scan(buf)? else {
            return Ok(None);
        };
        self.pos = 0;
        self.open.clear();
        self.crlf_from = 0;
        let frame = buf.split_to(len).freeze();
        let mut at = 0;
        let v = if self.reparse {
            self.reparse = self.always_reparse;
            let v = build(&frame, &mut at)?;
            (at == frame.len()).then_some(v)
        } else {
            let v = build_from_tokens(&frame, &self.tokens, &mut at)?;
            (at == self.tokens.len()).then_some(v)
        };
        if self.tokens.capacity() > KEEP_TOKENS {
            self.tokens = Vec::new();
        } else {
            self.tokens.clear();
        }
        v.map(Some)
            .ok_or_else(|| protocol("frame changed between scan and build"))
    }

    /// One pass for the most common replies (a whole bulk string, simple string or
    /// integer at the front of `buf`). `None` leaves everything else — aggregates,
    /// incomplete or invalid input — to the general two-phase path, untouched.
    #[inline]
    fn decode_scalar(&mut self, buf: &mut BytesMut) -> Option<Value> {
        let (span, len) = self.scalar_span(buf)?;
        let chunk = buf.split_to(len).freeze();
        Some(span.value(&chunk))
    }

    /// Decodes the run of complete scalar replies (bulk strings, simple strings,
    /// integers, RESP2 nulls) at the front of `buf` into `out`, with one split of the
    /// buffer for the whole run: each payload is then a slice of it, which costs less
    /// than splitting the buffer once per reply. Returns the size of the largest reply
    /// taken (0 when none). Everything else (aggregates, incomplete or invalid frames,
    /// or a frame whose scan is in progress) is left to [`Decoder::decode`], so calling
    /// this first and then `decode` in a loop decodes exactly what `decode` alone would.
    pub fn decode_scalars(&mut self, buf: &mut BytesMut, out: &mut Vec<Value>) -> usize {
        if !self.at_rest() {
            return 0;
        }
        let mut spans = std::mem::take(&mut self.spans);
        let mut end = 0;
        let mut largest = 0;
        while let Some((span, len)) = self.scalar_span(&buf[end..]) {
            spans.push(span.shifted(end));
            end += len;
            largest = largest.max(len);
        }
        if end > 0 {
            let chunk = buf.split_to(end).freeze();
            out.extend(spans.drain(..).map(|s| s.value(&chunk)));
        }
        self.spans = spans;
        largest
    }

    /// The complete scalar frame at the front of `buf`, and its length; `None` for
    /// anything else, and for anything near a limit (see [`Decoder::decode_scalar`]).
    #[inline]
    fn scalar_span(&self, buf: &[u8]) -> Option<(Span, usize)> {
        let kind = *buf.first()?;
        if !matches!(kind, b'$' | b'+' | b':') {
            return None;
        }
        let (span, len) = match kind {
            b':' => {
                let (n, cr) = parse_int_line(buf)?;
                (Span::Int(n), cr + 2)
            }
            b'+' => {
                // Only within the line limit: the general path refuses longer lines.
                let window = buf.len().min(self.limits.max_line_len + 3);
                let cr = find_crlf(&buf[..window], 1)?;
                (Span::Simple(1, cr), cr + 2)
            }
            _ => {
                let (n, cr) = parse_int_line(buf)?;
                if n == -1 {
                    return Some((Span::Nil, cr + 2));
                }
                let n = usize::try_from(n).ok()?;
                if n > self.limits.max_bulk_len {
                    return None;
                }
                let end = (cr + 2).checked_add(n)?;
                if buf.len() < end + 2 || &buf[end..end + 2] != b"\r\n" {
                    return None;
                }
                (Span::Bulk(cr + 2, end), end + 2)
            }
        };
        (len <= self.limits.max_frame_bytes).then_some((span, len))
    }

    /// Nothing more is buffered for the frame being scanned: fine, unless what is
    /// buffered (all of it belongs to this frame) is already over the frame limit.
    #[inline]
    fn incomplete(&self, buf: &[u8]) -> Result<Option<usize>> {
        if buf.len() > self.limits.max_frame_bytes {
            return Err(over(
                format_args!("a frame is over {} bytes and not complete", buf.len()),
                "max_frame_bytes",
                self.limits.max_frame_bytes,
            ));
        }
        Ok(None)
    }

    /// The frame at the front is complete and `len` bytes long.
    #[inline]
    fn complete(&self, len: usize) -> Result<Option<usize>> {
        if len > self.limits.max_frame_bytes {
            return Err(over(
                format_args!("a frame of {len} bytes"),
                "max_frame_bytes",
                self.limits.max_frame_bytes,
            ));
        }
        Ok(Some(len))
    }

    /// Phase 1: the length of the complete frame at the front of `buf`, if buffered.
    fn scan(&mut self, buf: &[u8]) -> Result<Option<usize>> {
        loop {
            // One element starting at self.pos.
            let start = self.pos;
            let Some(&kind) = buf.get(start) else {
                return self.incomplete(buf);
            };
            // Fast path for the commonest element, a bulk string, and for runs of them
            // inside one aggregate (LRANGE, MGET, HGETALL …): those are read in this
            // inner loop, which only settles `pos` when the run ends.
            if kind == b'$' {
                match self.scan_bulk_run(buf, start)? {
                    Run::Frame(len) => return self.complete(len),
                    Run::Incomplete => return self.incomplete(buf),
                    Run::Continue => continue,
                    Run::General => {}
                }
            }
            // Refused at once: its line need not arrive first.
            if !is_type(kind) {
                return Err(unknown_type(kind));
            }
            // The line is searched only up to its limit, and from where the last search
            // stopped: each byte of a line is looked at once however it arrives.
            let max = if is_header(kind) {
                MAX_HEADER_LINE
            } else {
                self.limits.max_line_len
            };
            let window_end = start + max + 3;
            let window = buf.len().min(window_end);
            let Some(cr) = find_crlf(&buf[..window], self.crlf_from.max(start + 1)) else {
                if window == window_end {
                    return Err(if is_header(kind) {
                        protocol(format!(
                            "a {:?} line is over {MAX_HEADER_LINE} bytes without CRLF: not RESP",
                            kind as char
                        ))
                    } else {
                        over(
                            format_args!("a {:?} line is over {max} bytes", kind as char),
                            "max_line_len",
                            max,
                        )
                    });
                }
                // Nothing up to the last byte ends the line; that byte may be the `\r`.
                self.crlf_from = window - 1;
                return self.incomplete(buf);
            };
            let line = &buf[start + 1..cr];
            let mut next = cr + 2;
            // Elements this one opens (aggregates), if any.
            let mut opens: Option<u64> = None;
            match kind {
                b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => {
                    validate_simple(kind, line)?;
                    self.record(kind, start + 1, line.len() as u32, next);
                }
                b'$' | b'!' | b'=' => {
                    if line == b"?" {
                        return Err(protocol("streamed strings ($?) are not supported"));
                    }
                    let n = parse_int(line).ok_or_else(|| {
                        protocol(format!("invalid length {} for a bulk string", show(line)))
                    })?;
                    if n == -1 && kind == b'$' {
                        // RESP2 null bulk.
                        self.record(kind, 0, NULL, next);
                    } else if n < 0 {
                        return Err(protocol(format!("negative length {n} for a bulk string")));
                    } else {
                        let n = n as u64;
                        if n > self.limits.max_bulk_len as u64 {
                            return Err(over(
                                format_args!("a bulk string announces {n} bytes"),
                                "max_bulk_len",
                                self.limits.max_bulk_len,
                            ));
                        }
                        let n = n as usize;
                        let end = next + n + 2;
                        if end > self.limits.max_frame_bytes {
                            return Err(over(
                                format_args!(
                                    "a bulk string of {n} bytes makes its frame {end} bytes long"
                                ),
                                "max_frame_bytes",
                                self.limits.max_frame_bytes,
                            ));
                        }
                        if kind == b'=' && n < 4 {
                            return Err(protocol("verbatim string shorter than its format prefix"));
                        }
                        if buf.len() < end {
                            return self.incomplete(buf);
                        }
                        if &buf[end - 2..end] != b"\r\n" {
                            return Err(protocol("bulk string not terminated by CRLF"));
                        }
                        self.record(kind, next, n as u32, end);
                        next = end;
                    }
                }
                b'*' | b'~' | b'>' | b'%' | b'|' => {
                    if line == b"?" {
                        return Err(protocol("streamed aggregates (*?) are not supported"));
                    }
                    let n = parse_int(line).ok_or_else(|| {
                        protocol(format!("invalid length {} for an aggregate", show(line)))
                    })?;
                    if n == -1 && kind == b'*' {
                        // RESP2 null array.
                        self.record(kind, 0, NULL, next);
                    } else if n < 0 {
                        return Err(protocol(format!("negative length {n} for an aggregate")));
                    } else {
                        let n = n as u64;
                        if n > self.limits.max_aggregate_len as u64 {
                            return Err(over(
                                format_args!("an aggregate announces {n} elements"),
                                "max_aggregate_len",
                                self.limits.max_aggregate_len,
                            ));
                        }
                        // Maps and attributes hold pairs; an attribute also precedes the
                        // value it describes, which belongs to it here.
                        let elements = match kind {
                            b'%' => n * 2,
                            b'|' => n * 2 + 1,
                            _ => n,
                        };
                        // An announced length need not fit in a token (the frame cannot
                        // complete within 4 GiB then anyway).
                        match u32::try_from(n).ok().filter(|n| *n != NULL) {
                            Some(n) => self.record(kind, 0, n, next),
                            None => self.drop_tokens(),
                        }
                        if elements > 0 {
                            if self.open.len() + 1 > self.limits.max_depth {
                                return Err(over(
                                    format_args!(
                                        "replies nested deeper than {} levels",
                                        self.limits.max_depth
                                    ),
                                    "max_depth",
                                    self.limits.max_depth,
                                ));
                            }
                            opens = Some(elements);
                        }
                    }
                }
                _ => return Err(unknown_type(kind)),
            }
            match opens {
                Some(n) => {
                    self.pos = next;
                    self.crlf_from = next;
                    self.open.push(n);
                }
                None => {
                    if let Some(len) = self.close(next) {
                        return self.complete(len);
                    }
                }
            }
        }
    }

    /// Scans consecutive well-formed bulk strings from `start` (which holds a `$`).
    /// Every element it accepts is closed as [`Decoder::close`] would; `Run::General`
    /// means the element at `self.pos` (== `start`) needs the general path (which also
    /// gives the errors of anything over a limit).
    #[inline]
    fn scan_bulk_run(&mut self, buf: &[u8], start: usize) -> Result<Run> {
        let (max_bulk, max_frame) = (self.limits.max_bulk_len, self.limits.max_frame_bytes);
        let mut at = start;
        loop {
            let Some((n, data)) = bulk_header(buf, at) else {
                return Ok(self.end_run(at));
            };
            // Checked first: with `n` within the limit the sums below cannot overflow.
            if n > max_bulk {
                return Ok(self.end_run(at));
            }
            let end = data + n;
            if end + 2 > max_frame {
                return Ok(self.end_run(at));
            }
            if buf.len() < end + 2 {
                return Ok(match self.end_run(at) {
                    Run::General => Run::Incomplete,
                    other => other,
                });
            }
            if &buf[end..end + 2] != b"\r\n" {
                return Err(protocol("bulk string not terminated by CRLF"));
            }
            at = end + 2;
            self.record(b'$', data, n as u32, at);
            match self.open.last_mut() {
                // More elements to come in this aggregate: stay in the run if the next
                // one is a bulk string too.
                Some(left) if *left > 1 => {
                    *left -= 1;
                    if buf.get(at) != Some(&b'$') {
                        self.pos = at;
                        self.crlf_from = at;
                        return Ok(Run::Continue);
                    }
                }
                _ => {
                    return Ok(match self.close(at) {
                        Some(len) => Run::Frame(len),
                        None => Run::Continue,
                    });
                }
            }
        }
    }

    /// Settles the scan position at `at`, where a run of bulk strings stopped without
    /// completing anything; `Run::General` when no element of the run was accepted.
    #[inline]
    fn end_run(&mut self, at: usize) -> Run {
        if at == self.pos {
            return Run::General;
        }
        self.pos = at;
        self.crlf_from = at;
        Run::Continue
    }

    /// Records that the element ending at `next` is complete and closes every aggregate
    /// it completes; `Some(frame length)` when that completes the frame.
    #[inline]
    fn close(&mut self, next: usize) -> Option<usize> {
        self.pos = next;
        self.crlf_from = next;
        while let Some(left) = self.open.last_mut() {
            *left -= 1;
            if *left > 0 {
                return None;
            }
            self.open.pop();
        }
        Some(next)
    }
}

/// A bulk-string header `$<digits>\r\n` at `buf[start..]`: the length and where the
/// payload starts. `None` for anything else (null, malformed, or not all buffered),
/// which the general path handles.
#[inline(always)]
fn bulk_header(buf: &[u8], start: usize) -> Option<(usize, usize)> {
    let rest = buf.get(start + 1..)?;
    let mut n: usize = 0;
    let mut len = 0;
    for &b in rest.iter().take(19) {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        n = n * 10 + d as usize;
        len += 1;
    }
    if len == 0 || rest.get(len..len + 2) != Some(b"\r\n") {
        return None;
    }
    Some((n, start + 1 + len + 2))
}

fn validate_simple(kind: u8, line: &[u8]) -> Result<()> {
    let ok = match kind {
        b':' => parse_int(line).is_some(),
        b'_' => line.is_empty(),
        b'#' => line == b"t" || line == b"f",
        b',' => parse_double(line).is_some(),
        b'(' => {
            let digits = line.strip_prefix(b"-").unwrap_or(line);
            !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
        }
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(protocol(format!(
            "invalid {} value {}",
            kind as char,
            show(line)
        )))
    }
}

fn parse_double(line: &[u8]) -> Option<f64> {
    match line {
        b"inf" | b"+inf" => Some(f64::INFINITY),
        b"-inf" => Some(f64::NEG_INFINITY),
        b"nan" | b"-nan" => Some(f64::NAN),
        _ => std::str::from_utf8(line).ok()?.parse().ok(),
    }
}

/// The payload (`data..end`) of the well-formed, non-null bulk string at `frame[at..]`,
/// whose CRLF is at `end`; `None` for anything else.
#[inline(always)]
fn bulk_at(frame: &[u8], at: usize) -> Option<(usize, usize)> {
    if frame.get(at) != Some(&b'$') {
        return None;
    }
    let (n, data) = bulk_header(frame, at)?;
    let end = data.checked_add(n)?;
    (end <= frame.len().saturating_sub(2)).then_some((data, end))
}

/// Phase 2 from tokens: builds the value of the element `tokens[*at]` (and of its
/// elements) from a frame the scan accepted.
fn build_from_tokens(frame: &Bytes, tokens: &[Token], at: &mut usize) -> Result<Value> {
    let bad = || protocol("frame changed between scan and build");
    let Some(&Token { kind, start, len }) = tokens.get(*at) else {
        return Err(bad());
    };
    *at += 1;
    let (start, n) = (start as usize, len as usize);
    let text = || frame.get(start..start + n).ok_or_else(bad);
    let slice = || text().map(|_| frame.slice(start..start + n));
    Ok(match kind {
        b'$' | b'*' if len == NULL => Value::Nil,
        b'$' => Value::Bulk(slice()?),
        b'+' => Value::SimpleString(slice()?),
        b'(' => Value::BigNumber(slice()?),
        b'-' | b'!' => Value::Error(ServerError::parse(text()?)),
        b':' => Value::Int(parse_int(text()?).ok_or_else(bad)?),
        b'_' => Value::Nil,
        b'#' => Value::Boolean(text()? == b"t"),
        b',' => Value::Double(parse_double(text()?).ok_or_else(bad)?),
        b'=' => {
            let data = slice()?;
            match *data {
                [a, b, c, _, ..] => Value::Verbatim {
                    format: [a, b, c],
                    text: data.slice(4..),
                },
                _ => return Err(bad()),
            }
        }
        b'%' | b'|' => {
            // Capacity is bounded by the elements actually scanned.
            let mut pairs = Vec::with_capacity(n.min(tokens.len() - *at));
            for _ in 0..n {
                let k = build_from_tokens(frame, tokens, at)?;
                let v = build_from_tokens(frame, tokens, at)?;
                pairs.push((k, v));
            }
            if kind == b'%' {
                Value::Map(pairs)
            } else {
                Value::Attribute {
                    attributes: pairs,
                    value: Box::new(build_from_tokens(frame, tokens, at)?),
                }
            }
        }
        b'*' | b'~' | b'>' => {
            let mut items = Vec::with_capacity(n.min(tokens.len() - *at));
            while items.len() < n {
                // Runs of bulk strings in one go: large arrays of them are the hot case.
                let rest = tokens.get(*at..).unwrap_or_default();
                let run = rest
                    .iter()
                    .take(n - items.len())
                    .take_while(|t| t.kind == b'$' && t.len != NULL)
                    .count();
                // Within the frame: the scan saw each payload's CRLF inside it.
                items.extend(rest[..run].iter().map(|t| {
                    let (a, n) = (t.start as usize, t.len as usize);
                    Value::Bulk(frame.slice(a..a + n))
                }));
                *at += run;
                if items.len() < n {
                    items.push(build_from_tokens(frame, tokens, at)?);
                }
            }
            match kind {
                b'~' => Value::Set(items),
                b'>' => Value::Push(items),
                _ => Value::Array(items),
            }
        }
        _ => return Err(bad()),
    })
}

/// Phase 2 without tokens: builds the value of the element at `frame[*at..]` (and of its
/// elements) from a frame the scan accepted, parsing it again, and moves `at` past it.
/// The frame is known complete and valid; anything else found here is reported, never a
/// panic.
fn build(frame: &Bytes, at: &mut usize) -> Result<Value> {
    let bad = || protocol("frame changed between scan and build");
    let start = *at;
    let kind = *frame.get(start).ok_or_else(bad)?;
    // Bulk strings first, in one pass: they are most of what large replies hold.
    if let Some((data, end)) = bulk_at(frame, start) {
        *at = end + 2;
        return Ok(Value::Bulk(frame.slice(data..end)));
    }
    let cr = find_crlf(frame, start + 1).ok_or_else(bad)?;
    let line = &frame[start + 1..cr];
    *at = cr + 2;
    let text = || frame.slice(start + 1..cr);
    Ok(match kind {
        b'+' => Value::SimpleString(text()),
        b'(' => Value::BigNumber(text()),
        b'-' => Value::Error(ServerError::parse(line)),
        b':' => Value::Int(parse_int(line).ok_or_else(bad)?),
        b'_' => Value::Nil,
        b'#' => Value::Boolean(line == b"t"),
        b',' => Value::Double(parse_double(line).ok_or_else(bad)?),
        b'$' | b'!' | b'=' => {
            let n = parse_int(line).ok_or_else(bad)?;
            if n == -1 && kind == b'$' {
                return Ok(Value::Nil);
            }
            let n = usize::try_from(n).map_err(|_| bad())?;
            let data = *at;
            let end = data.saturating_add(n);
            if end > frame.len().saturating_sub(2) {
                return Err(bad());
            }
            *at = end + 2;
            let payload = frame.slice(data..end);
            match kind {
                b'$' => Value::Bulk(payload),
                b'!' => Value::Error(ServerError::parse(&payload)),
                _ => match *payload {
                    [a, b, c, _, ..] => Value::Verbatim {
                        format: [a, b, c],
                        text: payload.slice(4..),
                    },
                    _ => return Err(bad()),
                },
            }
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let n = parse_int(line).ok_or_else(bad)?;
            if n == -1 && kind == b'*' {
                return Ok(Value::Nil);
            }
            let n = usize::try_from(n).map_err(|_| bad())?;
            // Every element takes at least 3 bytes (`_\r\n`): the capacity is bounded by
            // the bytes of the frame, whatever the header says.
            let room = (frame.len() - *at) / 3;
            match kind {
                b'%' | b'|' => {
                    let mut pairs = Vec::with_capacity(n.min(room / 2));
                    for _ in 0..n {
                        let k = build(frame, at)?;
                        let v = build(frame, at)?;
                        pairs.push((k, v));
                    }
                    if kind == b'%' {
                        Value::Map(pairs)
                    } else {
                        Value::Attribute {
                            attributes: pairs,
                            value: Box::new(build(frame, at)?),
                        }
                    }
                }
                _ => {
                    let mut items = Vec::with_capacity(n.min(room));
                    while items.len() < n {
                        // Runs of bulk strings (LRANGE, MGET, …) in a loop of their own:
                        // the hot case, with no call and no `Result` per element.
                        let mut pos = *at;
                        while items.len() < n {
                            let Some((data, end)) = bulk_at(frame, pos) else {
                                break;
                            };
                            items.push(Value::Bulk(frame.slice(data..end)));
                            pos = end + 2;
                        }
                        *at = pos;
                        if items.len() < n {
                            items.push(build(frame, at)?);
                        }
                    }
                    match kind {
                        b'~' => Value::Set(items),
                        b'>' => Value::Push(items),
                        _ => Value::Array(items),
                    }
                }
            }
        }
        _ => return Err(bad()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pass_integer_lines_agree_with_the_two_pass_parse() {
        let two_pass = |buf: &[u8]| {
            let cr = find_crlf(buf, 1)?;
            parse_int(&buf[1..cr]).map(|n| (n, cr))
        };
        // Every line of up to 6 bytes over an alphabet of the bytes that matter.
        let alphabet = b"0159-+\r\nx";
        let mut lines: Vec<Vec<u8>> = vec![b"$".to_vec()];
        let mut frontier = lines.clone();
        for _ in 0..6 {
            let mut next = Vec::new();
            for l in &frontier {
                for &b in alphabet {
                    let mut m = l.clone();
                    m.push(b);
                    next.push(m);
                }
            }
            lines.extend(next.iter().cloned());
            frontier = next;
        }
        for n in [i64::MAX, i64::MIN, i64::MIN + 1, 0, -1, 1_000_000_007] {
            lines.push(format!(":{n}\r\n").into_bytes());
        }
        for extra in [
            "99999999999999999999",
            "9223372036854775808",
            "-9223372036854775809",
        ] {
            lines.push(format!(":{extra}\r\n").into_bytes());
        }
        lines.push(b":0000000000000000001\r\n".to_vec());
        lines.push(b":00000000000000000001\r\n".to_vec());
        for line in &lines {
            assert_eq!(
                parse_int_line(line),
                two_pass(line),
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
    }

    fn decode_all(input: &[u8]) -> Result<Option<Value>> {
        let mut buf = BytesMut::from(input);
        Decoder::default().decode(&mut buf)
    }

    fn bulk(s: &str) -> Value {
        Value::Bulk(Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn bulk_header_agrees_with_a_plain_reading() {
        // The reference: a maximal run of at most 19 digits, then CRLF.
        fn reference(buf: &[u8], start: usize) -> Option<(usize, usize)> {
            let rest = buf.get(start + 1..)?;
            let len = rest
                .iter()
                .take(19)
                .take_while(|b| b.is_ascii_digit())
                .count();
            if len == 0 || rest.get(len..len + 2) != Some(b"\r\n") {
                return None;
            }
            let n = std::str::from_utf8(&rest[..len]).ok()?.parse().ok()?;
            Some((n, start + 1 + len + 2))
        }
        let mut inputs: Vec<Vec<u8>> = Vec::new();
        for digits in 0..22 {
            let number: String = (0..digits)
                .map(|i| char::from(b'0' + ((i * 7 + digits) % 10) as u8))
                .collect();
            for tail in [
                &b"\r\n"[..],
                b"\r\nxy",
                b"\r",
                b"",
                b"\n\r",
                b"x\r\n",
                b"\r\r\n",
                b"\r\n0123456789",
                b"\r\n\xff\xff\xff\xff\xff\xff\xff\xff",
                b"\r\r\n45678",
                b"\xff\r\n\r\n\r\n\r\n",
                b":\r\n\r\n\r\n\r\n",
                b"/\r\n\r\n\r\n\r\n",
            ] {
                inputs.push([b"$", number.as_bytes(), tail].concat());
            }
        }
        for odd in [
            &b"$-1\r\n"[..],
            b"$\r\n\r\n",
            b"$0\r\n",
            b"$00\r\n",
            b"$1a\r\n",
            b"$12:4\r\n",
            b"$",
        ] {
            inputs.push(odd.to_vec());
        }
        // Every length the fast path can take, followed by a payload.
        for n in (0..10_000).chain((10_000..1_000_000).step_by(37)) {
            inputs.push(format!("${n}\r\nvalue\r\n").into_bytes());
        }
        for input in &inputs {
            for prefix in 0..2 {
                let buf = [&b"x"[..prefix], input].concat();
                assert_eq!(
                    bulk_header(&buf, prefix),
                    reference(&buf, prefix),
                    "{:?}",
                    String::from_utf8_lossy(&buf)
                );
            }
        }
    }

    #[test]
    fn every_type() {
        let cases: Vec<(&[u8], Value)> = vec![
            (b"+OK\r\n", Value::SimpleString(Bytes::from_static(b"OK"))),
            (b":-12\r\n", Value::Int(-12)),
            (b"$3\r\nfoo\r\n", bulk("foo")),
            (b"$0\r\n\r\n", bulk("")),
            (b"$-1\r\n", Value::Nil),
            (b"*-1\r\n", Value::Nil),
            (b"_\r\n", Value::Nil),
            (b",1.5\r\n", Value::Double(1.5)),
            (b",inf\r\n", Value::Double(f64::INFINITY)),
            (b",-inf\r\n", Value::Double(f64::NEG_INFINITY)),
            (b"#t\r\n", Value::Boolean(true)),
            (
                b"(3492890328409238509324850943850943825024385\r\n",
                Value::BigNumber(Bytes::from_static(
                    b"3492890328409238509324850943850943825024385",
                )),
            ),
            (
                b"=15\r\ntxt:Some string\r\n",
                Value::Verbatim {
                    format: *b"txt",
                    text: Bytes::from_static(b"Some string"),
                },
            ),
            (
                b"*2\r\n$1\r\na\r\n:1\r\n",
                Value::Array(vec![bulk("a"), Value::Int(1)]),
            ),
            (b"*0\r\n", Value::Array(vec![])),
            (
                b"%1\r\n+k\r\n:2\r\n",
                Value::Map(vec![(
                    Value::SimpleString(Bytes::from_static(b"k")),
                    Value::Int(2),
                )]),
            ),
            (
                b"~2\r\n:1\r\n:2\r\n",
                Value::Set(vec![Value::Int(1), Value::Int(2)]),
            ),
            (
                b">2\r\n+message\r\n$1\r\nx\r\n",
                Value::Push(vec![
                    Value::SimpleString(Bytes::from_static(b"message")),
                    bulk("x"),
                ]),
            ),
            (
                b"|1\r\n+ttl\r\n:3\r\n$1\r\nv\r\n",
                Value::Attribute {
                    attributes: vec![(
                        Value::SimpleString(Bytes::from_static(b"ttl")),
                        Value::Int(3),
                    )],
                    value: Box::new(bulk("v")),
                },
            ),
            (
                b"|0\r\n*1\r\n|1\r\n+a\r\n*0\r\n%0\r\n",
                Value::Attribute {
                    attributes: vec![],
                    value: Box::new(Value::Array(vec![Value::Attribute {
                        attributes: vec![(
                            Value::SimpleString(Bytes::from_static(b"a")),
                            Value::Array(vec![]),
                        )],
                        value: Box::new(Value::Map(vec![])),
                    }])),
                },
            ),
            (
                b"*2\r\n|1\r\n+a\r\n:1\r\n:5\r\n:6\r\n",
                Value::Array(vec![
                    Value::Attribute {
                        attributes: vec![(
                            Value::SimpleString(Bytes::from_static(b"a")),
                            Value::Int(1),
                        )],
                        value: Box::new(Value::Int(5)),
                    },
                    Value::Int(6),
                ]),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(
                decode_all(input).unwrap(),
                Some(expected),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
        assert!(matches!(decode_all(b",nan\r\n").unwrap(), Some(Value::Double(d)) if d.is_nan()));
        match decode_all(b"-WRONGTYPE bad\r\n").unwrap() {
            Some(Value::Error(e)) => assert_eq!(e.code(), "WRONGTYPE"),
            other => panic!("{other:?}"),
        }
        match decode_all(b"!21\r\nSYNTAX invalid syntax\r\n").unwrap() {
            Some(Value::Error(e)) => assert_eq!(e.code(), "SYNTAX"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn consumes_exactly_one_frame() {
        let mut buf = BytesMut::from(&b"+a\r\n+b\r\n+c"[..]);
        let mut d = Decoder::default();
        assert!(d.decode(&mut buf).unwrap().is_some());
        assert_eq!(&buf[..], b"+b\r\n+c");
        assert!(d.decode(&mut buf).unwrap().is_some());
        assert_eq!(d.decode(&mut buf).unwrap(), None);
        assert_eq!(&buf[..], b"+c");
    }

    #[test]
    fn split_at_every_byte() {
        let input: &[u8] = b"*3\r\n$5\r\nhello\r\n%1\r\n+k\r\n*2\r\n:1\r\n,2.5\r\n|1\r\n+a\r\n_\r\n=7\r\ntxt:abc\r\n";
        let whole = decode_all(input).unwrap().unwrap();
        for split in 0..input.len() {
            let mut d = Decoder::default();
            let mut buf = BytesMut::from(&input[..split]);
            assert_eq!(d.decode(&mut buf).unwrap(), None, "split at {split}");
            buf.extend_from_slice(&input[split..]);
            assert_eq!(
                d.decode(&mut buf).unwrap().as_ref(),
                Some(&whole),
                "split at {split}"
            );
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn bulk_is_zero_copy() {
        let mut buf = BytesMut::from(&b"$5\r\nhello\r\n"[..]);
        let base = buf.as_ptr() as usize;
        let Some(Value::Bulk(b)) = Decoder::default().decode(&mut buf).unwrap() else {
            panic!()
        };
        assert_eq!(
            b.as_ptr() as usize,
            base + 4,
            "payload is a slice of the read buffer"
        );
    }

    #[test]
    fn hostile_input_is_a_protocol_error() {
        let bad: Vec<&[u8]> = vec![
            b"?x\r\n",
            b"$-2\r\n",
            b"*-5\r\n",
            b"$abc\r\n",
            b":12a\r\n",
            b"#x\r\n",
            b",notanumber\r\n",
            b"$3\r\nfooXY",
            b"$?\r\n",
            b"*?\r\n",
            b"=2\r\nab\r\n",
            b"_x\r\n",
            b"(12x\r\n",
        ];
        for input in bad {
            assert!(
                matches!(decode_all(input), Err(Error::Protocol(_))),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn huge_announcements_are_refused_without_allocating() {
        // 10 GiB bulk: over the 512 MiB default.
        assert!(matches!(
            decode_all(b"$10737418240\r\n"),
            Err(Error::Protocol(_))
        ));
        // A billion-element array with nothing behind it: incomplete, nothing allocated.
        assert_eq!(decode_all(b"*1000000000\r\n").unwrap(), None);
        let small = Limits {
            max_aggregate_len: 10,
            ..Limits::default()
        };
        let mut buf = BytesMut::from(&b"*11\r\n"[..]);
        assert!(matches!(
            Decoder::new(small).decode(&mut buf),
            Err(Error::Protocol(_))
        ));
    }

    #[test]
    fn deep_nesting_is_refused() {
        let mut input = Vec::new();
        for _ in 0..10_000 {
            input.extend_from_slice(b"*1\r\n");
        }
        input.extend_from_slice(b":1\r\n");
        let err = decode_all(&input).unwrap_err();
        assert!(err.to_string().contains("nested"), "{err}");
        // Within the limit it decodes.
        let mut ok = Vec::new();
        for _ in 0..100 {
            ok.extend_from_slice(b"*1\r\n");
        }
        ok.extend_from_slice(b":1\r\n");
        assert!(decode_all(&ok).unwrap().is_some());
    }

    #[test]
    fn extreme_integers() {
        assert_eq!(
            decode_all(b":-9223372036854775808\r\n").unwrap(),
            Some(Value::Int(i64::MIN))
        );
        assert_eq!(
            decode_all(b":9223372036854775807\r\n").unwrap(),
            Some(Value::Int(i64::MAX))
        );
        for bad in [
            &b":9223372036854775808\r\n"[..],
            b":-9223372036854775809\r\n",
            b":-\r\n",
        ] {
            assert!(matches!(decode_all(bad), Err(Error::Protocol(_))));
        }
    }

    #[test]
    fn long_line_split_across_reads() {
        // A simple string fed one byte at a time, including a lone `\n` and a `\r` that
        // arrives in a read of its own: the CRLF search resumes where it stopped.
        let input = b"*2\r\n+ab\ncd\rx\r\n+y\r\n";
        let mut d = Decoder::default();
        let mut buf = BytesMut::new();
        let mut out = None;
        for (i, b) in input.iter().enumerate() {
            buf.extend_from_slice(&[*b]);
            let v = d.decode(&mut buf).unwrap();
            assert_eq!(v.is_some(), i == input.len() - 1, "byte {i}");
            out = out.or(v);
        }
        assert_eq!(
            out,
            Some(Value::Array(vec![
                Value::SimpleString(Bytes::from_static(b"ab\ncd\rx")),
                Value::SimpleString(Bytes::from_static(b"y")),
            ]))
        );
    }

    #[test]
    fn incremental_scan_is_linear() {
        // 20,000 small elements fed a few bytes at a time: each byte is scanned once.
        let mut input = b"*20000\r\n".to_vec();
        for i in 0..20_000 {
            input.extend_from_slice(format!(":{i}\r\n").as_bytes());
        }
        let mut d = Decoder::default();
        let mut buf = BytesMut::new();
        let mut out = None;
        for chunk in input.chunks(7) {
            buf.extend_from_slice(chunk);
            if let Some(v) = d.decode(&mut buf).unwrap() {
                out = Some(v);
            }
        }
        match out {
            Some(Value::Array(items)) => assert_eq!(items.len(), 20_000),
            other => panic!("{other:?}"),
        }
    }

    /// Feeds `input` in `chunk`-byte reads the way the client's reader does
    /// (`decode_scalars`, then `decode`), until a frame, an error or the end; fails when
    /// that takes longer than `budget`.
    fn feed(
        d: &mut Decoder,
        input: &[u8],
        chunk: usize,
        budget: std::time::Duration,
    ) -> Result<Option<Value>> {
        let started = std::time::Instant::now();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for part in input.chunks(chunk) {
            assert!(
                started.elapsed() < budget,
                "over {budget:?} after {} of {} bytes",
                buf.len(),
                input.len()
            );
            buf.extend_from_slice(part);
            d.decode_scalars(&mut buf, &mut out);
            if let Some(v) = out.pop() {
                return Ok(Some(v));
            }
            if let Some(v) = d.decode(&mut buf)? {
                return Ok(Some(v));
            }
        }
        Ok(None)
    }

    #[test]
    fn an_unterminated_line_is_searched_once_not_once_per_read() {
        // 4 MiB in 512-byte reads: searching the whole buffer again on each read would
        // look at ~17 GB (minutes); searching only the new bytes takes milliseconds. (Kept
        // small: other tests of this process measure its memory.)
        let body = vec![b'a'; 4 << 20];
        for prefix in [
            &b"+"[..],
            b"-ERR ",
            b",",
            b"(",
            b"*1\r\n+",
            b"%1\r\n+k\r\n-",
        ] {
            let input = [prefix, &body].concat();
            let r = feed(
                &mut Decoder::default(),
                &input,
                512,
                std::time::Duration::from_secs(10),
            );
            assert_eq!(r.unwrap(), None, "{prefix:?}: still waiting for the CRLF");
        }
        // And the line then ends normally.
        let mut d = Decoder::default();
        let mut buf = BytesMut::from(&b"+abc"[..]);
        assert_eq!(d.decode(&mut buf).unwrap(), None);
        buf.extend_from_slice(b"def\r\n");
        assert_eq!(
            d.decode(&mut buf).unwrap(),
            Some(Value::SimpleString(Bytes::from_static(b"abcdef")))
        );
    }

    fn limits(f: impl FnOnce(&mut Limits)) -> Limits {
        let mut l = Limits::default();
        f(&mut l);
        l
    }

    fn error_of(limits: Limits, input: &[u8]) -> String {
        let mut buf = BytesMut::from(input);
        match Decoder::new(limits).decode(&mut buf) {
            Err(Error::Protocol(m)) => m,
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(input)),
        }
    }

    #[test]
    fn lines_stop_at_their_limit() {
        let small = limits(|l| l.max_line_len = 10);
        // Ten bytes are fine, eleven are not, whether the CRLF came or not.
        let mut buf = BytesMut::from(&b"+0123456789\r\n"[..]);
        assert!(Decoder::new(small).decode(&mut buf).unwrap().is_some());
        for input in [
            &b"+0123456789x\r\n"[..],
            b"+0123456789xyz",
            b"*1\r\n-0123456789xy",
        ] {
            let m = error_of(small, input);
            assert!(m.contains("max_line_len"), "{m}");
        }
        // Not yet over: waiting (the next byte may be the CR).
        let mut buf = BytesMut::from(&b"+0123456789\r"[..]);
        assert_eq!(Decoder::new(small).decode(&mut buf).unwrap(), None);
        // Headers are short by definition: a long one fails at once, whatever the limit.
        let digits = "1".repeat(70);
        for kind in ["$", "*", ":", "%", "|", ">", "_", "#"] {
            let m = error_of(Limits::default(), format!("{kind}{digits}").as_bytes());
            assert!(m.contains("64 bytes"), "{kind}: {m}");
        }
        // An unknown type byte needs no CRLF to be refused.
        assert!(error_of(Limits::default(), b"?").contains("unknown RESP type"));
    }

    #[test]
    fn frames_stop_at_max_frame_bytes() {
        let small = limits(|l| l.max_frame_bytes = 100);
        // Many small elements, the frame not complete: refused once past 100 bytes.
        let mut d = Decoder::new(small);
        let mut buf = BytesMut::from(&b"*1000\r\n"[..]);
        let mut outcome = Ok(None);
        for _ in 0..40 {
            buf.extend_from_slice(b":0\r\n");
            outcome = d.decode(&mut buf);
            if buf.len() <= 100 {
                assert_eq!(outcome.as_ref().unwrap(), &None, "{} bytes", buf.len());
            } else {
                break;
            }
        }
        let m = outcome.unwrap_err().to_string();
        assert!(
            m.contains("max_frame_bytes") && m.contains("ClientConfig::limits"),
            "{m}"
        );
        // A bulk string announcing more: refused on its header, before any payload.
        assert!(error_of(small, b"$200\r\n").contains("max_frame_bytes"));
        assert!(error_of(small, b"*2\r\n$1\r\na\r\n$95\r\n").contains("max_frame_bytes"));
        // A complete frame over the limit, arriving in one read (scalar path included).
        let long = format!("+{}\r\n", "x".repeat(120));
        assert!(error_of(small, long.as_bytes()).contains("max_frame_bytes"));
        let bulk = format!("$110\r\n{}\r\n", "x".repeat(110));
        assert!(error_of(small, bulk.as_bytes()).contains("max_frame_bytes"));
        let mut scalars = Vec::new();
        let mut buf = BytesMut::from(bulk.as_bytes());
        assert_eq!(
            Decoder::new(small).decode_scalars(&mut buf, &mut scalars),
            0
        );
        // Exactly 100 bytes is fine.
        let exact = format!("${}\r\n{}\r\n", 100 - 7, "y".repeat(93));
        assert_eq!(exact.len(), 100);
        let mut buf = BytesMut::from(exact.as_bytes());
        assert!(Decoder::new(small).decode(&mut buf).unwrap().is_some());
    }

    #[test]
    fn limit_errors_name_the_option_to_raise() {
        for (limits, input, name) in [
            (
                limits(|l| l.max_bulk_len = 5),
                &b"$6\r\n"[..],
                "max_bulk_len",
            ),
            (
                limits(|l| l.max_aggregate_len = 5),
                b"*6\r\n",
                "max_aggregate_len",
            ),
            (
                limits(|l| l.max_depth = 2),
                b"*1\r\n*1\r\n*1\r\n",
                "max_depth",
            ),
            (
                limits(|l| l.max_line_len = 2),
                b"-ERR x\r\n",
                "max_line_len",
            ),
            (
                limits(|l| l.max_frame_bytes = 5),
                b"*9\r\n:1\r\n",
                "max_frame_bytes",
            ),
        ] {
            let m = error_of(limits, input);
            assert!(
                m.contains(name) && m.contains(&format!("?{name}=")),
                "{name}: {m}"
            );
        }
    }

    #[test]
    fn tokens_never_outgrow_half_the_bytes_scanned() {
        // Tiny elements: past the free allowance, the tokens are dropped and the frame is
        // parsed again when complete — to the same value.
        let elements: Vec<&[u8]> = vec![
            b":7\r\n",
            b"_\r\n",
            b"#t\r\n",
            b"+s\r\n",
            b"$1\r\nb\r\n",
            b",1.5\r\n",
            b"(12\r\n",
            b"-E x\r\n",
            b"*0\r\n",
            b"%1\r\n:1\r\n:2\r\n",
            b"=5\r\ntxt:x\r\n",
            b"|1\r\n+a\r\n+b\r\n:3\r\n",
            b"$-1\r\n",
            b"*-1\r\n",
            b"~1\r\n:1\r\n",
        ];
        let n = 3 * FREE_TOKENS;
        let mut frame = format!("*{n}\r\n").into_bytes();
        for i in 0..n {
            frame.extend_from_slice(elements[i % elements.len()]);
        }
        let mut d = Decoder::default();
        let mut buf = BytesMut::from(&frame[..frame.len() / 2]);
        assert_eq!(d.decode(&mut buf).unwrap(), None);
        assert!(d.reparse, "the tokens of tiny elements were kept");
        assert!(d.tokens.capacity() * std::mem::size_of::<Token>() <= buf.len() / 2 + 64);
        buf.extend_from_slice(&frame[frame.len() / 2..]);
        let reparsed = d.decode(&mut buf).unwrap().unwrap();
        assert!(!d.reparse, "the next frame starts with tokens again");
        let from_tokens = {
            // The same elements, few enough to keep their tokens.
            let mut small = b"*15\r\n".to_vec();
            elements.iter().for_each(|e| small.extend_from_slice(e));
            decode_all(&small).unwrap().unwrap()
        };
        let (Value::Array(all), Value::Array(first)) = (&reparsed, &from_tokens) else {
            panic!("{reparsed:?}")
        };
        assert_eq!(all.len(), n);
        for (i, v) in all.iter().enumerate() {
            let want = &first[i % first.len()];
            // NaN-free, so values compare directly.
            assert_eq!(v, want, "element {i}");
        }
        // Large elements keep their tokens: the build reads no header again.
        let n = 3 * FREE_TOKENS;
        let mut big = format!("*{n}\r\n").into_bytes();
        for _ in 0..n {
            big.extend_from_slice(format!("$100\r\n{}\r\n", "v".repeat(100)).as_bytes());
        }
        let mut d = Decoder::default();
        let mut buf = BytesMut::from(&big[..big.len() / 2]);
        assert_eq!(d.decode(&mut buf).unwrap(), None);
        assert!(!d.reparse && d.tokens.len() > FREE_TOKENS);
        buf.extend_from_slice(&big[big.len() / 2..]);
        let v = d.decode(&mut buf).unwrap().unwrap();
        assert!(matches!(&v, Value::Array(a) if a.len() == n));
        let mut buf = BytesMut::from(&big[..]);
        assert_eq!(
            Decoder::reparsing(Limits::default())
                .decode(&mut buf)
                .unwrap(),
            Some(v)
        );
    }
}
