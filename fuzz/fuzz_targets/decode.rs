//! Fuzzes the RESP decoder and the classification of frames, on any input:
//!
//! 1. Fed whole or in two parts, it must decode, wait for more, or fail with a protocol
//!    error; never panic, never loop. Fed in two parts the way the client's reader feeds
//!    it (`decode_scalars` before each `decode`), it must give the same frames and the
//!    same outcome as `decode` alone on the whole input; and so must a decoder that builds
//!    every frame by parsing it again rather than from the scan's tokens (what frames of
//!    many tiny elements do).
//! 2. Attributes around pushes: every frame, sent again with an attribute (or two) in
//!    front, decodes to that attribute around the same frame and is classified the same
//!    (`Value::is_push`): a reader routing pushes aside and replies in order gets the same
//!    replies, attributes or not.
//! 3. Bytes left over after a handshake: `resp::unsolicited` on the input agrees with
//!    decoding it frame by frame (only whole pushes: fine; pushes, then the start of what
//!    may be one: wait; anything else: a protocol error).
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use typedis::resp::{encode_value, unsolicited, Decoder, Limits, Unsolicited};
use typedis::Value;

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_depth = 32;
    limits.max_bulk_len = 1 << 20;
    limits.max_aggregate_len = 1 << 16;
    limits.max_line_len = 1 << 16;
    limits.max_frame_bytes = 1 << 22;
    limits
}

/// Frames decoded from `parts` fed one after the other, what is left undecoded, and
/// whether it ended in an error.
fn run(parts: &[&[u8]], scalars: bool) -> (Vec<Value>, BytesMut, bool) {
    run_with(Decoder::new(limits()), parts, scalars)
}

fn run_with(mut d: Decoder, parts: &[&[u8]], scalars: bool) -> (Vec<Value>, BytesMut, bool) {
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    let total: usize = parts.iter().map(|p| p.len()).sum();
    for part in parts {
        buf.extend_from_slice(part);
        loop {
            if scalars {
                d.decode_scalars(&mut buf, &mut frames);
            }
            match d.decode(&mut buf) {
                Ok(Some(v)) => frames.push(v),
                Ok(None) => break,
                Err(_) => return (frames, buf, true),
            }
            if frames.len() > total + 1 {
                panic!("more frames than bytes");
            }
        }
    }
    (frames, buf, false)
}

/// Frames encoded again (so that NaN doubles compare equal).
fn encode(frames: &[Value]) -> Vec<u8> {
    let mut out = BytesMut::new();
    for f in frames {
        encode_value(f, &mut out);
    }
    out.to_vec()
}

/// The replies a reader hands to callers, in order: every frame that is not a push.
fn replies(frames: &[Value]) -> Vec<Value> {
    frames.iter().filter(|f| !f.is_push()).cloned().collect()
}

fn decoding_is_consistent(data: &[u8]) {
    let split = data
        .first()
        .map(|b| *b as usize % (data.len() + 1))
        .unwrap_or(0);
    let (frames, _, failed) = run(&[data], false);
    let whole = (encode(&frames), failed);
    let (a, b) = data.split_at(split);
    for scalars in [true, false] {
        let (f, _, e) = run(&[a, b], scalars);
        assert_eq!((encode(&f), e), whole);
        let (f, _, e) = run_with(Decoder::reparsing(limits()), &[a, b], scalars);
        assert_eq!((encode(&f), e), whole);
    }
}

fn attributes_around_pushes_change_nothing(data: &[u8]) {
    let (frames, _, _) = run(&[data], false);
    let attribute = [(
        Value::SimpleString("a".into()),
        Value::SimpleString("b".into()),
    )];
    let mut wrapped_wire = BytesMut::new();
    for f in &frames {
        // One attribute, or two nested, in front of the frame.
        let once = Value::Attribute {
            attributes: attribute.to_vec(),
            value: Box::new(f.clone()),
        };
        let twice = Value::Attribute {
            attributes: vec![],
            value: Box::new(once.clone()),
        };
        for wrapped in [&once, &twice] {
            assert_eq!(wrapped.is_push(), f.is_push());
            assert_eq!(
                encode(&[wrapped.unattributed().clone()]),
                encode(&[f.unattributed().clone()])
            );
            encode_value(wrapped, &mut wrapped_wire);
        }
    }
    let (decoded, rest, failed) = run(&[&wrapped_wire], true);
    // Frames that survived one decode survive another with attributes in front, unless
    // the attributes make one pass a limit (depth, frame size).
    if failed {
        return;
    }
    assert!(rest.is_empty());
    assert_eq!(decoded.len(), frames.len() * 2);
    let under: Vec<Value> = decoded.iter().map(|v| v.unattributed().clone()).collect();
    let doubled: Vec<Value> = frames
        .iter()
        .map(|f| f.unattributed().clone())
        .flat_map(|f| [f.clone(), f])
        .collect();
    assert_eq!(encode(&under), encode(&doubled));
    let routed: Vec<Value> = replies(&decoded)
        .into_iter()
        .map(|v| v.unattributed().clone())
        .collect();
    assert_eq!(encode(&routed), encode(&replies(&doubled)));
}

fn leftover_after_a_handshake_is_judged_like_decoding(data: &[u8]) {
    let verdict = unsolicited(data, limits());
    let (frames, rest, failed) = run(&[data], false);
    let all_pushes = frames.iter().all(Value::is_push);
    let expected = if failed || !all_pushes {
        None
    } else if rest.is_empty() {
        Some(Unsolicited::Pushes)
    } else if matches!(rest[0], b'>' | b'|') {
        Some(Unsolicited::Incomplete)
    } else {
        None
    };
    assert_eq!(verdict.ok(), expected);
}

fuzz_target!(|data: &[u8]| {
    decoding_is_consistent(data);
    attributes_around_pushes_change_nothing(data);
    leftover_after_a_handshake_is_judged_like_decoding(data);
});
