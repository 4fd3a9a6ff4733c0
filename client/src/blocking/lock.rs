//! The lock on a blocking client: the async [`Lock`](crate::lock::Lock), waited for.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;

use super::{Client, Runtime};
use crate::error::Result;

/// Settings of a lock on one key (as [`crate::lock::Lock`]: `SET NX PX` to take it,
/// scripts that act only while the key holds this lock's token to release or extend it).
///
/// ```no_run
/// # fn f(client: &typedis::blocking::Client) -> typedis::Result<()> {
/// use std::time::Duration;
/// use typedis::blocking::Lock;
/// let lock = Lock::new(client, "locks:report")
///     .timeout(Duration::from_secs(10))
///     .blocking_timeout(Duration::from_secs(2));
/// let guard = lock.acquire()?;      // Error::Lock if not acquired in 2 s
/// // … critical section …
/// guard.release()?;                 // Error::Lock if it expired meanwhile
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Lock<'c> {
    inner: crate::lock::Lock<&'c crate::Client>,
    rt: &'c Runtime,
}

impl fmt::Debug for Lock<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("blocking::Lock").field(&self.inner).finish()
    }
}

impl<'c> Lock<'c> {
    /// A lock on `name`: no expiry, blocking without limit, polling every 100 ms.
    pub fn new(client: &'c Client, name: impl AsRef<[u8]>) -> Self {
        Lock {
            inner: crate::lock::Lock::new(&client.inner, name),
            rt: &client.rt,
        }
    }

    /// The lock expires after this long unless extended (recommended).
    pub fn timeout(self, timeout: Duration) -> Self {
        Lock {
            inner: self.inner.timeout(timeout),
            rt: self.rt,
        }
    }

    /// Whether `acquire` waits for the lock (default) or fails at once.
    pub fn blocking(self, blocking: bool) -> Self {
        Lock {
            inner: self.inner.blocking(blocking),
            rt: self.rt,
        }
    }

    /// How long `acquire` waits at most.
    pub fn blocking_timeout(self, timeout: Duration) -> Self {
        Lock {
            inner: self.inner.blocking_timeout(timeout),
            rt: self.rt,
        }
    }

    /// Pause between attempts while waiting (default 100 ms).
    pub fn sleep(self, sleep: Duration) -> Self {
        Lock {
            inner: self.inner.sleep(sleep),
            rt: self.rt,
        }
    }

    /// Takes the lock, waiting as configured; `Error::Lock` when it cannot be had.
    pub fn acquire(&self) -> Result<LockGuard<'c>> {
        let guard = self.rt.block_on(self.inner.acquire())?;
        Ok(LockGuard {
            inner: Some(guard),
            rt: self.rt,
        })
    }
}

/// An acquired lock. Release it with [`release`](Self::release); if the guard is
/// dropped instead, the lock is released in the background (best effort) or expires.
#[must_use = "dropping the guard releases the lock"]
pub struct LockGuard<'c> {
    // `Some` until released or dropped.
    inner: Option<crate::lock::LockGuard<&'c crate::Client>>,
    rt: &'c Runtime,
}

impl fmt::Debug for LockGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("blocking::LockGuard")
            .field(&self.inner)
            .finish()
    }
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        // The async guard's drop releases the lock on the runtime it finds.
        super::drop_in(self.rt, self.inner.take());
    }
}

impl LockGuard<'_> {
    fn guard(&self) -> &crate::lock::LockGuard<&crate::Client> {
        self.inner.as_ref().expect("taken only by release and drop")
    }

    /// The token stored in the key while this guard owns it.
    pub fn token(&self) -> &Bytes {
        self.guard().token()
    }

    /// Whether the key still holds this lock's token.
    pub fn owned(&self) -> Result<bool> {
        self.rt.block_on(self.guard().owned())
    }

    /// Releases the lock; `Error::Lock` if it was no longer ours.
    pub fn release(mut self) -> Result<()> {
        let guard = self.inner.take().expect("taken only by release and drop");
        self.rt.block_on(guard.release())
    }

    /// Adds `additional` to the remaining time (or sets it, with `replace_ttl`).
    pub fn extend(&self, additional: Duration, replace_ttl: bool) -> Result<()> {
        self.rt
            .block_on(self.guard().extend(additional, replace_ttl))
    }

    /// Resets the remaining time to the lock's `timeout`.
    pub fn reacquire(&self) -> Result<()> {
        self.rt.block_on(self.guard().reacquire())
    }
}
