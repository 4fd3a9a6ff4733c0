//! A gate that holds a client's new commands back for a while: the Sentinel-backed client
//! closes it while the sentinels fail its master over, so nothing new is written to a
//! master that is about to be demoted, and opens it once the new master is known.
//!
//! Owns: the flag and the wake-up of the callers waiting on it. Does not own: deciding
//! when to hold (see [`crate::sentinel`]) or bounding how long (the holder releases it;
//! each caller's own command timeout still applies while it waits). Commands queued
//! before the gate closed are unaffected: the gate is checked only before a command is
//! queued.

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

/// Closed (holding) or open; see the module docs.
#[derive(Debug, Default)]
pub(crate) struct Hold {
    held: AtomicBool,
    released: Notify,
}

impl Hold {
    /// Whether new commands are being held. One atomic load: it is on every command's
    /// fast path, which only has to divert to the slow path (where callers wait) while
    /// this is set.
    #[inline]
    pub(crate) fn is_held(&self) -> bool {
        self.held.load(Ordering::Acquire)
    }

    /// Starts holding new commands (no-op when already holding).
    pub(crate) fn hold(&self) {
        self.held.store(true, Ordering::Release);
    }

    /// Lets every waiting caller go, in no particular order.
    pub(crate) fn release(&self) {
        self.held.store(false, Ordering::Release);
        self.released.notify_waiters();
    }

    /// Returns once the gate is open (at once when it is).
    pub(crate) async fn wait(&self) {
        loop {
            let released = self.released.notified();
            let mut released = std::pin::pin!(released);
            // Registered before the flag is read, so a release in between is not missed.
            released.as_mut().enable();
            if !self.is_held() {
                return;
            }
            released.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn waiters_pass_only_after_the_release() {
        let hold = Arc::new(Hold::default());
        // Open: no wait at all.
        tokio::time::timeout(Duration::from_millis(100), hold.wait())
            .await
            .expect("an open gate does not wait");
        hold.hold();
        let waiters: Vec<_> = (0..8)
            .map(|_| {
                let h = hold.clone();
                tokio::spawn(async move { h.wait().await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            waiters.iter().all(|w| !w.is_finished()),
            "passed a closed gate"
        );
        hold.release();
        for w in waiters {
            tokio::time::timeout(Duration::from_secs(2), w)
                .await
                .expect("released waiters pass")
                .unwrap();
        }
        assert!(!hold.is_held());
    }
}
