//! RESP2/RESP3 decoding, sans-IO, in two phases.
//!
//! 1. **Scan**: check that a whole frame is buffered, without allocating. The scan is
//!    incremental: it remembers how far it got (the offset of the first incomplete
//!    element and the counts of the aggregates still open), so a large reply arriving in
//!    many reads is scanned once in total, not once per read. Limits (nesting depth,
//!    bulk length, aggregate length) are enforced here, on each header, so nothing is
//!    ever allocated for a length that is only announced. Each element it accepts
//!    leaves a token behind (its type, and where its payload or line is): the memory
//!    kept while a frame is incomplete grows with the elements received.
//! 2. **Build**: split the frame off the read buffer (`split_to(..).freeze()`) and build
//!    the [`Value`] from the tokens; bulk payloads are zero-copy slices of that frozen
//!    buffer.
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

/// Decoder limits. The defaults suit any legitimate reply; raise them only for
/// unusual data (e.g. bulk values over 512 MiB, which servers also refuse by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting of aggregates (default 128). Parsing recurses once per level, so
    /// keep this in the hundreds, not millions.
    pub max_depth: usize,
    /// Longest bulk string, blob error or verbatim string, in bytes (default 512 MiB,
    /// the server's `proto-max-bulk-len`).
    pub max_bulk_len: usize,
    /// Most elements announced by one aggregate (default 2^32).
    pub max_aggregate_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 128,
            max_bulk_len: 512 * 1024 * 1024,
            max_aggregate_len: 1 << 32,
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
    /// arriving in many reads is then searched once, not once per read.
    crlf_from: usize,
    /// One token per element of the frame scanned so far, in order.
    tokens: Vec<Token>,
    /// Scalar frames found by [`Decoder::decode_scalars`], reused between calls.
    spans: Vec<Span>,
}

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

/// What the scan learned about one element: enough to build its value without reading
/// its header again.
#[derive(Debug, Clone, Copy)]
struct Token {
    /// The RESP type byte.
    kind: u8,
    /// Strings: offset of the payload (bulk) or of the line (simple types) in the frame.
    start: usize,
    /// Strings: payload or line length. Aggregates: announced length (pairs for maps
    /// and attributes). [`NULL`] for RESP2 null bulks and arrays.
    len: usize,
}

/// How a run of bulk strings in the scan ended.
enum Run {
    /// The frame is complete, this long.
    Frame(usize),
    /// The next element is not all buffered yet.
    Incomplete,
    /// A bulk string's payload is not followed by CRLF.
    Unterminated,
    /// Elements were accepted; scan on from `pos`.
    Continue,
    /// Nothing accepted: the element at `pos` needs the general path.
    General,
}

/// `Token::len` of a RESP2 null (`$-1`, `*-1`).
const NULL: usize = usize::MAX;

/// Tokens kept between frames; a larger vector (after a huge reply) is dropped.
const KEEP_TOKENS: usize = 1 << 16;

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(Limits::default())
    }
}

fn protocol(msg: impl Into<String>) -> Error {
    Error::Protocol(msg.into())
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

/// Parses a decimal integer line (`-1`, `42`). No sign other than a leading `-`.
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
    pub fn new(limits: Limits) -> Self {
        Decoder {
            limits,
            pos: 0,
            open: Vec::new(),
            crlf_from: 0,
            tokens: Vec::new(),
            spans: Vec::new(),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Decodes one frame from the front of `buf`.
    ///
    /// `Ok(Some(value))`: a whole frame was buffered; its bytes were removed from `buf`.
    /// `Ok(None)`: more bytes are needed; nothing was removed. `Err(Error::Protocol)`:
    /// the input is not valid RESP or breaks a limit. Error replies come back as
    /// [`Value::Error`].
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Value>> {
        if self.pos == 0 {
            if let Some(v) = self.decode_scalar(buf) {
                // A partial scan may have left a CRLF search position behind.
                self.crlf_from = 0;
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
        let v = build(&frame, &self.tokens, &mut at);
        debug_assert_eq!(at, self.tokens.len(), "one token per element");
        if self.tokens.capacity() > KEEP_TOKENS {
            self.tokens = Vec::new();
        } else {
            self.tokens.clear();
        }
        v.map(Some)
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
        if self.pos != 0 {
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
            // A partial scan may have left a CRLF search position behind.
            self.crlf_from = 0;
            let chunk = buf.split_to(end).freeze();
            out.extend(spans.drain(..).map(|s| s.value(&chunk)));
        }
        self.spans = spans;
        largest
    }

    /// The complete scalar frame at the front of `buf`, and its length; `None` for
    /// anything else (see [`Decoder::decode_scalar`]).
    #[inline]
    fn scalar_span(&self, buf: &[u8]) -> Option<(Span, usize)> {
        let kind = *buf.first()?;
        if !matches!(kind, b'$' | b'+' | b':') {
            return None;
        }
        match kind {
            b':' => {
                let (n, cr) = parse_int_line(buf)?;
                Some((Span::Int(n), cr + 2))
            }
            b'+' => {
                let cr = find_crlf(buf, 1)?;
                Some((Span::Simple(1, cr), cr + 2))
            }
            _ => {
                let (n, cr) = parse_int_line(buf)?;
                if n == -1 {
                    return Some((Span::Nil, cr + 2));
                }
                let n = usize::try_from(n).ok()?;
                if n > self.limits.max_bulk_len
                    || buf.len() < cr + 2 + n + 2
                    || &buf[cr + 2 + n..cr + 4 + n] != b"\r\n"
                {
                    return None;
                }
                Some((Span::Bulk(cr + 2, cr + 2 + n), cr + 4 + n))
            }
        }
    }

    /// Phase 1: the length of the complete frame at the front of `buf`, if buffered.
    fn scan(&mut self, buf: &[u8]) -> Result<Option<usize>> {
        loop {
            // One element starting at self.pos.
            let start = self.pos;
            let Some(&kind) = buf.get(start) else {
                return Ok(None);
            };
            // Fast path for the commonest element, a bulk string, and for runs of them
            // inside one aggregate (LRANGE, MGET, HGETALL …): those are read in this
            // inner loop, which only settles `pos` when the run ends.
            if kind == b'$' {
                match self.scan_bulk_run(buf, start) {
                    Run::Frame(len) => return Ok(Some(len)),
                    Run::Incomplete => return Ok(None),
                    Run::Unterminated => {
                        return Err(protocol("bulk string not terminated by CRLF"))
                    }
                    Run::Continue => continue,
                    Run::General => {}
                }
            }
            let Some(cr) = find_crlf(buf, self.crlf_from.max(start + 1)) else {
                // Nothing up to the last byte ends the line; that byte may be the `\r`.
                self.crlf_from = buf.len() - 1;
                if buf.len() - start > self.limits.max_bulk_len.max(64 * 1024) {
                    return Err(protocol(
                        "a RESP header or simple string line is too long (no CRLF)",
                    ));
                }
                return Ok(None);
            };
            let line = &buf[start + 1..cr];
            let mut next = cr + 2;
            // Elements this one opens (aggregates), if any.
            let mut opens: Option<u64> = None;
            let token = match kind {
                b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => {
                    validate_simple(kind, line)?;
                    Token {
                        kind,
                        start: start + 1,
                        len: line.len(),
                    }
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
                        Token {
                            kind,
                            start: 0,
                            len: NULL,
                        }
                    } else if n < 0 {
                        return Err(protocol(format!("negative length {n} for a bulk string")));
                    } else {
                        let n = n as usize;
                        if n > self.limits.max_bulk_len {
                            return Err(protocol(format!(
                                "a bulk string announces {n} bytes, over the {} byte limit (raise Limits::max_bulk_len if this is expected)",
                                self.limits.max_bulk_len
                            )));
                        }
                        if kind == b'=' && n < 4 {
                            return Err(protocol("verbatim string shorter than its format prefix"));
                        }
                        if buf.len() < next + n + 2 {
                            return Ok(None);
                        }
                        if &buf[next + n..next + n + 2] != b"\r\n" {
                            return Err(protocol("bulk string not terminated by CRLF"));
                        }
                        let token = Token {
                            kind,
                            start: next,
                            len: n,
                        };
                        next += n + 2;
                        token
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
                        Token {
                            kind,
                            start: 0,
                            len: NULL,
                        }
                    } else if n < 0 {
                        return Err(protocol(format!("negative length {n} for an aggregate")));
                    } else {
                        let n = n as u64;
                        if n > self.limits.max_aggregate_len as u64 {
                            return Err(protocol(format!(
                                "an aggregate announces {n} elements, over the {} limit (raise Limits::max_aggregate_len)",
                                self.limits.max_aggregate_len
                            )));
                        }
                        // Maps and attributes hold pairs; an attribute also precedes the
                        // value it describes, which belongs to it here.
                        let elements = match kind {
                            b'%' => n * 2,
                            b'|' => n * 2 + 1,
                            _ => n,
                        };
                        if elements > 0 {
                            if self.open.len() + 1 > self.limits.max_depth {
                                return Err(protocol(format!(
                                    "replies nested deeper than {} levels (raise Limits::max_depth)",
                                    self.limits.max_depth
                                )));
                            }
                            opens = Some(elements);
                        }
                        Token {
                            kind,
                            start: 0,
                            len: n as usize,
                        }
                    }
                }
                other => {
                    return Err(protocol(format!(
                        "unknown RESP type byte {:?} (0x{other:02x})",
                        other as char
                    )))
                }
            };
            self.tokens.push(token);
            match opens {
                Some(n) => {
                    self.pos = next;
                    self.crlf_from = next;
                    self.open.push(n);
                }
                None => {
                    if let Some(len) = self.close(next) {
                        return Ok(Some(len));
                    }
                }
            }
        }
    }

    /// Scans consecutive well-formed bulk strings from `start` (which holds a `$`).
    /// Every element it accepts is recorded and closed as [`Decoder::close`] would;
    /// `Run::General` means the element at `self.pos` (== `start`) needs the general path.
    #[inline]
    fn scan_bulk_run(&mut self, buf: &[u8], start: usize) -> Run {
        let mut at = start;
        loop {
            let Some((n, data)) = bulk_header(buf, at) else {
                return self.end_run(at);
            };
            if n > self.limits.max_bulk_len {
                return self.end_run(at);
            }
            let end = data + n;
            if buf.len() < end + 2 {
                return match self.end_run(at) {
                    Run::General => Run::Incomplete,
                    other => other,
                };
            }
            if &buf[end..end + 2] != b"\r\n" {
                return Run::Unterminated;
            }
            self.tokens.push(Token {
                kind: b'$',
                start: data,
                len: n,
            });
            at = end + 2;
            match self.open.last_mut() {
                // More elements to come in this aggregate: stay in the run if the next
                // one is a bulk string too.
                Some(left) if *left > 1 => {
                    *left -= 1;
                    if buf.get(at) != Some(&b'$') {
                        self.pos = at;
                        self.crlf_from = at;
                        return Run::Continue;
                    }
                }
                _ => {
                    return match self.close(at) {
                        Some(len) => Run::Frame(len),
                        None => Run::Continue,
                    };
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

/// Phase 2: builds the value of the element `tokens[*at]` (and of its elements) from a
/// frame the scan accepted.
fn build(frame: &Bytes, tokens: &[Token], at: &mut usize) -> Result<Value> {
    let Some(&Token { kind, start, len }) = tokens.get(*at) else {
        return Err(protocol("frame changed between scan and build"));
    };
    *at += 1;
    let bad = || protocol("frame changed between scan and build");
    let text = || frame.get(start..start + len).ok_or_else(bad);
    Ok(match kind {
        b'$' if len == NULL => Value::Nil,
        b'$' => Value::Bulk(frame.slice(start..start + len)),
        b'+' => Value::SimpleString(frame.slice(start..start + len)),
        b'(' => Value::BigNumber(frame.slice(start..start + len)),
        b'-' | b'!' => Value::Error(ServerError::parse(text()?)),
        b':' => Value::Int(parse_int(text()?).ok_or_else(bad)?),
        b'_' => Value::Nil,
        b'#' => Value::Boolean(text()? == b"t"),
        b',' => Value::Double(parse_double(text()?).ok_or_else(bad)?),
        b'=' => {
            let data = frame.slice(start..start + len);
            Value::Verbatim {
                format: [data[0], data[1], data[2]],
                text: data.slice(4..),
            }
        }
        b'*' if len == NULL => Value::Nil,
        b'%' | b'|' => {
            // Capacity is bounded by the elements actually scanned.
            let mut pairs = Vec::with_capacity(len.min(tokens.len() - *at));
            for _ in 0..len {
                let k = build(frame, tokens, at)?;
                let v = build(frame, tokens, at)?;
                pairs.push((k, v));
            }
            if kind == b'%' {
                Value::Map(pairs)
            } else {
                let value = build(frame, tokens, at)?;
                Value::Attribute {
                    attributes: pairs,
                    value: Box::new(value),
                }
            }
        }
        _ => {
            let mut items = Vec::with_capacity(len.min(tokens.len() - *at));
            while items.len() < len {
                // Runs of bulk strings in one go: large arrays of them are the hot case.
                let rest = tokens.get(*at..).unwrap_or_default();
                let run = rest
                    .iter()
                    .take(len - items.len())
                    .take_while(|t| t.kind == b'$' && t.len != NULL)
                    .count();
                items.extend(
                    rest[..run]
                        .iter()
                        .map(|t| Value::Bulk(frame.slice(t.start..t.start + t.len))),
                );
                *at += run;
                if items.len() < len {
                    items.push(build(frame, tokens, at)?);
                }
            }
            match kind {
                b'~' => Value::Set(items),
                b'>' => Value::Push(items),
                _ => Value::Array(items),
            }
        }
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
}
