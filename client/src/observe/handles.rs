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
