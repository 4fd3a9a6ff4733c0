//! Conversions of hand-made replies in both protocols' shapes, and arguments.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::*;
use crate::cmd::Args;

#[test]
fn value_stays_small() {
    // Arrays of values are the bulk of large replies: every byte here is paid per
    // element.
    assert!(
        std::mem::size_of::<Value>() <= 40,
        "{}",
        std::mem::size_of::<Value>()
    );
}

fn bulk(s: &str) -> Value {
    Value::Bulk(Bytes::copy_from_slice(s.as_bytes()))
}

#[test]
fn scalars_from_both_protocols() {
    assert_eq!(i64::from_value(Value::Int(-3)).unwrap(), -3);
    assert_eq!(i64::from_value(bulk("42")).unwrap(), 42);
    assert!(u8::from_value(Value::Int(300)).is_err());
    assert_eq!(f64::from_value(bulk("3.5")).unwrap(), 3.5);
    assert_eq!(f64::from_value(Value::Double(2.0)).unwrap(), 2.0);
    assert_eq!(f64::from_value(bulk("-inf")).unwrap(), f64::NEG_INFINITY);
    assert!(f64::from_value(bulk("nan")).unwrap().is_nan());
    assert!(bool::from_value(Value::Boolean(true)).unwrap());
    assert!(!bool::from_value(Value::Int(0)).unwrap());
    assert_eq!(
        String::from_value(Value::Verbatim {
            format: *b"txt",
            text: Bytes::from_static(b"hi")
        })
        .unwrap(),
        "hi"
    );
    assert_eq!(Option::<String>::from_value(Value::Nil).unwrap(), None);
    assert_eq!(
        i128::from_value(Value::BigNumber(Bytes::from_static(
            b"3492890328409238509324850943850943825024385"
        )))
        .ok(),
        None
    );
    assert_eq!(
        u128::from_value(Value::BigNumber(Bytes::from_static(
            b"340282366920938463463374607431768211455"
        )))
        .unwrap(),
        u128::MAX
    );
}

#[test]
fn errors_say_what_was_expected_and_found() {
    let e = i64::from_value(bulk("abc")).unwrap_err().to_string();
    assert!(e.contains("integer") && e.contains("\"abc\""), "{e}");
    let nested = Value::Error(crate::ServerError::parse(b"WRONGTYPE bad"));
    assert!(matches!(String::from_value(nested), Err(Error::Server(_))));
}

#[test]
fn maps_from_resp3_maps_and_resp2_flat_arrays() {
    let flat = Value::Array(vec![bulk("a"), bulk("1"), bulk("b"), bulk("2")]);
    let m: HashMap<String, i64> = FromValue::from_value(flat).unwrap();
    assert_eq!(m["b"], 2);
    let map = Value::Map(vec![(bulk("a"), Value::Int(1))]);
    let m: BTreeMap<String, i64> = FromValue::from_value(map.clone()).unwrap();
    assert_eq!(m["a"], 1);
    let pairs: Vec<(String, i64)> = FromValue::from_value(map).unwrap();
    assert_eq!(pairs, vec![("a".into(), 1)]);
    assert!(HashMap::<String, String>::from_value(Value::Array(vec![bulk("x")])).is_err());
}

#[test]
fn pairs_from_flat_and_nested_arrays() {
    let flat = Value::Array(vec![bulk("ann"), bulk("3"), bulk("bob"), bulk("5.5")]);
    let nested = Value::Array(vec![
        Value::Array(vec![bulk("ann"), Value::Double(3.0)]),
        Value::Array(vec![bulk("bob"), Value::Double(5.5)]),
    ]);
    let a: Vec<(String, f64)> = FromValue::from_value(flat).unwrap();
    let b: Vec<(String, f64)> = FromValue::from_value(nested).unwrap();
    assert_eq!(a, b);
    assert_eq!(a[1], ("bob".into(), 5.5));
    let odd = Value::Array(vec![bulk("a"), bulk("1"), bulk("b")]);
    assert!(Vec::<(String, i64)>::from_value(odd).is_err());
}

#[test]
fn tuples_sets_and_attributes() {
    let v = Value::Array(vec![bulk("0"), Value::Array(vec![bulk("k")])]);
    let (cursor, keys): (u64, Vec<String>) = FromValue::from_value(v).unwrap();
    assert_eq!((cursor, keys), (0, vec!["k".to_owned()]));
    let s: HashSet<String> = FromValue::from_value(Value::Set(vec![bulk("x"), bulk("y")])).unwrap();
    assert!(s.contains("y"));
    let attr = Value::Attribute {
        attributes: vec![],
        value: Box::new(Value::Int(5)),
    };
    assert_eq!(i64::from_value(attr).unwrap(), 5);
    assert!(<(i64, i64)>::from_value(Value::Array(vec![Value::Int(1)])).is_err());
}

#[test]
fn byte_vectors_are_byte_strings() {
    let v: Vec<u8> = FromValue::from_value(bulk("ab")).unwrap();
    assert_eq!(v, b"ab");
    let vs: Vec<Vec<u8>> =
        FromValue::from_value(Value::Array(vec![bulk("x"), bulk("yz")])).unwrap();
    assert_eq!(vs, vec![b"x".to_vec(), b"yz".to_vec()]);
    assert!(Vec::<i64>::from_value(bulk("12")).is_err());
}

#[test]
fn args_from_every_to_arg_type() {
    let mut a = Args::new();
    a.push(&"s");
    a.push(&String::from("t"));
    a.push(&b"\x00\xff"[..]);
    a.push(&Bytes::from_static(b"b"));
    a.push(&-5i32);
    a.push(&7u64);
    a.push(&1.5f64);
    a.push(&0.1f32);
    a.push(&u128::MAX);
    let got: Vec<&[u8]> = a.iter().collect();
    assert_eq!(
        got,
        vec![
            &b"s"[..],
            b"t",
            b"\x00\xff",
            b"b",
            b"-5",
            b"7",
            b"1.5",
            b"0.1",
            b"340282366920938463463374607431768211455"
        ]
    );
}
