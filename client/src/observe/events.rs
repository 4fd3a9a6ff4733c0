//! The events that are not about one connection or command — cluster redirections and
//! map refreshes, sentinel switches, PubSub resubscriptions — and a client-side cache's
//! counters ([`CacheMetrics`]).

use crate::error::Error;

/// A MOVED or ASK redirection of `slot` to `to`.
pub(crate) fn redirected(kind: &str, slot: u16, to: &str) {
    #[cfg(feature = "tracing")]
    tracing::debug!(target: "typedis::cluster", kind, slot, to, "redirected");
    #[cfg(feature = "metrics")]
    metrics::counter!("typedis.client.redirects", "kind" => kind.to_ascii_lowercase()).increment(1);
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
