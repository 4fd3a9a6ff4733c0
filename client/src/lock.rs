//! A distributed lock on one key, as redis-py's `Lock`: acquired with `SET key token NX
//! PX timeout`, released and extended with Lua scripts that act only while the key
//! still holds this lock's token, so a lock that expired and was taken by someone else
//! is never released or extended by mistake. Works on any [`Handle`]: on a cluster every
//! command of a lock goes to the node serving its key's slot.
//!
//! ```no_run
//! # async fn f(client: &typedis::Client) -> typedis::Result<()> {
//! use std::time::Duration;
//! use typedis::lock::Lock;
//! let lock = Lock::new(client, "locks:report")
//!     .timeout(Duration::from_secs(10))
//!     .blocking_timeout(Duration::from_secs(2));
//! let guard = lock.acquire().await?;      // Error::Lock if not acquired in 2 s
//! // … critical section …
//! guard.release().await?;                 // Error::Lock if it expired meanwhile
//! # Ok(()) }
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use crate::client::Client;
use crate::cmd::Args;
use crate::commands::traits::*;
use crate::error::{Error, Result, UsageKind};
use crate::exec::Handle;
use crate::script::Script;

const RELEASE: &str = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
const EXTEND: &str = "if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end \
    local ttl = redis.call('pttl', KEYS[1]) \
    if ARGV[3] == '1' or ttl < 0 then ttl = 0 end \
    redis.call('pexpire', KEYS[1], ttl + tonumber(ARGV[2])) return 1";
const REACQUIRE: &str = "if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end \
    redis.call('pexpire', KEYS[1], ARGV[2]) return 1";

/// Settings of a lock on one key. Cheap to create; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct Lock<H> {
    client: H,
    name: Bytes,
    timeout: Option<Duration>,
    blocking: bool,
    blocking_timeout: Option<Duration>,
    sleep: Duration,
}

/// An acquired lock. Release it with [`LockGuard::release`]; if the guard is dropped
/// instead, the lock is released in the background (best effort) or expires.
#[derive(Debug)]
#[must_use = "dropping the guard releases the lock"]
pub struct LockGuard<H: Handle> {
    lock: Lock<H>,
    token: Bytes,
    released: bool,
}

fn token() -> Bytes {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    Bytes::from(format!("{:x}-{:x}-{:x}", std::process::id(), nanos, n))
}

impl<'c> Lock<&'c Client> {
    /// A lock on `name` taken through `client`: no expiry, blocking without limit,
    /// polling every 100 ms. [`Lock::on`] takes any handle (a cluster client, …).
    pub fn new(client: &'c Client, name: impl AsRef<[u8]>) -> Self {
        Lock::on(client, name)
    }
}

impl<H: Handle> Lock<H> {
    /// A lock on `name` taken through any [`Handle`]: on a cluster, at the node serving
    /// the key's slot. No expiry, blocking without limit, polling every 100 ms.
    pub fn on(client: H, name: impl AsRef<[u8]>) -> Self {
        Lock {
            client,
            name: Bytes::copy_from_slice(name.as_ref()),
            timeout: None,
            blocking: true,
            blocking_timeout: None,
            sleep: Duration::from_millis(100),
        }
    }

    /// The lock expires after this long unless extended (recommended).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Whether `acquire` waits for the lock (default) or fails at once.
    pub fn blocking(mut self, blocking: bool) -> Self {
        self.blocking = blocking;
        self
    }

    /// How long `acquire` waits at most.
    pub fn blocking_timeout(mut self, timeout: Duration) -> Self {
        self.blocking_timeout = Some(timeout);
        self
    }

    /// Pause between attempts while waiting (default 100 ms).
    pub fn sleep(mut self, sleep: Duration) -> Self {
        self.sleep = sleep;
        self
    }

    async fn try_once(&self, token: &Bytes) -> Result<bool> {
        let set = self.client.set(&self.name, token).nx();
        match self.timeout {
            Some(t) => set.px(t.as_millis().max(1) as i64).await,
            None => set.await,
        }
    }

    /// Takes the lock, waiting as configured; `Error::Lock` when it cannot be had.
    pub async fn acquire(&self) -> Result<LockGuard<H>> {
        let token = token();
        let deadline = self
            .blocking_timeout
            .map(|t| tokio::time::Instant::now() + t);
        loop {
            if self.try_once(&token).await? {
                return Ok(LockGuard {
                    lock: self.clone(),
                    token,
                    released: false,
                });
            }
            let now = tokio::time::Instant::now();
            if !self.blocking || deadline.is_some_and(|d| now >= d) {
                return Err(Error::Lock(format!(
                    "`{}` is held by someone else{}",
                    String::from_utf8_lossy(&self.name),
                    match self.blocking_timeout {
                        Some(t) if self.blocking => format!(" (waited {t:?})"),
                        _ => String::new(),
                    }
                )));
            }
            let pause = match deadline {
                Some(d) => self.sleep.min(d - now),
                None => self.sleep,
            };
            tokio::time::sleep(pause).await;
        }
    }
}

impl<H: Handle> LockGuard<H> {
    /// The token stored in the key while this guard owns it.
    pub fn token(&self) -> &Bytes {
        &self.token
    }

    /// Whether the key still holds this lock's token.
    pub async fn owned(&self) -> Result<bool> {
        let v: Option<Bytes> = self.lock.client.get(&self.lock.name).await?;
        Ok(v.as_ref() == Some(&self.token))
    }

    fn not_owned(&self, what: &str) -> Error {
        Error::Lock(format!(
            "cannot {what} `{}`: the lock is no longer owned (it expired, or another client took it)",
            String::from_utf8_lossy(&self.lock.name)
        ))
    }

    /// Runs one of the scripts that act only while the key holds this token; `what`
    /// names the action in the error when it did not.
    async fn while_owned(&self, what: &str, lua: &str, extra: &[&[u8]]) -> Result<()> {
        let script = Script::new(lua.to_owned());
        let mut run = script.key(&self.lock.name).arg(&self.token);
        for a in extra {
            run = run.arg(*a);
        }
        let n: i64 = run.invoke(self.lock.client).decode().await?;
        if n == 1 {
            Ok(())
        } else {
            Err(self.not_owned(what))
        }
    }

    /// Releases the lock; `Error::Lock` if it was no longer ours.
    pub async fn release(mut self) -> Result<()> {
        self.released = true;
        self.while_owned("release", RELEASE, &[]).await
    }

    /// Adds `additional` to the remaining time (or sets it, with `replace_ttl`).
    pub async fn extend(&self, additional: Duration, replace_ttl: bool) -> Result<()> {
        let ms = additional.as_millis().to_string();
        let replace: &[u8] = if replace_ttl { b"1" } else { b"0" };
        self.while_owned("extend", EXTEND, &[ms.as_bytes(), replace])
            .await
    }

    /// Resets the remaining time to the lock's `timeout`.
    pub async fn reacquire(&self) -> Result<()> {
        let Some(timeout) = self.lock.timeout else {
            return Err(Error::usage(
                UsageKind::InvalidConfig,
                "reacquire needs a lock with a timeout",
            ));
        };
        let ms = timeout.as_millis().to_string();
        self.while_owned("reacquire", REACQUIRE, &[ms.as_bytes()])
            .await
    }
}

impl<H: Handle> Drop for LockGuard<H> {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        // Best effort: release in the background (`EVAL`, so no `NOSCRIPT` to follow)
        // where the handle can outlive this guard and a runtime is there; otherwise the
        // lock expires by its timeout.
        let mut release = Args::new();
        release.push_bytes(b"EVAL");
        release.push_bytes(RELEASE.as_bytes());
        release.push_bytes(b"1");
        release.push_bytes(&self.lock.name);
        release.push_bytes(&self.token);
        self.lock.client.send_detached(release);
    }
}
