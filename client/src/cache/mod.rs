//! Client-side caching: [`CacheConfig`], [`CacheStats`] and the store behind a
//! [`Client`](crate::Client) configured with [`ClientConfig::cache`](crate::ClientConfig::cache).
//!
//! Owns: the bounded store from a whole command (its encoded name and arguments, so `GET k`,
//! `STRLEN k` and `GETRANGE k 0 1` never share an entry) to its reply, grouped by key so
//! that an invalidation of a key drops all of its commands at once; the invalidation
//! epochs a read checks before its reply is kept; the counters. Does not own: which
//! commands are cached (the generated tables'
//! [`CommandMeta::cacheable`](crate::meta::CommandMeta::cacheable)), enabling
//! `CLIENT TRACKING` (the handshake), or when a push or a disconnect arrives (the
//! multiplexer's reader calls `Cache::on_push` and `Cache::clear`).
//!
//! # The store: `quick_cache`
//! The map, its bound and its eviction are [`quick_cache`]'s sync cache, chosen over
//! `moka::sync` for what a hit costs: a shard's read lock, a hash (foldhash) and one clone
//! of the value, with no allocation and no background work (moka records every read in a
//! channel for its frequency sketch and runs its upkeep on callers' threads, which makes a
//! hit several times dearer and its cost uneven). It weighs entries (here, by bytes), and
//! pulls in four small crates (`parking_lot`, `hashbrown`, `foldhash`, `equivalent`)
//! where moka brings the crossbeam family, `tagptr`, `portable-atomic`, `smallvec` and
//! `uuid`. Moka's one advantage, built-in expiry, is a timestamp per entry here, checked
//! on a hit only when a TTL is configured. Eviction is quick_cache's S3-FIFO-like policy
//! (entries read again are kept over those read once).
//!
//! A value is keyed by its key (the store's key) and its whole command (a short list per
//! key, compared on a hit). Both bounds are one weight: an entry weighs its bytes (command,
//! reply and bookkeeping), but at least `max_bytes / max_entries`, so the total weight
//! stays under `max_bytes` only while there are at most `max_entries` entries and at most
//! `max_bytes` bytes.
//!
//! # No stale entry
//! The server tracks the keys each connection read and pushes an invalidation on that
//! connection when one changes; the reader applies it as soon as it is decoded, before it
//! completes any later reply. A read that misses takes a ticket *before* its command is
//! queued: the epoch of its key's bucket and the number of clears. Every invalidation of
//! the key bumps the bucket's epoch, every clear (a `null` invalidation after `FLUSHALL`,
//! a lost connection) the count. The check of a ticket and the insertion that follows it
//! are done under one lock, the same one every invalidation and clear takes around its
//! bump and its removal, so the two never interleave: a reply that was computed before a
//! write, and whose invalidation was applied before the reply was stored, is returned to
//! its caller but not kept; one stored before the invalidation is applied is removed by
//! it. Hits take no such lock: a hit before an invalidation is applied returns what the
//! server had not yet said was changed; after it, the entry is gone. Epochs are per bucket
//! of a key hash, so a bounded array: an invalidation of another key in the same bucket
//! only costs a store.
//!
//! # What a hit costs
//! A reply is copied when it is kept, into one fresh buffer that its strings share (not
//! the connection's read buffer, which a small reply would otherwise keep alive whole),
//! so a hit's clone of the value counts references and allocates only what an aggregate
//! needs (its element vectors); a bulk string's hit allocates nothing.
//!
//! The parts: `config` ([`CacheConfig`], [`CacheStats`]), `copy` (what a kept reply
//! weighs and its compact copy).

mod config;
mod copy;

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::BytesMut;

pub use self::config::{CacheConfig, CacheStats};
use self::copy::{compact, leaf_bytes, nodes};
use crate::value::Value;

/// Buckets of invalidation epochs (keys hashed).
const BUCKETS: usize = 1024;
/// Bookkeeping bytes counted per entry besides its command and reply.
const ENTRY_OVERHEAD: usize = 64;
/// Commands cached per key at most (`GETRANGE k …` with many ranges): a new one replaces
/// the oldest.
const MAX_PER_KEY: usize = 8;

/// One cached reply.
struct Entry {
    /// The encoded command (name and arguments).
    command: Box<[u8]>,
    value: Value,
    expires: Option<Instant>,
    weight: u64,
}

/// Everything cached for one key (an immutable snapshot: a store replaces it whole).
struct Slot {
    entries: Box<[Entry]>,
    weight: u64,
    /// Set just before a store replaces the slot: quick_cache reports a replaced value
    /// through its eviction hook too, and a replacement evicts nothing.
    replaced: AtomicBool,
}

/// The events counted, shared by the cache and its eviction hook.
#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
    invalidations: AtomicU64,
    flushes: AtomicU64,
    raced: AtomicU64,
    /// Entries cached: changed only under the epochs' lock (evictions happen inside an
    /// insertion, which runs under it), so never behind.
    entries: AtomicU64,
}

#[derive(Clone)]
struct Weight;

impl quick_cache::Weighter<Box<[u8]>, Arc<Slot>> for Weight {
    fn weight(&self, _key: &Box<[u8]>, slot: &Arc<Slot>) -> u64 {
        slot.weight
    }
}

/// Counts what the store evicts to stay within its bound.
#[derive(Clone)]
struct Evicted {
    counters: Arc<Counters>,
    metrics: crate::observe::CacheMetrics,
}

impl quick_cache::Lifecycle<Box<[u8]>, Arc<Slot>> for Evicted {
    type RequestState = ();

    fn on_evict(&self, _: &mut (), _key: Box<[u8]>, slot: Arc<Slot>) {
        if slot.replaced.load(Relaxed) {
            return;
        }
        let n = slot.entries.len() as u64;
        self.counters.evictions.fetch_add(n, Relaxed);
        self.counters.entries.fetch_sub(n, Relaxed);
        self.metrics.evicted(n);
    }
}

type Store = quick_cache::sync::Cache<
    Box<[u8]>,
    Arc<Slot>,
    Weight,
    quick_cache::DefaultHashBuilder,
    Evicted,
>;

/// The epochs and the count of clears (see the module docs), behind the lock that orders
/// stores after invalidations.
struct Epochs {
    buckets: Box<[u64; BUCKETS]>,
    clears: u64,
}

/// The store of one client (shared by its connections).
pub(crate) struct Cache {
    ttl: Option<Duration>,
    /// The least weight of an entry: `max_bytes / max_entries`.
    floor: u64,
    store: Store,
    epochs: Mutex<Epochs>,
    counters: Arc<Counters>,
    metrics: crate::observe::CacheMetrics,
}

impl fmt::Debug for Cache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// What a read that missed saw before its command was queued (see the module docs).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket {
    bucket: usize,
    epoch: u64,
    clears: u64,
}

fn bucket(key: &[u8]) -> usize {
    // FNV-1a: cheap, and good enough to spread keys over the buckets.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in key {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h as usize) % BUCKETS
}

fn lock(m: &Mutex<Epochs>) -> MutexGuard<'_, Epochs> {
    // Every holder leaves the epochs consistent at each step.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Cache {
    pub(crate) fn new(config: CacheConfig) -> Cache {
        let counters = Arc::new(Counters::default());
        let metrics = crate::observe::CacheMetrics::new();
        let floor = (config.max_bytes / config.max_entries).max(1) as u64;
        let options = quick_cache::OptionsBuilder::new()
            .estimated_items_capacity(config.max_entries)
            .weight_capacity(config.max_bytes as u64)
            .build()
            // Both settings are given: building cannot fail.
            .unwrap_or_else(|_| unreachable!("every option of the cache is set"));
        let store = Store::with_options(
            options,
            Weight,
            quick_cache::DefaultHashBuilder::default(),
            Evicted {
                counters: counters.clone(),
                metrics: metrics.clone(),
            },
        );
        Cache {
            ttl: config.ttl,
            floor,
            store,
            epochs: Mutex::new(Epochs {
                buckets: Box::new([0; BUCKETS]),
                clears: 0,
            }),
            counters,
            metrics,
        }
    }

    /// The cached reply of `command` (its encoded arguments) on `key`, or the ticket its
    /// read must take to store the reply.
    #[inline]
    pub(crate) fn get(&self, command: &[u8], key: &[u8]) -> Result<Value, Ticket> {
        if let Some(slot) = self.store.get(key) {
            if let Some(e) = slot.entries.iter().find(|e| *e.command == *command) {
                // The clock is read only when entries expire.
                if e.expires.is_none_or(|at| Instant::now() < at) {
                    self.counters.hits.fetch_add(1, Relaxed);
                    self.metrics.hit();
                    return Ok(e.value.clone());
                }
            }
        }
        self.counters.misses.fetch_add(1, Relaxed);
        self.metrics.miss();
        let bucket = bucket(key);
        let epochs = lock(&self.epochs);
        Err(Ticket {
            bucket,
            epoch: epochs.buckets[bucket],
            clears: epochs.clears,
        })
    }

    /// Keeps `value` as the reply of `command` on `key`, unless an invalidation of the
    /// key or a clear came since `ticket` was taken, or the reply is an error.
    pub(crate) fn store(&self, ticket: Ticket, command: &[u8], key: &[u8], value: &Value) {
        if matches!(value, Value::Error(_)) {
            return;
        }
        let bytes = leaf_bytes(value);
        let weight = (command.len()
            + key.len()
            + bytes
            + nodes(value) * std::mem::size_of::<Value>()
            + ENTRY_OVERHEAD) as u64;
        let weight = weight.max(self.floor);
        if weight > self.store.shard_capacity() {
            self.counters.evictions.fetch_add(1, Relaxed);
            self.metrics.evicted(1);
            return;
        }
        // Copied outside the lock.
        let mut buf = BytesMut::with_capacity(bytes);
        let entry = Entry {
            command: command.into(),
            value: compact(value, &mut buf),
            expires: self.ttl.map(|t| Instant::now() + t),
            weight,
        };
        let epochs = lock(&self.epochs);
        if epochs.buckets[ticket.bucket] != ticket.epoch || epochs.clears != ticket.clears {
            drop(epochs);
            self.counters.raced.fetch_add(1, Relaxed);
            return;
        }
        // Under the lock, stores of one key never lose each other's entries, and no
        // invalidation runs between the check above and the insertion.
        let old = self.store.peek(key);
        let mut entries: Vec<Entry> = Vec::with_capacity(MAX_PER_KEY);
        let mut total = weight;
        if let Some(old) = &old {
            // The newest first, so the oldest are the ones left out.
            for e in old.entries.iter().rev() {
                if *e.command == *command || entries.len() + 1 >= MAX_PER_KEY {
                    continue;
                }
                if total + e.weight > self.store.shard_capacity() {
                    break;
                }
                total += e.weight;
                entries.push(Entry {
                    command: e.command.clone(),
                    value: e.value.clone(),
                    expires: e.expires,
                    weight: e.weight,
                });
            }
            entries.reverse();
        }
        entries.push(entry);
        let before = old.map_or(0, |o| {
            o.replaced.store(true, Relaxed);
            o.entries.len() as u64
        });
        self.counters
            .entries
            .fetch_add(entries.len() as u64, Relaxed);
        self.counters.entries.fetch_sub(before, Relaxed);
        self.store.insert(
            key.into(),
            Arc::new(Slot {
                entries: entries.into_boxed_slice(),
                weight: total,
                replaced: AtomicBool::new(false),
            }),
        );
        drop(epochs);
    }

    /// Evicts everything cached for `keys` and moves their epochs.
    pub(crate) fn invalidate<'k>(&self, keys: impl Iterator<Item = &'k [u8]>) {
        let mut epochs = lock(&self.epochs);
        let mut n = 0;
        for key in keys {
            epochs.buckets[bucket(key)] += 1;
            if let Some((_, slot)) = self.store.remove(key) {
                self.counters
                    .entries
                    .fetch_sub(slot.entries.len() as u64, Relaxed);
            }
            n += 1;
        }
        drop(epochs);
        self.counters.invalidations.fetch_add(n, Relaxed);
        self.metrics.invalidated(n);
    }

    /// Evicts everything (a flush, a lost connection whose invalidations may be lost, a
    /// cluster slot that moved).
    pub(crate) fn clear(&self) {
        let mut epochs = lock(&self.epochs);
        epochs.clears += 1;
        self.store.clear();
        self.counters.entries.store(0, Relaxed);
        drop(epochs);
        self.counters.flushes.fetch_add(1, Relaxed);
        self.metrics.flushed();
    }

    /// Applies a push frame if it is an invalidation (`invalidate [keys]`, or
    /// `invalidate null` after a flush); other pushes are not its business.
    pub(crate) fn on_push(&self, push: &Value) {
        let Value::Push(items) = push.unattributed() else {
            return;
        };
        let [kind, keys] = items.as_slice() else {
            return;
        };
        let name = match kind {
            Value::Bulk(b) | Value::SimpleString(b) => b,
            _ => return,
        };
        if !name.eq_ignore_ascii_case(b"invalidate") {
            return;
        }
        match keys {
            Value::Array(keys) | Value::Set(keys) => {
                self.invalidate(keys.iter().filter_map(|k| match k {
                    Value::Bulk(b) | Value::SimpleString(b) => Some(&b[..]),
                    _ => None,
                }))
            }
            // `null`: the whole keyspace (FLUSHALL, FLUSHDB); anything else unexpected
            // is treated the same, to be safe.
            _ => self.clear(),
        }
    }

    /// The counters, and the number of entries now.
    pub(crate) fn stats(&self) -> CacheStats {
        let c = &self.counters;
        CacheStats {
            hits: c.hits.load(Relaxed),
            misses: c.misses.load(Relaxed),
            evictions: c.evictions.load(Relaxed),
            invalidations: c.invalidations.load(Relaxed),
            flushes: c.flushes.load(Relaxed),
            raced: c.raced.load(Relaxed),
            entries: c.entries.load(Relaxed),
        }
    }

    /// The weight held (tests).
    #[cfg(test)]
    fn weight(&self) -> u64 {
        self.store.weight()
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn bulk(s: &str) -> Value {
        Value::Bulk(Bytes::copy_from_slice(s.as_bytes()))
    }

    /// Stores `v` as a read that missed now would.
    fn fill(c: &Cache, cmd: &str, key: &str, v: &Value) {
        let b = bucket(key.as_bytes());
        let e = lock(&c.epochs);
        let t = Ticket {
            bucket: b,
            epoch: e.buckets[b],
            clears: e.clears,
        };
        drop(e);
        c.store(t, cmd.as_bytes(), key.as_bytes(), v);
    }

    #[test]
    fn a_read_whose_key_was_invalidated_in_flight_is_not_stored() {
        let c = Cache::new(CacheConfig::new());
        let t = c.get(b"GET k", b"k").unwrap_err();
        c.invalidate([&b"k"[..]].into_iter());
        c.store(t, b"GET k", b"k", &bulk("old"));
        assert!(c.get(b"GET k", b"k").is_err());
        fill(&c, "GET k", "k", &bulk("new"));
        assert_eq!(c.get(b"GET k", b"k").unwrap(), bulk("new"));
        c.on_push(&Value::Push(vec![
            bulk("invalidate"),
            Value::Array(vec![bulk("k")]),
        ]));
        assert!(c.get(b"GET k", b"k").is_err());
        let t = c.get(b"GET k", b"k").unwrap_err();
        c.on_push(&Value::Push(vec![bulk("invalidate"), Value::Nil]));
        c.store(t, b"GET k", b"k", &bulk("x"));
        let s = c.stats();
        assert_eq!(s.entries, 0);
        assert_eq!((s.hits, s.misses, s.raced), (1, 4, 2), "{s:?}");
        assert_eq!((s.invalidations, s.flushes), (2, 1), "{s:?}");
    }

    #[test]
    fn commands_on_one_key_are_kept_apart_and_invalidated_together() {
        let c = Cache::new(CacheConfig::new());
        fill(&c, "GET k", "k", &bulk("hello"));
        fill(&c, "STRLEN k", "k", &Value::Int(5));
        fill(&c, "GET j", "j", &bulk("other"));
        assert_eq!(c.get(b"GET k", b"k").unwrap(), bulk("hello"));
        assert_eq!(c.get(b"STRLEN k", b"k").unwrap(), Value::Int(5));
        // Stored again: replaced, not duplicated.
        fill(&c, "STRLEN k", "k", &Value::Int(6));
        assert_eq!(c.get(b"STRLEN k", b"k").unwrap(), Value::Int(6));
        assert_eq!(c.stats().entries, 3);
        c.invalidate([&b"k"[..]].into_iter());
        assert!(c.get(b"GET k", b"k").is_err());
        assert!(c.get(b"STRLEN k", b"k").is_err());
        assert_eq!(c.get(b"GET j", b"j").unwrap(), bulk("other"));
        // At most MAX_PER_KEY commands per key: the oldest go.
        for i in 0..20 {
            fill(&c, &format!("GETRANGE k 0 {i}"), "k", &bulk("x"));
        }
        assert_eq!(c.stats().entries, MAX_PER_KEY as u64 + 1);
        assert!(c.get(b"GETRANGE k 0 19", b"k").is_ok());
        assert!(c.get(b"GETRANGE k 0 0", b"k").is_err());
    }

    #[test]
    fn entries_and_bytes_are_bounded_and_evictions_counted() {
        let c = Cache::new(CacheConfig::new().max_entries(3));
        for i in 0..10 {
            fill(&c, &format!("GET k{i}"), &format!("k{i}"), &bulk("v"));
        }
        let s = c.stats();
        assert!(s.entries <= 3 && s.entries > 0, "{s:?}");
        assert_eq!(s.evictions, 10 - s.entries, "{s:?}");
        let c = Cache::new(CacheConfig::new().max_bytes(1000));
        fill(&c, "GET big", "big", &bulk(&"x".repeat(2000)));
        assert_eq!(c.stats().entries, 0);
        assert_eq!(c.stats().evictions, 1);
        for i in 0..100 {
            fill(&c, &format!("GET k{i}"), &format!("k{i}"), &bulk("v"));
        }
        assert!(c.weight() <= 1000);
        let n = c.stats().entries;
        assert!(n < 100 && n > 0, "{n}");
        c.clear();
        assert_eq!(c.stats().entries, 0);
        assert_eq!(c.weight(), 0);
    }

    #[test]
    fn entries_expire_after_the_ttl() {
        let c = Cache::new(CacheConfig::new().ttl(Some(Duration::from_millis(30))));
        fill(&c, "GET k", "k", &bulk("v"));
        assert!(c.get(b"GET k", b"k").is_ok());
        std::thread::sleep(Duration::from_millis(40));
        assert!(c.get(b"GET k", b"k").is_err());
    }

    #[test]
    fn a_kept_reply_owns_its_bytes_alone() {
        // A reply sliced out of a large read buffer does not keep that buffer.
        let read = Bytes::from(vec![b'x'; 65536]);
        let v = Value::Array(vec![Value::Bulk(read.slice(0..3)), Value::Int(1)]);
        let c = Cache::new(CacheConfig::new());
        let t = c.get(b"LRANGE l 0 1", b"l").unwrap_err();
        c.store(t, b"LRANGE l 0 1", b"l", &v);
        drop(v);
        // `read` is unique again: the cache copied what it kept.
        assert!(read.is_unique());
        assert_eq!(
            c.get(b"LRANGE l 0 1", b"l").unwrap(),
            Value::Array(vec![bulk("xxx"), Value::Int(1)])
        );
    }
}
