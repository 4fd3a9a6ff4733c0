//! Phase 1 of decoding and the decoder's entry points: [`Decoder::decode`] (scan, then
//! build), the one-pass paths for lone scalars and runs of them
//! ([`Decoder::decode_scalars`]), and the incremental scan with its limits and tokens.

use bytes::BytesMut;

use super::*;

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
