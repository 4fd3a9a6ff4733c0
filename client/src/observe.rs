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

use std::sync::atomic::{AtomicBool, Ordering};

static RECORD_KEYS: AtomicBool = AtomicBool::new(false);

/// Records the command and its keys (never values or other arguments) as
/// `db.query.text` on command spans, e.g. `"ZADD board"`; off by default, since keys may
/// hold user data. Only has an effect with the `tracing` feature.
pub fn record_keys(yes: bool) {
    RECORD_KEYS.store(yes, Ordering::Relaxed);
}

#[cfg(any(feature = "tracing", feature = "metrics"))]
pub(crate) use on::*;

#[cfg(not(any(feature = "tracing", feature = "metrics")))]
pub(crate) use off::*;

#[cfg(not(any(feature = "tracing", feature = "metrics")))]
mod off {
    //! The no-op stand-ins: zero-sized, inlined away.
    #![allow(dead_code)]

    use crate::cmd::Args;
    use crate::connection::{Addr, ConnectionInfo};
    use crate::error::Error;
    use crate::meta::CommandMeta;

    /// Where a connection goes (nothing without the features).
    #[derive(Debug, Default)]
    pub(crate) struct Site;

    impl Site {
        #[inline(always)]
        pub(crate) fn new(_: &ConnectionInfo) -> Site {
            Site
        }
        #[inline(always)]
        pub(crate) fn connected(&self, _: &Addr, _: u64, _: Option<&Error>) {}
        #[inline(always)]
        pub(crate) fn connect_failed(&self, _: &Error) {}
        #[inline(always)]
        pub(crate) fn lost(&self, _: &Error) {}
        #[inline(always)]
        pub(crate) fn health_check_failed(&self, _: &Error) {}
        #[inline(always)]
        pub(crate) fn protocol_error(&self, _: &Error) {}
        #[inline(always)]
        pub(crate) fn pending(&self, _: usize) {}
        #[inline(always)]
        pub(crate) fn written(&self, _: usize) {}
        #[inline(always)]
        pub(crate) fn read(&self, _: usize) {}
        #[inline(always)]
        pub(crate) fn pooled(&self, _: usize, _: usize) {}
    }

    /// One command or batch in progress (nothing without the features).
    #[derive(Debug, Default)]
    pub(crate) struct Op;

    impl Op {
        #[inline(always)]
        pub(crate) fn command(_: &Site, _: Option<&'static CommandMeta>, _: &Args) -> Op {
            Op
        }
        #[inline(always)]
        pub(crate) fn batch(_: &Site, _: &[Args]) -> Op {
            Op
        }
        #[inline(always)]
        pub(crate) fn end<T>(&mut self, _: &Site, _: &crate::Result<T>) {}
    }

    #[inline(always)]
    pub(crate) fn redirected(_: &str, _: u16, _: &str) {}
    #[inline(always)]
    pub(crate) fn map_refreshed(_: usize, _: &str) {}
    #[inline(always)]
    pub(crate) fn map_refresh_failed(_: &Error) {}
    #[inline(always)]
    pub(crate) fn sentinel_switch(_: &str, _: &str) {}
    #[inline(always)]
    pub(crate) fn resubscribed(_: usize, _: usize, _: usize) {}

    /// A client-side cache's counters (nothing without the features).
    #[derive(Debug, Clone, Default)]
    pub(crate) struct CacheMetrics;

    impl CacheMetrics {
        #[inline(always)]
        pub(crate) fn new() -> CacheMetrics {
            CacheMetrics
        }
        #[inline(always)]
        pub(crate) fn hit(&self) {}
        #[inline(always)]
        pub(crate) fn miss(&self) {}
        #[inline(always)]
        pub(crate) fn evicted(&self, _: u64) {}
        #[inline(always)]
        pub(crate) fn invalidated(&self, _: u64) {}
        #[inline(always)]
        pub(crate) fn flushed(&self) {}
    }
}

#[cfg(any(feature = "tracing", feature = "metrics"))]
mod on {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};

    use super::RECORD_KEYS;
    use crate::cmd::Args;
    use crate::connection::{Addr, ConnectionInfo};
    use crate::error::Error;
    use crate::meta::CommandMeta;

    /// Address, port and database of a connection, as recorded.
    #[derive(Debug)]
    struct Endpoint {
        address: Arc<str>,
        /// `None` for Unix sockets.
        #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
        port: Option<u16>,
        /// `address:port`, the pool name of the connection-count gauge.
        #[cfg(feature = "metrics")]
        pool: Arc<str>,
        #[cfg(feature = "metrics")]
        port_label: Arc<str>,
        #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
        db: i64,
    }

    impl Endpoint {
        fn new(addr: &Addr, db: i64) -> Endpoint {
            let (address, port): (Arc<str>, _) = match addr {
                Addr::Tcp { host, port } => (host.as_str().into(), Some(*port)),
                Addr::Unix(path) => (path.to_string_lossy().into(), None),
            };
            Endpoint {
                #[cfg(feature = "metrics")]
                pool: addr.to_string().into(),
                #[cfg(feature = "metrics")]
                port_label: port.map(|p| p.to_string()).unwrap_or_default().into(),
                address,
                port,
                db,
            }
        }

        fn same_place(&self, other: &Endpoint) -> bool {
            self.address == other.address && self.port == other.port
        }
    }

    /// Numbers sites, for the handle cache.
    static NEXT_SITE: AtomicU64 = AtomicU64::new(1);

    /// Where a connection goes: the endpoint its spans and metrics name, updated when a
    /// resolver (Sentinel) connects it elsewhere.
    #[derive(Debug)]
    pub(crate) struct Site {
        endpoint: Mutex<Arc<Endpoint>>,
        /// This site's number and the version of its endpoint: the key of the metric
        /// handles cached per thread.
        #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
        id: u64,
        #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
        version: AtomicU64,
    }

    impl Default for Site {
        fn default() -> Site {
            Site::new(&ConnectionInfo::tcp("", 0))
        }
    }

    fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
        m.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The OpenTelemetry `error.type` of an error: the server error's code, else the
    /// kind of failure.
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

    #[cfg(feature = "metrics")]
    mod handles {
        //! Metric handles registered once per thread, site and name: registering builds
        //! and hashes a key with its labels, too much for every command.

        use std::cell::RefCell;
        use std::collections::HashMap;
        use std::hash::{BuildHasherDefault, Hasher};

        /// A multiply-and-rotate hash of the key's few integers: the keys are ours
        /// (numbers and pointers, nothing a peer chooses), so SipHash's protection is not
        /// needed, and its cost would be paid by every command.
        #[derive(Default)]
        pub(super) struct Mix(u64);

        impl Hasher for Mix {
            fn finish(&self) -> u64 {
                self.0
            }
            fn write(&mut self, bytes: &[u8]) {
                for b in bytes {
                    self.write_u64(u64::from(*b));
                }
            }
            fn write_u64(&mut self, n: u64) {
                self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
            }
            fn write_usize(&mut self, n: usize) {
                self.write_u64(n as u64);
            }
            fn write_isize(&mut self, n: isize) {
                self.write_u64(n as u64);
            }
        }

        /// What a handle measures.
        #[derive(Clone, Copy, PartialEq, Eq, Hash)]
        pub(super) enum What {
            /// The duration of the operation with this (static) name.
            Duration(usize),
            Transmit,
            Receive,
            Pending,
        }

        #[derive(Clone)]
        pub(super) enum Handle {
            Histogram(metrics::Histogram),
            Counter(metrics::Counter),
            Gauge(metrics::Gauge),
        }

        /// More entries than this (many short-lived clients) start the cache afresh.
        const MAX_ENTRIES: usize = 4096;

        type Key = (u64, u64, What);

        #[derive(Default)]
        struct Cache {
            /// The handle used last (commands of one kind tend to come in runs).
            last: Option<(Key, Handle)>,
            all: HashMap<Key, Handle, BuildHasherDefault<Mix>>,
        }

        thread_local! {
            static CACHE: RefCell<Cache> = RefCell::new(Cache::default());
        }

        /// The handle for `key`, registered by `make` the first time on this thread.
        pub(super) fn get(key: Key, make: impl FnOnce() -> Handle) -> Handle {
            CACHE.with(|c| {
                let mut c = c.borrow_mut();
                if let Some((k, h)) = &c.last {
                    if *k == key {
                        return h.clone();
                    }
                }
                let h = match c.all.get(&key) {
                    Some(h) => h.clone(),
                    None => {
                        if c.all.len() >= MAX_ENTRIES {
                            c.all.clear();
                        }
                        let h = make();
                        c.all.insert(key, h.clone());
                        h
                    }
                };
                c.last = Some((key, h.clone()));
                h
            })
        }
    }

    impl Site {
        pub(crate) fn new(info: &ConnectionInfo) -> Site {
            Site {
                endpoint: Mutex::new(Arc::new(Endpoint::new(&info.addr, info.db))),
                id: NEXT_SITE.fetch_add(1, Ordering::Relaxed),
                version: AtomicU64::new(0),
            }
        }

        fn endpoint(&self) -> Arc<Endpoint> {
            lock(&self.endpoint).clone()
        }

        #[cfg(feature = "metrics")]
        fn handle(
            &self,
            what: handles::What,
            make: impl FnOnce(&Endpoint) -> handles::Handle,
        ) -> Option<handles::Handle> {
            if !recording() {
                return None;
            }
            let key = (self.id, self.version.load(Ordering::Relaxed), what);
            Some(handles::get(key, || make(&self.endpoint())))
        }

        /// A connection (generation `gen`) is up at `addr`; `previous` is why the one
        /// before it ended, for reconnects.
        pub(crate) fn connected(&self, addr: &Addr, gen: u64, previous: Option<&Error>) {
            let ep = {
                let mut current = lock(&self.endpoint);
                let ep = Endpoint::new(addr, current.db);
                if !ep.same_place(&current) {
                    *current = Arc::new(ep);
                    self.version.fetch_add(1, Ordering::Relaxed);
                }
                current.clone()
            };
            #[cfg(feature = "tracing")]
            match previous {
                Some(cause) if gen > 1 => tracing::info!(
                    target: "typedis::connection",
                    generation = gen,
                    cause = %cause,
                    server.address = %ep.address,
                    server.port = ep.port,
                    "reconnected"
                ),
                _ => tracing::info!(
                    target: "typedis::connection",
                    generation = gen,
                    server.address = %ep.address,
                    server.port = ep.port,
                    "connected"
                ),
            }
            #[cfg(feature = "metrics")]
            {
                metrics::gauge!(
                    "db.client.connection.count",
                    "db.client.connection.state" => "used",
                    "db.client.connection.pool.name" => ep.pool.clone()
                )
                .increment(1.0);
                if gen > 1 {
                    let cause = previous.map(error_type).unwrap_or_else(|| "closed".into());
                    metrics::counter!(
                        "typedis.client.reconnects",
                        "server.address" => ep.address.clone(),
                        "server.port" => ep.port_label.clone(),
                        "error.type" => cause
                    )
                    .increment(1);
                }
            }
            #[cfg(not(feature = "tracing"))]
            let _ = (previous, &ep);
        }

        /// A connect attempt failed.
        pub(crate) fn connect_failed(&self, err: &Error) {
            #[cfg(feature = "tracing")]
            {
                let ep = self.endpoint();
                tracing::warn!(
                    target: "typedis::connection",
                    error = %err,
                    error.type = %error_type(err),
                    server.address = %ep.address,
                    server.port = ep.port,
                    "connect failed"
                );
            }
            #[cfg(not(feature = "tracing"))]
            let _ = err;
        }

        /// The live connection ended (lost, retired by a health check, closed).
        pub(crate) fn lost(&self, err: &Error) {
            let ep = self.endpoint();
            #[cfg(feature = "tracing")]
            tracing::info!(
                target: "typedis::connection",
                cause = %err,
                error.type = %error_type(err),
                server.address = %ep.address,
                server.port = ep.port,
                "connection closed"
            );
            #[cfg(feature = "metrics")]
            metrics::gauge!(
                "db.client.connection.count",
                "db.client.connection.state" => "used",
                "db.client.connection.pool.name" => ep.pool.clone()
            )
            .decrement(1.0);
            #[cfg(not(feature = "tracing"))]
            let _ = (err, &ep);
        }

        /// A health-check PING failed or the watchdog found the connection silent.
        pub(crate) fn health_check_failed(&self, err: &Error) {
            #[cfg(feature = "tracing")]
            {
                let ep = self.endpoint();
                tracing::warn!(
                    target: "typedis::connection",
                    error = %err,
                    server.address = %ep.address,
                    server.port = ep.port,
                    "health check failed"
                );
            }
            #[cfg(not(feature = "tracing"))]
            let _ = err;
        }

        /// The server sent bytes that are not valid RESP or break a limit.
        pub(crate) fn protocol_error(&self, err: &Error) {
            #[cfg(feature = "tracing")]
            {
                let ep = self.endpoint();
                tracing::error!(
                    target: "typedis::connection",
                    error = %err,
                    error.type = "protocol",
                    server.address = %ep.address,
                    server.port = ep.port,
                    "protocol error"
                );
            }
            #[cfg(not(feature = "tracing"))]
            let _ = err;
        }

        /// Commands written or queued and not yet answered on a multiplexed connection.
        pub(crate) fn pending(&self, n: usize) {
            #[cfg(feature = "metrics")]
            if let Some(handles::Handle::Gauge(g)) = self.handle(handles::What::Pending, |ep| {
                handles::Handle::Gauge(metrics::gauge!(
                    "db.client.connection.pending_requests",
                    "db.client.connection.pool.name" => ep.pool.clone()
                ))
            }) {
                g.set(n as f64);
            }
            #[cfg(not(feature = "metrics"))]
            let _ = n;
        }

        /// `n` bytes written.
        pub(crate) fn written(&self, n: usize) {
            #[cfg(feature = "metrics")]
            self.io(handles::What::Transmit, "transmit", n);
            #[cfg(not(feature = "metrics"))]
            let _ = n;
        }

        /// `n` bytes read.
        pub(crate) fn read(&self, n: usize) {
            #[cfg(feature = "metrics")]
            self.io(handles::What::Receive, "receive", n);
            #[cfg(not(feature = "metrics"))]
            let _ = n;
        }

        #[cfg(feature = "metrics")]
        fn io(&self, what: handles::What, direction: &'static str, n: usize) {
            if let Some(handles::Handle::Counter(c)) = self.handle(what, |ep| {
                handles::Handle::Counter(metrics::counter!(
                    "typedis.client.network.io",
                    "network.io.direction" => direction,
                    "server.address" => ep.address.clone(),
                    "server.port" => ep.port_label.clone()
                ))
            }) {
                c.increment(n as u64);
            }
        }

        /// A pool's dedicated connections: `idle` waiting in it, `used` taken out.
        #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
        pub(crate) fn pooled(&self, idle: usize, used: usize) {
            #[cfg(feature = "metrics")]
            {
                let ep = self.endpoint();
                let pool = format!("{}/dedicated", ep.pool);
                metrics::gauge!(
                    "db.client.connection.count",
                    "db.client.connection.state" => "idle",
                    "db.client.connection.pool.name" => pool.clone()
                )
                .set(idle as f64);
                metrics::gauge!(
                    "db.client.connection.count",
                    "db.client.connection.state" => "used",
                    "db.client.connection.pool.name" => pool
                )
                .set(used as f64);
            }
            #[cfg(not(feature = "metrics"))]
            let _ = (idle, used);
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
            if !live.span.is_disabled() && RECORD_KEYS.load(Ordering::Relaxed) {
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
                let labelled = |name: metrics::SharedString,
                                ep: &Endpoint,
                                error: Option<&Error>| match error {
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

    /// A MOVED or ASK redirection of `slot` to `to`.
    pub(crate) fn redirected(kind: &str, slot: u16, to: &str) {
        #[cfg(feature = "tracing")]
        tracing::debug!(target: "typedis::cluster", kind, slot, to, "redirected");
        #[cfg(feature = "metrics")]
        metrics::counter!("typedis.client.redirects", "kind" => kind.to_ascii_lowercase())
            .increment(1);
        #[cfg(not(feature = "tracing"))]
        let _ = (slot, to);
    }

    /// The cluster's slot map was read again (`nodes` primaries and replicas), from the
    /// node `from`.
    pub(crate) fn map_refreshed(nodes: usize, from: &str) {
        #[cfg(feature = "tracing")]
        tracing::info!(target: "typedis::cluster", nodes, from, "slot map refreshed");
        #[cfg(not(feature = "tracing"))]
        let _ = (nodes, from);
    }

    /// Reading the cluster's slot map failed.
    pub(crate) fn map_refresh_failed(err: &Error) {
        #[cfg(feature = "tracing")]
        tracing::warn!(target: "typedis::cluster", error = %err, "slot map refresh failed");
        #[cfg(not(feature = "tracing"))]
        let _ = err;
    }

    /// A sentinel-backed client follows `master` to `to`.
    pub(crate) fn sentinel_switch(master: &str, to: &str) {
        #[cfg(feature = "tracing")]
        tracing::info!(target: "typedis::sentinel", master, to, "switch to the new master");
        #[cfg(not(feature = "tracing"))]
        let _ = (master, to);
    }

    /// A PubSub connection was replaced and its subscriptions restored.
    pub(crate) fn resubscribed(channels: usize, patterns: usize, shard_channels: usize) {
        #[cfg(feature = "tracing")]
        tracing::info!(
            target: "typedis::pubsub",
            channels,
            patterns,
            shard_channels,
            "resubscribed"
        );
        #[cfg(not(feature = "tracing"))]
        let _ = (channels, patterns, shard_channels);
    }

    /// A client-side cache's counters: handles registered once, when its client is
    /// created (a hit costs one increment, not a registration).
    #[derive(Clone, Default)]
    pub(crate) struct CacheMetrics {
        #[cfg(feature = "metrics")]
        handles: Option<std::sync::Arc<CacheHandles>>,
    }

    #[cfg(feature = "metrics")]
    struct CacheHandles {
        hits: metrics::Counter,
        misses: metrics::Counter,
        evictions: metrics::Counter,
        invalidations: metrics::Counter,
        flushes: metrics::Counter,
    }

    impl std::fmt::Debug for CacheMetrics {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("CacheMetrics").finish_non_exhaustive()
        }
    }

    impl CacheMetrics {
        pub(crate) fn new() -> CacheMetrics {
            CacheMetrics {
                #[cfg(feature = "metrics")]
                handles: Some(std::sync::Arc::new(CacheHandles {
                    hits: metrics::counter!("typedis.client.cache.hits"),
                    misses: metrics::counter!("typedis.client.cache.misses"),
                    evictions: metrics::counter!("typedis.client.cache.evictions"),
                    invalidations: metrics::counter!("typedis.client.cache.invalidations"),
                    flushes: metrics::counter!("typedis.client.cache.flushes"),
                })),
            }
        }
        #[inline]
        pub(crate) fn hit(&self) {
            #[cfg(feature = "metrics")]
            if let Some(h) = &self.handles {
                h.hits.increment(1);
            }
        }
        #[inline]
        pub(crate) fn miss(&self) {
            #[cfg(feature = "metrics")]
            if let Some(h) = &self.handles {
                h.misses.increment(1);
            }
        }
        #[inline]
        pub(crate) fn evicted(&self, n: u64) {
            #[cfg(feature = "metrics")]
            if let Some(h) = &self.handles {
                h.evictions.increment(n);
            }
            #[cfg(not(feature = "metrics"))]
            let _ = n;
        }
        #[inline]
        pub(crate) fn invalidated(&self, n: u64) {
            #[cfg(feature = "metrics")]
            if let Some(h) = &self.handles {
                h.invalidations.increment(n);
            }
            #[cfg(not(feature = "metrics"))]
            let _ = n;
        }
        #[inline]
        pub(crate) fn flushed(&self) {
            #[cfg(feature = "metrics")]
            if let Some(h) = &self.handles {
                h.flushes.increment(1);
            }
        }
    }
}
