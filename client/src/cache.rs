//! Client-side caching: [`CacheConfig`] and the store behind a [`Client`](crate::Client)
//! configured with [`ClientConfig::cache`](crate::ClientConfig::cache).
//!
//! Owns: the bounded map from a whole command (its encoded name and arguments, so `GET k`,
//! `STRLEN k` and `GETRANGE k 0 1` never share an entry) to its reply, the index from each
//! key to the entries read from it, and the invalidation epochs. Does not own: which
//! commands are cached (the generated tables' [`CommandMeta::cacheable`](crate::meta::CommandMeta::cacheable)), enabling
//! `CLIENT TRACKING` (the handshake), or when a push or a disconnect arrives (the
//! multiplexer's reader calls `Cache::on_push` and `Cache::clear`).
//!
//! # No stale entry
//! The server tracks the keys each connection read and pushes an invalidation on that
//! connection when one changes; the reader applies it (under this store's lock) as soon as
//! it is decoded, before it completes any later reply. A read that misses takes a
//! ticket *before* its command is queued: the epoch of its key's bucket and the number
//! of clears. Every invalidation of the key bumps the bucket's epoch, every clear (a
//! `null` invalidation after `FLUSHALL`, a lost connection) the count, under the same lock
//! as the store. The reply is stored only if neither moved: a reply that was computed
//! before a write, and whose invalidation was applied before the reply was stored,
//! is returned to its caller but not kept; one stored before the invalidation is applied
//! is evicted by it. Epochs are per bucket of a key hash, so a bounded array: an
//! invalidation of another key in the same bucket only costs a store.
//!
//! Memory is bounded by entries and by bytes (an estimate of each entry's size); the
//! oldest insertions go first. An optional TTL caps how long an entry is served.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::value::Value;

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
    max_entries: usize,
    max_bytes: usize,
    ttl: Option<Duration>,
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

    /// At most this many replies are kept (at least 1); the oldest go first.
    pub fn max_entries(mut self, n: usize) -> Self {
        self.max_entries = n.max(1);
        self
    }

    /// At most about this many bytes (commands, keys and replies) are kept; the oldest
    /// go first, and a larger reply is not kept at all.
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

/// Buckets of invalidation epochs (keys hashed).
const BUCKETS: usize = 1024;
/// Bookkeeping bytes counted per entry besides its command, key and reply.
const ENTRY_OVERHEAD: usize = 64;

/// The store of one client (shared by its connections).
pub(crate) struct Cache {
    config: CacheConfig,
    inner: Mutex<Inner>,
}

impl fmt::Debug for Cache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

struct Inner {
    /// Command (encoded name and arguments) → reply.
    entries: HashMap<Box<[u8]>, Entry>,
    /// Key → the commands cached for it.
    by_key: HashMap<Box<[u8]>, Vec<Box<[u8]>>>,
    /// Insertion order, for eviction: command and entry id (stale pairs are skipped).
    order: VecDeque<(Box<[u8]>, u64)>,
    next_id: u64,
    bytes: usize,
    epochs: Box<[u64; BUCKETS]>,
    clears: u64,
}

struct Entry {
    key: Box<[u8]>,
    value: Value,
    id: u64,
    size: usize,
    expires: Option<Instant>,
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

/// An estimate of the memory a reply holds.
fn value_size(v: &Value) -> usize {
    let base = std::mem::size_of::<Value>();
    base + match v {
        Value::SimpleString(b) | Value::Bulk(b) | Value::BigNumber(b) => b.len(),
        Value::Verbatim { text, .. } => text.len(),
        Value::Array(items) | Value::Set(items) | Value::Push(items) => {
            items.iter().map(value_size).sum()
        }
        Value::Map(pairs) => pairs
            .iter()
            .map(|(k, v)| value_size(k) + value_size(v))
            .sum(),
        Value::Attribute { attributes, value } => {
            value_size(value)
                + attributes
                    .iter()
                    .map(|(k, v)| value_size(k) + value_size(v))
                    .sum::<usize>()
        }
        _ => 0,
    }
}

impl Cache {
    pub(crate) fn new(config: CacheConfig) -> Cache {
        Cache {
            config,
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                by_key: HashMap::new(),
                order: VecDeque::new(),
                next_id: 0,
                bytes: 0,
                epochs: Box::new([0; BUCKETS]),
                clears: 0,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every method leaves the maps consistent at each unlock.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached reply of `command` (its encoded arguments), or the ticket its read must
    /// take to store the reply.
    pub(crate) fn get(&self, command: &[u8], key: &[u8]) -> Result<Value, Ticket> {
        let mut inner = self.lock();
        if let Some(e) = inner.entries.get(command) {
            match e.expires {
                Some(at) if Instant::now() >= at => inner.remove(command),
                _ => return Ok(e.value.clone()),
            }
        }
        let bucket = bucket(key);
        Err(Ticket {
            bucket,
            epoch: inner.epochs[bucket],
            clears: inner.clears,
        })
    }

    /// Keeps `value` as the reply of `command` on `key`, unless an invalidation of the
    /// key or a clear came since `ticket` was taken, or the reply is an error.
    pub(crate) fn store(&self, ticket: Ticket, command: &[u8], key: &[u8], value: &Value) {
        if matches!(value, Value::Error(_)) {
            return;
        }
        let size = command.len() * 2 + key.len() * 2 + value_size(value) + ENTRY_OVERHEAD;
        if size > self.config.max_bytes {
            return;
        }
        let mut inner = self.lock();
        if inner.epochs[ticket.bucket] != ticket.epoch || inner.clears != ticket.clears {
            return;
        }
        inner.remove(command);
        let id = inner.next_id;
        inner.next_id += 1;
        let command: Box<[u8]> = command.into();
        let key: Box<[u8]> = key.into();
        inner
            .by_key
            .entry(key.clone())
            .or_default()
            .push(command.clone());
        inner.order.push_back((command.clone(), id));
        inner.bytes += size;
        inner.entries.insert(
            command,
            Entry {
                key,
                value: value.clone(),
                id,
                size,
                expires: self.config.ttl.map(|t| Instant::now() + t),
            },
        );
        while inner.entries.len() > self.config.max_entries || inner.bytes > self.config.max_bytes {
            let Some((oldest, id)) = inner.order.pop_front() else {
                break;
            };
            if inner.entries.get(&oldest).is_some_and(|e| e.id == id) {
                inner.remove(&oldest);
            }
        }
        // Pairs of entries removed otherwise stay in `order` until here.
        if inner.order.len() > 2 * inner.entries.len() + 64 {
            let Inner { order, entries, .. } = &mut *inner;
            order.retain(|(c, id)| entries.get(c).is_some_and(|e| e.id == *id));
        }
    }

    /// Evicts everything cached for `keys` and moves their epochs.
    pub(crate) fn invalidate<'k>(&self, keys: impl Iterator<Item = &'k [u8]>) {
        let mut inner = self.lock();
        for key in keys {
            inner.epochs[bucket(key)] += 1;
            if let Some(commands) = inner.by_key.remove(key) {
                for c in commands {
                    inner.remove_entry(&c);
                }
            }
        }
    }

    /// Evicts everything (a flush, or a lost connection whose invalidations may be lost).
    pub(crate) fn clear(&self) {
        let mut inner = self.lock();
        inner.clears += 1;
        inner.entries = HashMap::new();
        inner.by_key = HashMap::new();
        inner.order = VecDeque::new();
        inner.bytes = 0;
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

    /// Number of entries (tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().entries.len()
    }
}

impl Inner {
    /// Removes `command`'s entry and its place in the key index.
    fn remove(&mut self, command: &[u8]) {
        if let Some(e) = self.entries.remove(command) {
            self.bytes -= e.size;
            if let Some(list) = self.by_key.get_mut(&e.key) {
                list.retain(|c| &c[..] != command);
                if list.is_empty() {
                    self.by_key.remove(&e.key);
                }
            }
        }
    }

    /// Removes `command`'s entry, its key's index already gone.
    fn remove_entry(&mut self, command: &[u8]) {
        if let Some(e) = self.entries.remove(command) {
            self.bytes -= e.size;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn bulk(s: &str) -> Value {
        Value::Bulk(Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn a_read_whose_key_was_invalidated_in_flight_is_not_stored() {
        let c = Cache::new(CacheConfig::new());
        let t = c.get(b"GET k", b"k").unwrap_err();
        c.invalidate([&b"k"[..]].into_iter());
        c.store(t, b"GET k", b"k", &bulk("old"));
        assert!(c.get(b"GET k", b"k").is_err());
        let t = c.get(b"GET k", b"k").unwrap_err();
        c.store(t, b"GET k", b"k", &bulk("new"));
        assert_eq!(c.get(b"GET k", b"k").unwrap(), bulk("new"));
        c.on_push(&Value::Push(vec![
            bulk("invalidate"),
            Value::Array(vec![bulk("k")]),
        ]));
        assert!(c.get(b"GET k", b"k").is_err());
        let t = c.get(b"GET k", b"k").unwrap_err();
        c.on_push(&Value::Push(vec![bulk("invalidate"), Value::Nil]));
        c.store(t, b"GET k", b"k", &bulk("x"));
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn entries_and_bytes_are_bounded() {
        let c = Cache::new(CacheConfig::new().max_entries(3));
        for i in 0..10 {
            let cmd = format!("GET k{i}");
            let key = format!("k{i}");
            let t = c.get(cmd.as_bytes(), key.as_bytes()).unwrap_err();
            c.store(t, cmd.as_bytes(), key.as_bytes(), &bulk("v"));
        }
        assert_eq!(c.len(), 3);
        assert!(c.get(b"GET k9", b"k9").is_ok());
        assert!(c.get(b"GET k0", b"k0").is_err());
        let c = Cache::new(CacheConfig::new().max_bytes(1000));
        let t = c.get(b"GET big", b"big").unwrap_err();
        c.store(t, b"GET big", b"big", &bulk(&"x".repeat(2000)));
        assert_eq!(c.len(), 0);
        for i in 0..100 {
            let cmd = format!("GET k{i}");
            let t = c.get(cmd.as_bytes(), b"k").unwrap_err();
            c.store(t, cmd.as_bytes(), b"k", &bulk("v"));
        }
        assert!(c.lock().bytes <= 1000);
        assert!(c.len() < 100 && c.len() > 0);
        c.invalidate([&b"k"[..]].into_iter());
        assert_eq!(c.len(), 0);
        assert_eq!(c.lock().bytes, 0);
    }
}
