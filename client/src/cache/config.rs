//! [`CacheConfig`], the settings of a client-side cache, and [`CacheStats`], what it
//! did: the public side of [`crate::cache`].

use std::time::Duration;

/// Settings of a client-side cache (see [`ClientConfig::cache`](crate::ClientConfig::cache)).
///
/// ```
/// use std::time::Duration;
/// let cache = typedis::cache::CacheConfig::new()
///     .max_entries(10_000)
///     .max_bytes(64 << 20)
///     .ttl(Some(Duration::from_secs(60)));
/// # let _ = cache;
/// ```
#[derive(Debug, Clone)]
pub struct CacheConfig {
    pub(super) max_entries: usize,
    pub(super) max_bytes: usize,
    pub(super) ttl: Option<Duration>,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig::new()
    }
}

impl CacheConfig {
    /// 10 000 entries, 64 MiB, no TTL.
    pub fn new() -> Self {
        CacheConfig {
            max_entries: 10_000,
            max_bytes: 64 << 20,
            ttl: None,
        }
    }

    /// At most this many replies are kept (at least 1); the least used go first.
    pub fn max_entries(mut self, n: usize) -> Self {
        self.max_entries = n.max(1);
        self
    }

    /// At most about this many bytes (commands, keys and replies) are kept; the least
    /// used go first, and a reply larger than a shard of the store is not kept at all.
    pub fn max_bytes(mut self, n: usize) -> Self {
        self.max_bytes = n.max(1);
        self
    }

    /// An entry is served for at most this long after it was stored (default: as long as
    /// no invalidation evicts it).
    pub fn ttl(mut self, ttl: Option<Duration>) -> Self {
        self.ttl = ttl;
        self
    }
}

/// What a client's cache did since the client was created
/// ([`Client::cache_stats`](crate::Client::cache_stats)); with the `metrics` feature the
/// same events are counted as `typedis.client.cache.*` (see [`observe`](crate::observe)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Cacheable reads answered from the cache, without touching the connection.
    pub hits: u64,
    /// Cacheable reads sent to the server (nothing cached, or expired).
    pub misses: u64,
    /// Replies dropped to keep the store within its bounds (or too large to keep).
    pub evictions: u64,
    /// Keys named by the server's invalidation pushes.
    pub invalidations: u64,
    /// Times the whole cache was emptied: a `null` invalidation (`FLUSHALL`,
    /// `FLUSHDB`), a lost connection, a cluster slot that changed hands.
    pub flushes: u64,
    /// Replies not kept because their key was invalidated (or the cache emptied) while
    /// they were in flight.
    pub raced: u64,
    /// Replies cached now.
    pub entries: u64,
}
