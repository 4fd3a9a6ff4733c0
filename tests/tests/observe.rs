//! The `tracing` and `metrics` features against real servers, with a capturing
//! subscriber and a capturing recorder: a command on a single node (also one the server
//! refuses), a pipeline and a transaction, the opt-in key recording, a reconnect after
//! `CLIENT KILL`, and a cluster command redirected by MOVED. Each asserts the span,
//! event and metric names and fields of `typedis::observe`.
//!
//! The subscriber and the recorder are installed for the test's thread only, and every
//! test runs on a current-thread runtime, so the client's own tasks (reader, writer)
//! report to them too.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use support::{Cluster, Kind, Server, SlotMove, KINDS};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use typedis::cluster::ClusterClient;
use typedis::prelude::*;
use typedis::Client;

/// A closed span or an event: its name (the message for events), target and fields.
#[derive(Debug, Clone, Default)]
struct Seen {
    name: String,
    target: String,
    fields: HashMap<String, String>,
}

impl Seen {
    fn get(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(String::as_str)
    }
}

#[derive(Default, Clone)]
struct Capture {
    open: Arc<Mutex<HashMap<u64, Seen>>>,
    spans: Arc<Mutex<Vec<Seen>>>,
    events: Arc<Mutex<Vec<Seen>>>,
}

struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        let mut seen = Seen {
            name: attrs.metadata().name().to_owned(),
            target: attrs.metadata().target().to_owned(),
            ..Seen::default()
        };
        attrs.record(&mut Fields(&mut seen.fields));
        self.open.lock().unwrap().insert(id.into_u64(), seen);
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        if let Some(seen) = self.open.lock().unwrap().get_mut(&id.into_u64()) {
            values.record(&mut Fields(&mut seen.fields));
        }
    }
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut seen = Seen {
            target: event.metadata().target().to_owned(),
            ..Seen::default()
        };
        event.record(&mut Fields(&mut seen.fields));
        seen.name = seen.fields.remove("message").unwrap_or_default();
        self.events.lock().unwrap().push(seen);
    }
    fn on_close(&self, id: Id, _: Context<'_, S>) {
        if let Some(seen) = self.open.lock().unwrap().remove(&id.into_u64()) {
            self.spans.lock().unwrap().push(seen);
        }
    }
}

impl Capture {
    /// Installs a subscriber with this layer for the current thread.
    fn install(&self) -> tracing::subscriber::DefaultGuard {
        tracing::subscriber::set_default(tracing_subscriber::registry().with(self.clone()))
    }

    /// Closed command spans named `op`.
    fn spans_of(&self, op: &str) -> Vec<Seen> {
        self.spans
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.name == "db.command" && s.get("db.operation.name") == Some(op))
            .cloned()
            .collect()
    }

    fn events_named(&self, name: &str) -> Vec<Seen> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.name == name)
            .cloned()
            .collect()
    }
}

/// One metric of a snapshot: kind, name, labels, value.
#[derive(Debug)]
struct Metric {
    name: String,
    labels: HashMap<String, String>,
    value: DebugValue,
}

fn metrics(snapshotter: &Snapshotter) -> Vec<Metric> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| Metric {
            name: key.key().name().to_owned(),
            labels: key
                .key()
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect(),
            value,
        })
        .collect()
}

fn find<'m>(all: &'m [Metric], name: &str, labels: &[(&str, &str)]) -> Vec<&'m Metric> {
    all.iter()
        .filter(|m| {
            m.name == name
                && labels
                    .iter()
                    .all(|(k, v)| m.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .collect()
}

#[tokio::test]
async fn commands_and_batches_have_spans_and_durations() {
    for kind in KINDS {
        let server = Server::start(kind);
        let port = server.port.to_string();
        let capture = Capture::default();
        let _subscriber = capture.install();
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let _recorder = metrics::set_default_local_recorder(&recorder);

        let client = Client::connect(&server.url()).await.unwrap();
        client.set("obs:s", "v").await.unwrap();
        let _: Option<String> = client.get("obs:s").decode().await.unwrap();
        let err = client.lpush("obs:s", ["x"]).await.unwrap_err();
        assert!(err.server_error().is_some(), "{err:?}");
        let _ = client.client_list().await.unwrap();
        let _: (bool, i64, i64) = client
            .pipeline()
            .set("obs:p", "1")
            .incr("obs:p")
            .incr("obs:p")
            .query()
            .await
            .unwrap();
        let _: (i64, i64) = client
            .transaction()
            .incr("obs:t")
            .incr("obs:t")
            .query()
            .await
            .unwrap();
        typedis::observe::record_keys(true);
        client.set("obs:keyed", "secret-value").await.unwrap();
        typedis::observe::record_keys(false);
        drop(client);

        // The GET: OpenTelemetry's fields, and no arguments by default.
        let get = capture.spans_of("GET");
        assert_eq!(get.len(), 1, "{kind:?}: {get:?}");
        let get = &get[0];
        assert_eq!(get.target, "typedis::command");
        assert_eq!(get.get("otel.name"), Some("GET"));
        assert_eq!(get.get("db.system.name"), Some("redis"));
        assert_eq!(get.get("db.namespace"), Some("0"));
        assert_eq!(get.get("server.address"), Some("127.0.0.1"));
        assert_eq!(get.get("server.port"), Some(port.as_str()));
        assert_eq!(get.get("db.query.text"), None, "{get:?}");
        assert_eq!(get.get("error.type"), None, "{get:?}");
        // The refused LPUSH: the error's code.
        let lpush = &capture.spans_of("LPUSH")[0];
        assert_eq!(lpush.get("db.response.status_code"), Some("WRONGTYPE"));
        assert_eq!(lpush.get("error.type"), Some("WRONGTYPE"));
        // A subcommand is named as the specs name it.
        assert_eq!(capture.spans_of("CLIENT LIST").len(), 1);
        // Batches: one span each, with their size; their commands have none of their own.
        let pipeline = capture.spans_of("PIPELINE");
        assert_eq!(pipeline.len(), 1, "{pipeline:?}");
        assert_eq!(pipeline[0].get("db.operation.batch.size"), Some("3"));
        let multi = capture.spans_of("MULTI");
        assert_eq!(multi.len(), 1, "{multi:?}");
        assert_eq!(multi[0].get("db.operation.batch.size"), Some("4"));
        assert!(capture.spans_of("INCR").is_empty());
        // Opt-in: the command and its key, never the value.
        let keyed: Vec<_> = capture
            .spans_of("SET")
            .into_iter()
            .filter(|s| s.get("db.query.text").is_some())
            .collect();
        assert_eq!(keyed.len(), 1, "{kind:?}");
        assert_eq!(keyed[0].get("db.query.text"), Some("SET obs:keyed"));
        // The connection's event.
        let connected = capture.events_named("connected");
        assert_eq!(connected.len(), 1, "{connected:?}");
        assert_eq!(connected[0].target, "typedis::connection");
        assert_eq!(connected[0].get("server.port"), Some(port.as_str()));

        let all = metrics(&snapshotter);
        let durations = |op: &str| {
            find(
                &all,
                "db.client.operation.duration",
                &[
                    ("db.operation.name", op),
                    ("db.system.name", "redis"),
                    ("server.address", "127.0.0.1"),
                    ("server.port", &port),
                ],
            )
        };
        let get = durations("GET");
        assert_eq!(get.len(), 1, "{kind:?}: {all:?}");
        match &get[0].value {
            DebugValue::Histogram(v) => {
                assert_eq!(v.len(), 1);
                assert!(v[0].into_inner() > 0.0 && v[0].into_inner() < 5.0, "{v:?}");
            }
            other => panic!("{other:?}"),
        }
        let lpush = durations("LPUSH");
        assert_eq!(lpush.len(), 1, "{all:?}");
        assert_eq!(
            lpush[0].labels.get("error.type").map(String::as_str),
            Some("WRONGTYPE")
        );
        assert_eq!(durations("PIPELINE").len(), 1);
        assert_eq!(durations("MULTI").len(), 1);
        for direction in ["transmit", "receive"] {
            let io = find(
                &all,
                "typedis.client.network.io",
                &[("network.io.direction", direction)],
            );
            assert!(
                matches!(io.first().map(|m| &m.value), Some(DebugValue::Counter(n)) if *n > 20),
                "{direction}: {io:?}"
            );
        }
        let count = find(
            &all,
            "db.client.connection.count",
            &[("db.client.connection.state", "used")],
        );
        assert!(!count.is_empty(), "{all:?}");
        assert!(
            !find(&all, "db.client.connection.pending_requests", &[]).is_empty(),
            "{all:?}"
        );
    }
}

/// The client-side cache's counters as metrics: the same counts as `cache_stats`.
#[tokio::test]
async fn cache_hits_misses_and_invalidations_are_counted() {
    for kind in KINDS {
        let server = Server::start(kind);
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let _recorder = metrics::set_default_local_recorder(&recorder);
        let config = typedis::ClientConfig::new(&server.url())
            .unwrap()
            .cache(typedis::cache::CacheConfig::new());
        let client = Client::with_config(config).await.unwrap();
        let writer = Client::connect(&server.url()).await.unwrap();
        writer.set("obs:c", "1").await.unwrap();
        for _ in 0..3 {
            let _: Option<String> = client.get("obs:c").decode().await.unwrap();
        }
        writer.set("obs:c", "2").await.unwrap();
        client.ping().await.unwrap();
        let v: Option<String> = client.get("obs:c").decode().await.unwrap();
        assert_eq!(v.as_deref(), Some("2"));
        writer.flushall().await.unwrap();
        client.ping().await.unwrap();
        let all = metrics(&snapshotter);
        let count = |name: &str| match find(&all, name, &[]).first().map(|m| &m.value) {
            Some(DebugValue::Counter(n)) => *n,
            other => panic!("{kind:?}: {name}: {other:?} in {all:?}"),
        };
        let stats = client.cache_stats().unwrap();
        assert_eq!((stats.hits, stats.misses), (2, 2), "{kind:?}: {stats:?}");
        assert_eq!(count("typedis.client.cache.hits"), 2, "{kind:?}");
        assert_eq!(count("typedis.client.cache.misses"), 2, "{kind:?}");
        assert_eq!(count("typedis.client.cache.invalidations"), 1, "{kind:?}");
        assert_eq!(count("typedis.client.cache.flushes"), 1, "{kind:?}");
        assert_eq!(stats.invalidations, 1, "{kind:?}");
        assert_eq!(stats.flushes, 1, "{kind:?}");
    }
}

#[tokio::test]
async fn a_killed_connection_is_reported_and_replaced() {
    for kind in KINDS {
        let server = Server::start(kind);
        let capture = Capture::default();
        let _subscriber = capture.install();
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let _recorder = metrics::set_default_local_recorder(&recorder);

        let client = Client::connect(&server.url()).await.unwrap();
        let id = client.client_id().await.unwrap();
        let admin = Client::connect(&server.url()).await.unwrap();
        admin
            .cmd("CLIENT")
            .args(["KILL", "ID", &id.to_string()])
            .await
            .unwrap();
        // The first command may see the loss; a later one runs on a new connection.
        let mut ok = false;
        for _ in 0..50 {
            if client.ping().await.is_ok() && client.client_id().await.ok() != Some(id) {
                ok = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(ok, "{kind:?}: no reconnect");

        let closed = capture.events_named("connection closed");
        assert!(
            closed
                .iter()
                .any(|e| e.get("error.type") == Some("connection_closed")),
            "{kind:?}: {closed:?}"
        );
        let reconnected = capture.events_named("reconnected");
        assert_eq!(reconnected.len(), 1, "{kind:?}: {:?}", capture.events);
        assert_eq!(reconnected[0].get("generation"), Some("2"));
        assert!(
            reconnected[0]
                .get("cause")
                .is_some_and(|c| c.contains("closed the connection")),
            "{reconnected:?}"
        );
        let all = metrics(&snapshotter);
        let reconnects = find(
            &all,
            "typedis.client.reconnects",
            &[("server.port", &server.port.to_string())],
        );
        assert!(
            matches!(
                reconnects.first().map(|m| &m.value),
                Some(DebugValue::Counter(1))
            ),
            "{all:?}"
        );
    }
}

#[tokio::test]
async fn a_moved_redirection_is_reported() {
    let nodes = Cluster::start(Kind::Redis);
    let capture = Capture::default();
    let _subscriber = capture.install();
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _recorder = metrics::set_default_local_recorder(&recorder);

    let cluster = ClusterClient::connect(nodes.urls()).await.unwrap();
    let refreshed = capture.events_named("slot map refreshed");
    assert!(!refreshed.is_empty(), "{:?}", capture.events);
    assert_eq!(refreshed[0].target, "typedis::cluster");
    assert_eq!(refreshed[0].get("nodes"), Some("6"), "{refreshed:?}");

    let key = "observed-moving-key";
    cluster.set(key, "v").await.unwrap();
    let moving = SlotMove::begin(&cluster, key).await;
    moving.finish().await;
    let (s, owner, target) = (moving.slot.to_string(), &moving.owner, &moving.target);
    let port = target.rsplit_once(':').unwrap().1;
    let got: Option<String> = cluster.get(key).decode().await.unwrap();
    assert_eq!(got.as_deref(), Some("v"));

    let redirected = capture.events_named("redirected");
    assert_eq!(redirected.len(), 1, "{:?}", capture.events);
    assert_eq!(redirected[0].get("kind"), Some("MOVED"));
    assert_eq!(redirected[0].get("slot"), Some(s.as_str()));
    assert_eq!(redirected[0].get("to"), Some(target.as_str()));
    // The GET ran twice: refused by the old owner, answered by the new one.
    let gets = capture.spans_of("GET");
    let (old_port, new_port) = (owner.rsplit_once(':').unwrap().1, port);
    assert!(
        gets.iter().any(|g| g.get("server.port") == Some(old_port)
            && g.get("error.type") == Some("MOVED")),
        "{gets:?}"
    );
    assert!(
        gets.iter()
            .any(|g| g.get("server.port") == Some(new_port) && g.get("error.type").is_none()),
        "{gets:?}"
    );
    let all = metrics(&snapshotter);
    let moved = find(&all, "typedis.client.redirects", &[("kind", "moved")]);
    assert!(
        matches!(
            moved.first().map(|m| &m.value),
            Some(DebugValue::Counter(1))
        ),
        "{all:?}"
    );
}
