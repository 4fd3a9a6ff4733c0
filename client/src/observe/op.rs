//! [`Op`]: one command or batch in progress — its span (`db.command`, with the
//! operation's name, the endpoint, the keys when [`record_keys`](super::record_keys) is
//! on, the error on failure) and its duration (`db.client.operation.duration`).

#[cfg(feature = "metrics")]
use super::site::Endpoint;
use super::site::Site;
use super::{active, error_type, RECORD_KEYS};
#[cfg(feature = "metrics")]
use super::{handles, recording};
use crate::cmd::Args;
use crate::error::Error;
use crate::meta::CommandMeta;

/// One command or batch in progress: its span, and when it started.
#[derive(Debug, Default)]
pub(crate) struct Op {
    live: Option<Live>,
}

#[derive(Debug)]
struct Live {
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    name: OpName,
    /// When it started, if a recorder takes measurements.
    #[cfg(feature = "metrics")]
    start: Option<std::time::Instant>,
    #[cfg(feature = "tracing")]
    span: tracing::Span,
}

#[derive(Debug)]
enum OpName {
    Static(&'static str),
    Owned(String),
}

impl OpName {
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    fn as_str(&self) -> &str {
        match self {
            OpName::Static(s) => s,
            OpName::Owned(s) => s,
        }
    }
}

/// The sanitized command text: its name and keys, nothing else.
#[cfg(feature = "tracing")]
fn query_text(name: &str, args: &Args) -> String {
    let mut text = name.to_owned();
    let argv: Vec<&[u8]> = args.iter().collect();
    if let Ok(keys) = crate::keys::command_keys(&argv) {
        for i in keys {
            text.push(' ');
            text.push_str(&String::from_utf8_lossy(argv[i]));
        }
    }
    text
}

impl Op {
    fn start(site: &Site, name: OpName, batch: Option<usize>) -> Live {
        #[cfg(feature = "tracing")]
        let span = if !tracing::dispatcher::has_been_set() {
            // No subscriber was ever installed: not even a disabled span's fields are
            // built (which the `log` compatibility of `tracing` would do).
            tracing::Span::none()
        } else {
            let span = tracing::info_span!(
                target: "typedis::command",
                "db.command",
                otel.name = name.as_str(),
                otel.kind = "client",
                db.system.name = "redis",
                db.operation.name = name.as_str(),
                db.operation.batch.size = batch,
                db.namespace = tracing::field::Empty,
                server.address = tracing::field::Empty,
                server.port = tracing::field::Empty,
                db.query.text = tracing::field::Empty,
                db.response.status_code = tracing::field::Empty,
                error.type = tracing::field::Empty,
            );
            // The endpoint is read only for a span somebody records.
            if !span.is_disabled() {
                let ep = site.endpoint();
                span.record("db.namespace", ep.db);
                span.record("server.address", &*ep.address);
                if let Some(port) = ep.port {
                    span.record("server.port", port);
                }
            }
            span
        };
        #[cfg(not(feature = "tracing"))]
        let _ = (site, batch);
        Live {
            name,
            #[cfg(feature = "metrics")]
            start: recording().then(std::time::Instant::now),
            #[cfg(feature = "tracing")]
            span,
        }
    }

    /// A single command (`meta` when known, else looked up by name).
    #[inline]
    pub(crate) fn command(site: &Site, meta: Option<&'static CommandMeta>, args: &Args) -> Op {
        if !active() {
            return Op { live: None };
        }
        let meta = meta.or_else(|| crate::meta::of_args(args));
        let name = match meta {
            Some(m) => OpName::Static(m.name),
            None => OpName::Owned(
                args.iter()
                    .next()
                    .map(|n| String::from_utf8_lossy(n).to_ascii_uppercase())
                    .unwrap_or_default(),
            ),
        };
        let live = Op::start(site, name, None);
        #[cfg(feature = "tracing")]
        if !live.span.is_disabled() && RECORD_KEYS.load(std::sync::atomic::Ordering::Relaxed) {
            live.span
                .record("db.query.text", query_text(live.name.as_str(), args));
        }
        #[cfg(not(feature = "tracing"))]
        let _ = &RECORD_KEYS;
        Op { live: Some(live) }
    }

    /// A batch: `MULTI` when it is a transaction (it ends with a command of the specs'
    /// `transaction` connection-state kind, `EXEC`), else `PIPELINE`.
    pub(crate) fn batch(site: &Site, commands: &[Args]) -> Op {
        if !active() {
            return Op { live: None };
        }
        let transaction = commands
            .last()
            .and_then(crate::meta::of_args)
            .and_then(|m| m.connection_state)
            .is_some_and(|s| s.kind == crate::meta::StateKind::Transaction);
        let name = if transaction { "MULTI" } else { "PIPELINE" };
        Op {
            live: Some(Op::start(site, OpName::Static(name), Some(commands.len()))),
        }
    }

    /// Ends the span and records the duration (once; later calls do nothing).
    #[inline]
    pub(crate) fn end<T>(&mut self, site: &Site, result: &crate::Result<T>) {
        let Some(live) = self.live.take() else {
            return;
        };
        let error = result.as_ref().err();
        #[cfg(feature = "tracing")]
        if let Some(e) = error {
            if let Error::Server(s) = e {
                live.span.record("db.response.status_code", s.code());
            }
            live.span.record("error.type", error_type(e).as_str());
        }
        #[cfg(feature = "metrics")]
        if let Some(start) = live.start {
            let seconds = start.elapsed().as_secs_f64();
            let labelled =
                |name: metrics::SharedString, ep: &Endpoint, error: Option<&Error>| match error {
                    None => metrics::histogram!(
                        "db.client.operation.duration",
                        "db.system.name" => "redis",
                        "db.operation.name" => name,
                        "server.address" => ep.address.clone(),
                        "server.port" => ep.port_label.clone()
                    ),
                    Some(e) => metrics::histogram!(
                        "db.client.operation.duration",
                        "db.system.name" => "redis",
                        "db.operation.name" => name,
                        "server.address" => ep.address.clone(),
                        "server.port" => ep.port_label.clone(),
                        "error.type" => error_type(e)
                    ),
                };
            match (&live.name, error) {
                // The common case: a handle registered once per thread.
                (OpName::Static(name), None) => {
                    let what = handles::What::Duration(name.as_ptr() as usize);
                    if let Some(handles::Handle::Histogram(h)) = site.handle(what, |ep| {
                        handles::Handle::Histogram(labelled((*name).into(), ep, None))
                    }) {
                        h.record(seconds);
                    }
                }
                (name, error) => {
                    let name: metrics::SharedString = match name {
                        OpName::Static(s) => (*s).into(),
                        OpName::Owned(s) => s.clone().into(),
                    };
                    labelled(name, &site.endpoint(), error).record(seconds);
                }
            }
        }
        #[cfg(not(feature = "metrics"))]
        let _ = (error, site);
    }
}

impl Drop for Op {
    fn drop(&mut self) {
        // A command dropped before its reply (its caller gave up): the span says so;
        // no duration is recorded.
        #[cfg(feature = "tracing")]
        if let Some(live) = self.live.take() {
            live.span.record("error.type", "cancelled");
        }
    }
}
