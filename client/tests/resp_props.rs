//! Property tests of the RESP decoder: random values survive encode → split into random
//! chunks → incremental decode, in RESP3 and RESP2; random bytes never panic it.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use typedis::resp::{encode_value, encode_value_resp2, Decoder};
use typedis::Value;

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Nil),
        "[a-zA-Z0-9 ]{0,20}".prop_map(|s| Value::SimpleString(Bytes::from(s))),
        any::<i64>().prop_map(Value::Int),
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(|b| Value::Bulk(Bytes::from(b))),
        (-1e12f64..1e12).prop_map(Value::Double),
        Just(Value::Double(f64::INFINITY)),
        any::<bool>().prop_map(Value::Boolean),
        "-?[1-9][0-9]{0,40}".prop_map(|s| Value::BigNumber(Bytes::from(s))),
        "[a-z ]{0,20}".prop_map(|s| Value::Verbatim {
            format: *b"txt",
            text: Bytes::from(s)
        }),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Set),
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Push),
            proptest::collection::vec((inner.clone(), inner.clone()), 0..4).prop_map(Value::Map),
            (
                proptest::collection::vec((inner.clone(), inner.clone()), 1..3),
                inner
            )
                .prop_map(|(attributes, v)| Value::Attribute {
                    attributes,
                    value: Box::new(v)
                }),
        ]
    })
}

/// Mostly bulk strings (runs of them take a fast path in the decoder), with a few nulls
/// and integers between them and arrays nested in arrays.
fn bulk_heavy() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        8 => proptest::collection::vec(any::<u8>(), 0..130).prop_map(|b| Value::Bulk(Bytes::from(b))),
        1 => Just(Value::Nil),
        1 => any::<i64>().prop_map(Value::Int),
    ];
    leaf.prop_recursive(3, 200, 40, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..40).prop_map(Value::Array),
            proptest::collection::vec((inner.clone(), inner), 0..10).prop_map(Value::Map),
        ]
    })
}

/// Feeds `bytes` to a fresh decoder in chunks cut at `cuts`: the frames decoded, then how
/// it ended (the error, or `None` when the decoder is waiting for more) and how many bytes
/// are left in its buffer. With `scalars`, each `decode` is preceded by `decode_scalars`,
/// as the client's reader does. A decoder that parses every frame again in its build
/// (rather than from the scan's tokens, as frames of many tiny elements are) must give
/// the same outcome.
fn feed_any(bytes: &[u8], cuts: &[usize], scalars: bool) -> (Vec<Value>, Option<String>, usize) {
    let with_tokens = feed_into(Decoder::default(), bytes, cuts, scalars);
    let reparsed = feed_into(Decoder::reparsing(Default::default()), bytes, cuts, scalars);
    assert_eq!(reparsed, with_tokens, "the two builds disagree");
    with_tokens
}

fn feed_into(
    mut d: Decoder,
    bytes: &[u8],
    cuts: &[usize],
    scalars: bool,
) -> (Vec<Value>, Option<String>, usize) {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    points.push(bytes.len());
    points.sort_unstable();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut from = 0;
    for p in points {
        buf.extend_from_slice(&bytes[from..p]);
        from = p;
        loop {
            if scalars {
                d.decode_scalars(&mut buf, &mut out);
            }
            match d.decode(&mut buf) {
                Ok(Some(v)) => out.push(v),
                Ok(None) => break,
                Err(e) => return (out, Some(e.to_string()), buf.len()),
            }
        }
    }
    (out, None, buf.len())
}

/// [`feed_any`] for valid input: every byte decodes into a frame, the same with and
/// without `decode_scalars`.
fn feed(bytes: &[u8], cuts: &[usize]) -> Vec<Value> {
    let (out, err, left) = feed_any(bytes, cuts, false);
    assert_eq!(err, None, "valid input");
    assert_eq!(left, 0, "bytes left over");
    let (with_scalars, err, left) = feed_any(bytes, cuts, true);
    assert_eq!(err, None, "valid input, with decode_scalars");
    assert_eq!(left, 0, "bytes left over, with decode_scalars");
    assert_eq!(with_scalars, out, "decode_scalars changed the frames");
    out
}

/// Replies as a server sends them on a busy connection: mostly scalars (runs of them go
/// through `decode_scalars`), now and then an aggregate.
fn reply_stream() -> impl Strategy<Value = Vec<Value>> {
    let reply = prop_oneof![
        6 => proptest::collection::vec(any::<u8>(), 0..40).prop_map(|b| Value::Bulk(Bytes::from(b))),
        2 => Just(Value::Nil),
        2 => any::<i64>().prop_map(Value::Int),
        2 => "[a-zA-Z0-9 ]{0,12}".prop_map(|s| Value::SimpleString(Bytes::from(s))),
        1 => value(),
    ];
    proptest::collection::vec(reply, 1..40)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn corrupted_bulk_runs_decode_the_same_at_any_split(
        v in bulk_heavy(),
        flips in proptest::collection::vec((any::<usize>(), prop::sample::select(b"$*:-_\r\n0123456789x".to_vec())), 1..4),
    ) {
        // Damaged lengths, CRLFs and type bytes inside runs of bulk strings: whatever the
        // outcome (frames, an error, waiting), it does not depend on how reads split it.
        let mut bytes = BytesMut::new();
        encode_value(&v, &mut bytes);
        let mut bytes = bytes.to_vec();
        for (at, b) in flips {
            let i = at % bytes.len();
            bytes[i] = b;
        }
        let (frames, end, _) = feed_any(&bytes, &[], false);
        let cuts: Vec<usize> = (0..bytes.len()).collect();
        let (split_frames, split_end, _) = feed_any(&bytes, &cuts, false);
        prop_assert_eq!(&split_frames, &frames);
        prop_assert_eq!(&split_end, &end);
        for cuts in [&[][..], &cuts[..]] {
            let (scalar_frames, scalar_end, _) = feed_any(&bytes, cuts, true);
            prop_assert_eq!(&scalar_frames, &frames);
            prop_assert_eq!(&scalar_end, &end);
        }
    }

    #[test]
    fn reply_streams_decode_the_same_with_scalar_runs(
        replies in reply_stream(),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        // `feed` also decodes with `decode_scalars` first and compares.
        let mut bytes = BytesMut::new();
        for r in &replies {
            encode_value(r, &mut bytes);
        }
        prop_assert_eq!(&feed(&bytes, &cuts), &replies);
        let cuts_all: Vec<usize> = (0..bytes.len()).collect();
        prop_assert_eq!(&feed(&bytes, &cuts_all), &replies);
        let mut resp2 = BytesMut::new();
        for r in &replies {
            encode_value_resp2(r, &mut resp2);
        }
        let once = feed(&resp2, &[]);
        prop_assert_eq!(once.len(), replies.len());
        prop_assert_eq!(feed(&resp2, &cuts), once);
    }

    #[test]
    fn corrupted_reply_streams_decode_the_same_with_scalar_runs(
        replies in reply_stream(),
        flips in proptest::collection::vec((any::<usize>(), prop::sample::select(b"$*:+-_\r\n0123456789x".to_vec())), 1..4),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        let mut bytes = BytesMut::new();
        for r in &replies {
            encode_value(r, &mut bytes);
        }
        let mut bytes = bytes.to_vec();
        for (at, b) in flips {
            let i = at % bytes.len();
            bytes[i] = b;
        }
        let plain = feed_any(&bytes, &[], false);
        prop_assert_eq!(&feed_any(&bytes, &[], true), &plain);
        prop_assert_eq!(&feed_any(&bytes, &cuts, true), &feed_any(&bytes, &cuts, false));
    }

    #[test]
    fn resp3_round_trip_at_any_split(v in value(), w in value(), cuts in proptest::collection::vec(any::<usize>(), 0..6)) {
        let mut bytes = BytesMut::new();
        encode_value(&v, &mut bytes);
        encode_value(&w, &mut bytes);
        prop_assert_eq!(feed(&bytes, &cuts), vec![v, w]);
    }

    #[test]
    fn resp3_round_trip_byte_by_byte(v in value(), w in value()) {
        // Every element boundary falls between two reads, and elements complete one by
        // one while their aggregates are still open.
        let mut bytes = BytesMut::new();
        encode_value(&v, &mut bytes);
        encode_value(&w, &mut bytes);
        let cuts: Vec<usize> = (0..bytes.len()).collect();
        prop_assert_eq!(feed(&bytes, &cuts), vec![v, w]);
    }

    #[test]
    fn bulk_runs_round_trip_at_any_split(v in bulk_heavy(), w in bulk_heavy(), cuts in proptest::collection::vec(any::<usize>(), 0..8)) {
        let mut bytes = BytesMut::new();
        encode_value(&v, &mut bytes);
        encode_value(&w, &mut bytes);
        prop_assert_eq!(feed(&bytes, &cuts), vec![v, w]);
    }

    #[test]
    fn bulk_runs_round_trip_byte_by_byte(v in bulk_heavy()) {
        let mut bytes = BytesMut::new();
        encode_value(&v, &mut bytes);
        let cuts: Vec<usize> = (0..bytes.len()).collect();
        prop_assert_eq!(feed(&bytes, &cuts), vec![v]);
    }

    #[test]
    fn resp2_bulk_runs_round_trip_at_any_split(v in bulk_heavy(), cuts in proptest::collection::vec(any::<usize>(), 0..8)) {
        // RESP2 nulls inside a run are `$-1`, which the run leaves to the general path.
        let mut bytes = BytesMut::new();
        encode_value_resp2(&v, &mut bytes);
        let once = feed(&bytes, &[]);
        let cuts_all: Vec<usize> = (0..bytes.len()).collect();
        prop_assert_eq!(&feed(&bytes, &cuts), &once);
        prop_assert_eq!(&feed(&bytes, &cuts_all), &once);
    }

    #[test]
    fn resp2_round_trip_at_any_split(v in value(), cuts in proptest::collection::vec(any::<usize>(), 0..6)) {
        let mut bytes = BytesMut::new();
        encode_value_resp2(&v, &mut bytes);
        let once = feed(&bytes, &[]);
        prop_assert_eq!(feed(&bytes, &cuts), once);
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let mut buf = BytesMut::from(&bytes[..]);
        let mut d = Decoder::default();
        for _ in 0..16 {
            match d.decode(&mut buf) {
                Ok(Some(_)) => continue,
                _ => break,
            }
        }
    }

    #[test]
    fn prefixed_random_bytes_never_panic(kind in prop::sample::select(b"+-:$*_,#(=%~>|!".to_vec()), bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let mut input = vec![kind];
        input.extend_from_slice(&bytes);
        let mut buf = BytesMut::from(&input[..]);
        let _ = Decoder::default().decode(&mut buf);
    }
}
