//! Fuzzes the RESP decoder: any input, fed whole or in two parts, must decode, wait for
//! more, or fail with a protocol error; never panic, never loop.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use typedis::resp::{Decoder, Limits};

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_depth: 32, max_bulk_len: 1 << 20, max_aggregate_len: 1 << 16 };
    let split = data.first().map(|b| *b as usize % (data.len() + 1)).unwrap_or(0);
    let mut d = Decoder::new(limits);
    let mut buf = BytesMut::from(&data[..split]);
    let mut frames = 0;
    loop {
        match d.decode(&mut buf) {
            Ok(Some(_)) => frames += 1,
            Ok(None) => break,
            Err(_) => return,
        }
        if frames > data.len() + 1 {
            panic!("more frames than bytes");
        }
    }
    buf.extend_from_slice(&data[split..]);
    while let Ok(Some(_)) = d.decode(&mut buf) {}
});
