//! [`ArgBuf`], the buffer behind [`Args`](super::Args): inline up to [`INLINE_ARGS`]
//! bytes, on the heap beyond; and [`header`], the `*<n>` / `$<n>` line of RESP on the
//! stack.

/// Bytes of encoded arguments kept inline, without a heap allocation: enough for most
/// commands on short keys and values (`GET key`, `SET key value`, `INCR counter`).
pub(super) const INLINE_ARGS: usize = 62;

/// The buffer of [`Args`](super::Args): inline up to [`INLINE_ARGS`] bytes, on the heap beyond. A
/// command's buffer lives only until it is copied into the connection's write buffer, so
/// for the common short command an allocation (and its free, often on another thread)
/// would cost more than everything else done to encode it.
#[derive(Clone)]
pub(super) enum ArgBuf {
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
    pub(super) fn with_capacity(bytes: usize) -> Self {
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
    pub(super) fn push_arg(&mut self, head: &[u8; 24], head_len: usize, arg: &[u8]) {
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
    pub(super) fn extend(&mut self, parts: &[&[u8]]) {
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

/// `<prefix><n>\r\n` on the stack, and its length. Lengths under 100 (nearly every
/// argument count and most argument lengths) skip the general formatting.
#[inline]
pub(super) fn header(prefix: u8, n: usize) -> ([u8; 24], usize) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_agree_with_plain_formatting() {
        let mut cases: Vec<usize> = (0..1200).collect();
        cases.extend([9_999, 10_000, 65_535, 1 << 20, usize::MAX]);
        for n in cases {
            let (head, len) = header(b'$', n);
            assert_eq!(&head[..len], format!("${n}\r\n").as_bytes(), "{n}");
        }
    }
}
