//! Fuzzes the RESP decoder: any input, fed whole or in two parts, must decode, wait for
//! more, or fail with a protocol error; never panic, never loop. Fed in two parts the way
//! the client's reader feeds it (`decode_scalars` before each `decode`), it must give the
//! same frames and the same outcome as `decode` alone on the whole input.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use typedis::resp::{encode_value, Decoder, Limits};

/// Frames decoded from `parts` fed one after the other (encoded again, so that NaN
/// doubles compare equal), and whether it ended in an error.
fn run(parts: &[&[u8]], scalars: bool) -> (Vec<u8>, bool) {
    let limits = Limits { max_depth: 32, max_bulk_len: 1 << 20, max_aggregate_len: 1 << 16 };
    let mut d = Decoder::new(limits);
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
                Err(_) => return (encode(&frames), true),
            }
            if frames.len() > total + 1 {
                panic!("more frames than bytes");
            }
        }
    }
    (encode(&frames), false)
}

fn encode(frames: &[typedis::Value]) -> Vec<u8> {
    let mut out = BytesMut::new();
    for f in frames {
        encode_value(f, &mut out);
    }
    out.to_vec()
}

fuzz_target!(|data: &[u8]| {
    let split = data.first().map(|b| *b as usize % (data.len() + 1)).unwrap_or(0);
    let whole = run(&[data], false);
    let (a, b) = data.split_at(split);
    assert_eq!(run(&[a, b], true), whole);
    assert_eq!(run(&[a, b], false), whole);
});
