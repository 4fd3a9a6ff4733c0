//! Unit tests of the decoder on frames: every type, splits at every byte, zero-copy
//! bulk strings, hostile and extreme input.

use bytes::BytesMut;

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

pub(super) fn decode_all(input: &[u8]) -> Result<Option<Value>> {
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
    let input: &[u8] =
        b"*3\r\n$5\r\nhello\r\n%1\r\n+k\r\n*2\r\n:1\r\n,2.5\r\n|1\r\n+a\r\n_\r\n=7\r\ntxt:abc\r\n";
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
