//! The life of one multiplexed connection's links: connecting (one attempt at a time,
//! spaced by a backoff after failures), starting a generation's reader, writer and
//! watchdog tasks, and retiring a generation.
//!
//! # Failure
//! When the reader or the writer fails (EOF, I/O error, protocol error), the connection's
//! generation is retired under the lock: the write buffer is dropped, every slot in the
//! FIFO gets the error, both tasks are aborted. The next command reconnects; attempts after
//! a failed one are spaced by an exponential backoff (100 ms doubling, capped at 2 s) and a
//! command arriving inside that window fails at once with the last connect error. Tasks of
//! an old generation check the generation under the lock before touching shared state, so
//! no reply can cross a reconnect.

use super::health::watch_loop;
use super::reader::read_loop;
use super::writer::write_loop;
use super::*;

/// Cap of the reconnect backoff.
pub(super) const MAX_BACKOFF: Duration = Duration::from_secs(2);

pub(super) fn backoff(failures: u32) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    let ms = 100u64.saturating_mul(1 << (failures - 1).min(16));
    Duration::from_millis(ms).min(MAX_BACKOFF)
}

impl Mux {
    /// Establishes a connection unless one is live. Concurrent callers share one attempt:
    /// those who waited while it failed get its error instead of trying again.
    pub(crate) async fn connect(self: &Arc<Self>) -> Result<()> {
        let seen = lock(&self.state).attempts;
        let _guard = self.connect_lock.lock().await;
        {
            let st = lock(&self.state);
            if st.shut_down {
                return Err(Error::ConnectionClosed("the client was dropped".into()));
            }
            if st.link.is_some() {
                return Ok(());
            }
            if let Some((at, err)) = &st.last_failure {
                if st.attempts != seen || at.elapsed() < backoff(st.failures) {
                    return Err(err.clone());
                }
            }
        }
        let result = connection::connect(&self.config.info).await;
        let mut st = lock(&self.state);
        st.attempts += 1;
        match result {
            Ok(conn) => {
                st.failures = 0;
                st.last_failure = None;
                if st.shut_down {
                    return Err(Error::ConnectionClosed("the client was dropped".into()));
                }
                #[cfg(any(feature = "tracing", feature = "metrics"))]
                let (addr, previous) = (conn.addr.clone(), st.last_loss.take());
                self.install(&mut st, conn);
                #[cfg(any(feature = "tracing", feature = "metrics"))]
                {
                    let gen = st.gen;
                    drop(st);
                    self.site.connected(&addr, gen, previous.as_ref());
                }
                Ok(())
            }
            Err(err) => {
                st.failures = st.failures.saturating_add(1);
                st.last_failure = Some((Instant::now(), err.clone()));
                if self.config.track_load {
                    self.unavailable_for(backoff(st.failures));
                }
                drop(st);
                self.site.connect_failed(&err);
                Err(err)
            }
        }
    }

    /// After a failed connect, among several connections: none is sent here (the others
    /// take the commands, where this one would fail them at once with the connect error)
    /// until the backoff has passed; then it is available again, and the next command
    /// that picks it reconnects.
    fn unavailable_for(self: &Arc<Self>, delay: Duration) {
        self.load.store(UNAVAILABLE, Ordering::Relaxed);
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            if let Some(mux) = weak.upgrade() {
                let st = lock(&mux.state);
                if st.link.is_none() && !st.shut_down {
                    mux.load.store(0, Ordering::Relaxed);
                }
            }
        });
    }

    /// Starts the reader and writer tasks of a fresh connection as a new generation.
    fn install(self: &Arc<Self>, st: &mut State, conn: connection::Connection) {
        st.gen += 1;
        let gen = st.gen;
        debug_assert!(st.fifo.is_empty() && st.wbuf.is_empty());
        st.wbuf.clear();
        // A fresh connection counts as just heard from.
        self.note_read();
        st.busy_since = Instant::now();
        st.probe_until = None;
        self.note_load(st);
        let (rd, wr) = conn.stream.split();
        let wr = Arc::new(wr);
        st.writing = false;
        let notify = Arc::new(Notify::new());
        let reader = tokio::spawn(read_loop(
            self.clone(),
            gen,
            rd,
            conn.read_buf,
            conn.decoder,
        ));
        let writer = tokio::spawn(write_loop(self.clone(), gen, wr.clone(), notify.clone()));
        let watchdog = self
            .config
            .health_check_interval
            .map(|interval| tokio::spawn(watch_loop(self.clone(), gen, interval)).abort_handle());
        st.link = Some(Link {
            notify,
            wr,
            reader: reader.abort_handle(),
            writer: writer.abort_handle(),
            watchdog,
        });
    }

    /// Retires generation `gen`: every waiting caller gets `err`, queued commands are
    /// dropped unsent, both tasks stop. No-op when `gen` is already retired.
    pub(crate) fn fail(&self, gen: u64, err: Error) {
        let mut st = lock(&self.state);
        if st.gen != gen {
            return;
        }
        let Some(link) = st.link.take() else {
            return;
        };
        #[cfg(any(feature = "tracing", feature = "metrics"))]
        {
            st.last_loss = Some(err.clone());
        }
        Self::reset_buffers(&mut st);
        // Invalidations for what this connection read may be lost with it.
        if let Some(cache) = &self.config.cache {
            cache.clear();
        }
        let fifo = std::mem::take(&mut st.fifo);
        self.note_load(&st);
        let mut wakers = Vec::new();
        let mut batches = Vec::new();
        for slot in fifo {
            match slot {
                Slot::One(cell) | Slot::Waiting(cell, _) => {
                    Self::complete(&mut st, cell, Err(err.clone()), &mut wakers);
                }
                Slot::Many { tx, .. } => batches.push(tx),
            }
        }
        drop(st);
        link.reader.abort();
        link.writer.abort();
        if let Some(w) = link.watchdog {
            w.abort();
        }
        wakers.into_iter().for_each(Waker::wake);
        for tx in batches {
            // A receiver that is gone has nothing to be told.
            let _ = tx.send(Err(err.clone()));
        }
        self.site.lost(&err);
    }

    fn reset_buffers(st: &mut State) {
        if st.wbuf.capacity() > KEEP_BUFFER {
            st.wbuf = BytesMut::with_capacity(WRITE_BUFFER);
        } else {
            st.wbuf.clear();
        }
    }

    /// Closes the live connection (if any) with `err`; the next command reconnects.
    pub(crate) fn drop_connection(&self, err: Error) {
        let gen = lock(&self.state).gen;
        self.fail(gen, err);
    }

    /// Closes the connection for good (the client was dropped).
    pub(crate) fn shutdown(&self) {
        let gen = {
            let mut st = lock(&self.state);
            st.shut_down = true;
            st.gen
        };
        self.fail(
            gen,
            Error::ConnectionClosed("the client was dropped".into()),
        );
    }
}
