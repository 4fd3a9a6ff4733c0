//! Observability: the spans, events and metrics of every command, batch and connection.
//!
//! Owns: what is recorded and under which names. Everything goes through the few places
//! that every command passes (a client's command state machine, its batches, a dedicated
//! connection's `send`, the multiplexer's connect/fail/read/write loops, the cluster's
//! redirections and map refreshes, the sentinel watcher, PubSub's resubscription), so
//! every generated command, pipeline, transaction, cluster fan-out and sentinel client
//! is covered without per-command code.
//!
//! Names follow OpenTelemetry's database-client semantic conventions:
//!
//! - With the `tracing` feature, one span per command or batch (target
//!   `typedis::command`, level INFO, name `db.command`, `otel.name` the operation) with
//!   `db.system.name = "redis"`, `db.operation.name` (`ZADD`, `CLIENT LIST`, `PIPELINE`,
//!   `MULTI`), `db.operation.batch.size` (batches), `db.namespace` (the database index),
//!   `server.address`, `server.port`, and on failure `db.response.status_code` (the server
//!   error's code) and `error.type`. Arguments are never recorded unless
//!   [`record_keys`] is turned on, and then only the command and its keys
//!   (`db.query.text = "ZADD board"`). Events (target `typedis::connection`,
//!   `typedis::cluster`, `typedis::sentinel`, `typedis::pubsub`): connects and reconnects
//!   (with the cause), failed connects, lost connections, health-check failures,
//!   protocol errors, MOVED/ASK redirections, cluster map refreshes, sentinel switches,
//!   PubSub resubscriptions. Nothing is ever printed: a subscriber decides.
//! - With the `metrics` feature (the `metrics` facade: plug in any exporter), the
//!   histogram `db.client.operation.duration` (seconds; labels `db.system.name`,
//!   `db.operation.name`, `server.address`, `server.port`, `error.type` on failure), the
//!   gauges `db.client.connection.count` (labels `db.client.connection.state` =
//!   `used`/`idle`, `db.client.connection.pool.name` = `address:port`) and
//!   `db.client.connection.pending_requests` (commands written or queued and not yet
//!   answered on a multiplexed connection), and the counters `typedis.client.reconnects`,
//!   `typedis.client.redirects` (label `kind` = `moved`/`ask`) and
//!   `typedis.client.network.io` (bytes; label `network.io.direction` =
//!   `transmit`/`receive`); for a client-side cache (`ClientConfig::cache`), the
//!   counters `typedis.client.cache.hits`, `.misses`, `.evictions`, `.invalidations`
//!   (keys named by the server's pushes) and `.flushes` (the whole cache emptied), the
//!   events of [`CacheStats`](crate::cache::CacheStats), counted by the recorder that was
//!   installed when the client was created.
//!
//! With both features off, every item here is a zero-sized no-op that the compiler
//! removes: the command path is the same code as without this module.
//!
//! The parts: `site` (a connection's endpoint and its events), `op` (a command's or
//! batch's span and duration), `events` (cluster, sentinel and PubSub events, the cache's
//! counters), `handles` (metric handles cached per thread); `off` has the same items as
//! no-ops.

use std::sync::atomic::{AtomicBool, Ordering};

static RECORD_KEYS: AtomicBool = AtomicBool::new(false);

/// Records the command and its keys (never values or other arguments) as
/// `db.query.text` on command spans, e.g. `"ZADD board"`; off by default, since keys may
/// hold user data. Only has an effect with the `tracing` feature.
pub fn record_keys(yes: bool) {
    RECORD_KEYS.store(yes, Ordering::Relaxed);
}

#[cfg(any(feature = "tracing", feature = "metrics"))]
mod events;
#[cfg(feature = "metrics")]
mod handles;
#[cfg(not(any(feature = "tracing", feature = "metrics")))]
mod off;
#[cfg(any(feature = "tracing", feature = "metrics"))]
mod op;
#[cfg(any(feature = "tracing", feature = "metrics"))]
mod site;

#[cfg(any(feature = "tracing", feature = "metrics"))]
pub(crate) use self::{events::*, op::Op, site::Site};

#[cfg(not(any(feature = "tracing", feature = "metrics")))]
pub(crate) use off::*;

#[cfg(any(feature = "tracing", feature = "metrics"))]
use crate::error::Error;

/// The OpenTelemetry `error.type` of an error: the server error's code, else the
/// kind of failure.
#[cfg(any(feature = "tracing", feature = "metrics"))]
fn error_type(e: &Error) -> String {
    match e {
        Error::Server(s) if !s.code().is_empty() => s.code().to_owned(),
        Error::Server(_) => "ERR".into(),
        Error::Protocol(_) => "protocol".into(),
        Error::Decode { .. } => "decode".into(),
        Error::Io { .. } => "io".into(),
        Error::ConnectionClosed(_) => "connection_closed".into(),
        Error::Timeout { .. } => "timeout".into(),
        Error::Tls(_) => "tls".into(),
        Error::Handshake { .. } => "handshake".into(),
        Error::Auth { .. } => "auth".into(),
        Error::Usage { .. } => "usage".into(),
        Error::SharedConnection { .. } => "shared_connection".into(),
        Error::Pipeline { source, .. } => error_type(source),
        _ => "other".into(),
    }
}

/// Whether a metrics recorder is installed (globally or for this thread): the
/// `metrics` facade hands out its zero-sized no-op recorder otherwise, so a recorder
/// of size zero is taken for none (a stateless recorder of one's own would then
/// record no durations).
#[cfg(feature = "metrics")]
fn recording() -> bool {
    metrics::with_recorder(|r| std::mem::size_of_val(r) != 0)
}

/// Whether anybody takes spans or measurements: a tracing subscriber was installed
/// (globally or for a thread), or a metrics recorder is. When nobody does, an
/// operation costs these two checks and nothing else.
#[cfg(any(feature = "tracing", feature = "metrics"))]
#[inline]
fn active() -> bool {
    #[cfg(feature = "tracing")]
    if tracing::dispatcher::has_been_set() {
        return true;
    }
    #[cfg(feature = "metrics")]
    if recording() {
        return true;
    }
    false
}
