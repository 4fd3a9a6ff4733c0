//! Phase 2 of decoding: building the [`Value`] of a frame the scan accepted, from the
//! scan's tokens or, when it dropped them, by parsing the frame again; bulk payloads are
//! slices of the frame.

use bytes::Bytes;

use super::*;

/// A bulk-string header `$<digits>\r\n` at `buf[start..]`: the length and where the
/// payload starts. `None` for anything else (null, malformed, or not all buffered),
/// which the general path handles.
#[inline(always)]
pub(super) fn bulk_header(buf: &[u8], start: usize) -> Option<(usize, usize)> {
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

pub(super) fn validate_simple(kind: u8, line: &[u8]) -> Result<()> {
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
pub(super) fn build_from_tokens(frame: &Bytes, tokens: &[Token], at: &mut usize) -> Result<Value> {
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
pub(super) fn build(frame: &Bytes, at: &mut usize) -> Result<Value> {
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
