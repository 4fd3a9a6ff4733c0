//! [`Site`]: where a connection goes (address, port, database), as spans and metrics
//! name it, and the connection events recorded on it: connects and reconnects, failed
//! connects, lost connections, failed health checks, protocol errors, bytes written and
//! read, commands pending, a pool's connection counts.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::error_type;
#[cfg(feature = "metrics")]
use super::{handles, recording};
use crate::connection::{Addr, ConnectionInfo};
use crate::error::Error;

/// Address, port and database of a connection, as recorded.
#[derive(Debug)]
pub(super) struct Endpoint {
    pub(super) address: Arc<str>,
    /// `None` for Unix sockets.
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    pub(super) port: Option<u16>,
    /// `address:port`, the pool name of the connection-count gauge.
    #[cfg(feature = "metrics")]
    pub(super) pool: Arc<str>,
    #[cfg(feature = "metrics")]
    pub(super) port_label: Arc<str>,
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    pub(super) db: i64,
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

impl Site {
    pub(crate) fn new(info: &ConnectionInfo) -> Site {
        Site {
            endpoint: Mutex::new(Arc::new(Endpoint::new(&info.addr, info.db))),
            id: NEXT_SITE.fetch_add(1, Ordering::Relaxed),
            version: AtomicU64::new(0),
        }
    }

    pub(super) fn endpoint(&self) -> Arc<Endpoint> {
        lock(&self.endpoint).clone()
    }

    #[cfg(feature = "metrics")]
    pub(super) fn handle(
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
