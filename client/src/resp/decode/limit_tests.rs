//! Unit tests of the decoder's limits and costs: lines searched once, frames stopped at
//! their limits with errors that name the option, tokens bounded by the bytes scanned.

use bytes::BytesMut;

use super::tests::decode_all;
use super::*;

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
