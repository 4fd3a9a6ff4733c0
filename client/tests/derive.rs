//! `#[derive(Scalar)]` and `#[derive(Record)]` without a server: both reply shapes
//! (RESP3 map, RESP2 flat array), every field attribute, and the error messages.
//! Round trips through real servers are in the `typedis-tests` crate.

use std::collections::BTreeMap;

use typedis::record::Positional;
use typedis::{Bytes, FromValue, Json, Record, Scalar, ToArg, Value};

#[derive(Debug, Clone, Copy, PartialEq, Scalar)]
#[typedis(rename_all = "kebab-case")]
enum Status {
    Active,
    OnHold,
    #[typedis(rename = "gone")]
    Deleted,
}

#[derive(Debug, Clone, Copy, PartialEq, Scalar)]
struct UserId(u64);

mod unix_seconds {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};
    use typedis::{Args, FromValue, Result, Value};

    pub fn to_arg(t: &SystemTime, out: &mut Args) {
        out.push_u64(t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs());
    }

    pub fn from_value(v: Value) -> Result<SystemTime> {
        Ok(UNIX_EPOCH + Duration::from_secs(u64::from_value(v)?))
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Prefs {
    theme: String,
    langs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Record)]
#[typedis(rename_all = "camelCase")]
struct Account {
    id: UserId,
    user_name: String,
    #[typedis(rename = "mail")]
    email: String,
    age: u8,
    balance: f64,
    status: Status,
    nickname: Option<String>,
    #[typedis(default)]
    logins: i64,
    #[typedis(with = unix_seconds)]
    created: std::time::SystemTime,
    #[typedis(json)]
    prefs: Prefs,
    #[typedis(skip)]
    cached: Option<Vec<u8>>,
}

fn sample() -> Account {
    Account {
        id: UserId(42),
        user_name: "ann".into(),
        email: "ann@example.com".into(),
        age: 31,
        balance: -12.5,
        status: Status::OnHold,
        nickname: None,
        logins: 7,
        created: std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000),
        prefs: Prefs {
            theme: "dark".into(),
            langs: vec!["en".into(), "fr".into()],
        },
        cached: None,
    }
}

fn bulk(b: &[u8]) -> Value {
    Value::Bulk(Bytes::copy_from_slice(b))
}

/// What HSET would store, as (field, value) byte pairs.
fn stored(a: &Account) -> Vec<(String, Vec<u8>)> {
    a.into_iter()
        .map(|(k, v)| (k.to_owned(), v.as_bytes().to_vec()))
        .collect()
}

#[test]
fn scalar_enum_uses_renamed_variant_names() {
    let mut args = typedis::Args::new();
    Status::OnHold.write_arg(&mut args);
    Status::Deleted.write_arg(&mut args);
    let written: Vec<&[u8]> = args.iter().collect();
    assert_eq!(written, vec![&b"on-hold"[..], b"gone"]);
    assert_eq!(Status::from_value(bulk(b"active")).unwrap(), Status::Active);
    assert_eq!(
        Status::from_value(Value::SimpleString(Bytes::from_static(b"gone"))).unwrap(),
        Status::Deleted
    );
    let err = Status::from_value(bulk(b"Active")).unwrap_err().to_string();
    assert!(err.contains("\"active\", \"on-hold\", \"gone\""), "{err}");
    assert!(err.contains("Status"), "{err}");
}

#[test]
fn scalar_newtype_delegates() {
    assert_eq!(UserId::from_value(bulk(b"42")).unwrap(), UserId(42));
    assert_eq!(UserId::from_value(Value::Int(7)).unwrap(), UserId(7));
    let mut args = typedis::Args::new();
    UserId(9).write_arg(&mut args);
    assert_eq!(args.iter().next(), Some(&b"9"[..]));
}

#[test]
fn record_fields_and_encoding() {
    assert_eq!(
        Account::FIELDS,
        &[
            "id", "userName", "mail", "age", "balance", "status", "nickname", "logins", "created",
            "prefs"
        ]
    );
    let pairs = stored(&sample());
    let map: BTreeMap<_, _> = pairs.iter().cloned().collect();
    assert_eq!(pairs.len(), 9, "None nickname and skipped field are absent");
    assert_eq!(map["userName"], b"ann");
    assert_eq!(map["status"], b"on-hold");
    assert_eq!(map["balance"], b"-12.5");
    assert_eq!(map["created"], b"1700000000");
    assert_eq!(map["prefs"], br#"{"theme":"dark","langs":["en","fr"]}"#);
    assert!(!map.contains_key("nickname"));
}

#[test]
fn record_round_trips_through_both_reply_shapes() {
    let original = sample();
    let pairs = stored(&original);
    // RESP2 HGETALL: flat array.
    let flat = Value::Array(
        pairs
            .iter()
            .flat_map(|(k, v)| [bulk(k.as_bytes()), bulk(v)])
            .collect(),
    );
    assert_eq!(Account::from_value(flat).unwrap(), original);
    // RESP3 HGETALL: map, any order.
    let map = Value::Map(
        pairs
            .iter()
            .rev()
            .map(|(k, v)| (bulk(k.as_bytes()), bulk(v)))
            .collect(),
    );
    assert_eq!(Account::from_value(map).unwrap(), original);
}

#[test]
fn optional_and_default_fields_may_be_absent() {
    let mut pairs = stored(&sample());
    pairs.retain(|(k, _)| k != "logins");
    pairs.push(("nickname".into(), b"annie".to_vec()));
    let v = Value::Map(
        pairs
            .iter()
            .map(|(k, v)| (bulk(k.as_bytes()), bulk(v)))
            .collect(),
    );
    let a = Account::from_value(v).unwrap();
    assert_eq!(a.logins, 0);
    assert_eq!(a.nickname.as_deref(), Some("annie"));
}

#[test]
fn missing_required_field_is_named() {
    let mut pairs = stored(&sample());
    pairs.retain(|(k, _)| k != "mail");
    let v = Value::Map(
        pairs
            .iter()
            .map(|(k, v)| (bulk(k.as_bytes()), bulk(v)))
            .collect(),
    );
    let err = Account::from_value(v).unwrap_err().to_string();
    assert!(err.contains("field `email`"), "{err}");
    assert!(err.contains("\"mail\""), "{err}");
    assert!(err.contains("`Account`"), "{err}");
    assert!(err.contains("missing"), "{err}");
}

#[test]
fn bad_field_value_names_struct_field_and_value() {
    let mut pairs = stored(&sample());
    for (k, v) in &mut pairs {
        if k == "age" {
            *v = b"old".to_vec();
        }
    }
    let v = Value::Map(
        pairs
            .iter()
            .map(|(k, v)| (bulk(k.as_bytes()), bulk(v)))
            .collect(),
    );
    let err = Account::from_value(v).unwrap_err().to_string();
    assert!(err.contains("field `age`"), "{err}");
    assert!(err.contains("`Account`"), "{err}");
    assert!(err.contains("old"), "{err}");
}

#[test]
fn positional_decodes_hmget_replies() {
    let a = sample();
    let pairs: BTreeMap<_, _> = stored(&a).into_iter().collect();
    let values = Value::Array(
        Account::FIELDS
            .iter()
            .map(|f| pairs.get(*f).map(|v| bulk(v)).unwrap_or(Value::Nil))
            .collect(),
    );
    let Positional(back) = Positional::<Account>::from_value(values).unwrap();
    assert_eq!(back, a);
    let short = Value::Array(vec![Value::Nil]);
    assert!(Positional::<Account>::from_value(short).is_err());
}

#[test]
fn json_wrapper_round_trips_and_reports_bad_json() {
    let mut args = typedis::Args::new();
    Json(&sample().prefs).write_arg(&mut args);
    let text = args.iter().next().unwrap().to_vec();
    let Json(back) = Json::<Prefs>::from_value(bulk(&text)).unwrap();
    assert_eq!(back, sample().prefs);
    let err = Json::<Prefs>::from_value(bulk(b"{nope"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("JSON"), "{err}");
}

#[test]
fn json_serialisation_failure_fails_the_command_not_the_process() {
    // serde_json refuses maps with non-string keys.
    let mut bad = std::collections::HashMap::new();
    bad.insert(vec![1u8], 1);
    let mut args = typedis::Args::new();
    Json(&bad).write_arg(&mut args);
    assert_eq!(args.len(), 1);
    assert!(args.has_error());
}
