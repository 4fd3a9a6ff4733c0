//! Health of one multiplexed connection: the PING sent before a command on a connection
//! idle for longer than the interval, and the watchdog that retires a connection that
//! stays silent while replies are due.
//!
//! # Health checks
//! With a `health_check_interval`, a command arriving on a connection that has nothing in
//! flight and has read nothing for longer than the interval first sends a PING and waits
//! for it (at most `health_check_timeout`); if it fails, the connection is retired and the
//! command goes to a new one.
//!
//! A connection with replies due can be silent too: the server paused, a half-open
//! connection behind a load balancer, a partition that sends no RST. Its commands time
//! out, but their slots stay queued (a reply may still come), so nothing would ever
//! replace it. With a `health_check_interval`, a watchdog task per connection therefore
//! declares it dead when replies are due and nothing at all — not a byte — has been read
//! for the interval, counted from the later of the last read and the moment the FIFO
//! stopped being empty: every waiting caller gets a connection error at once and the
//! next command reconnects. The hot path pays nothing for it beyond what the idle check
//! already costs: the reader stamps the time of each read (only with health checks on),
//! and the one clock reading the idle check takes when the FIFO is empty also marks when
//! a reply became due. The watchdog sleeps an interval at a time while nothing is due.
//!
//! # Commands the server answers late on purpose
//! `WAIT` and `WAITAOF` block on the server, and run here (they are about this
//! connection's writes): their slot says how long their timeout argument lets the server
//! stay silent, and the watchdog adds that to its interval while such a command is the
//! oldest in flight (none with a timeout of 0).

use super::*;

impl Mux {
    /// Records that the live connection read something, now.
    #[inline]
    pub(super) fn note_read(&self) {
        let now = self.epoch.elapsed().as_nanos() as u64;
        self.last_read.store(now, Ordering::Relaxed);
    }

    /// When the live connection last read anything (with health checks on).
    fn last_read(&self) -> Instant {
        self.epoch + Duration::from_nanos(self.last_read.load(Ordering::Relaxed))
    }

    /// Whether the connection is idle (nothing in flight) and has been for longer than
    /// the health-check interval, at `now`. A connection with commands in flight is not
    /// PINGed: their replies (or the lack of them, which the watchdog watches) already
    /// tell whether it is alive, and a PING queued behind a slow command would only
    /// measure that command.
    #[inline]
    pub(super) fn health_check_due(&self, st: &State, now: Instant) -> bool {
        match self.config.health_check_interval {
            Some(interval) => {
                st.fifo.is_empty() && now.saturating_duration_since(self.last_read()) > interval
            }
            None => false,
        }
    }

    /// When the connection has been idle longer than the interval, sends a PING and waits
    /// for it; if it fails or times out the connection is retired, so the caller's
    /// command goes to a fresh connection.
    pub(super) async fn health_check(&self) {
        if self.config.health_check_interval.is_none() {
            return;
        }
        let (cell, gen) = {
            let mut st = lock(&self.state);
            let now = Instant::now();
            if st.link.is_none() || !self.health_check_due(&st, now) {
                return;
            }
            // Callers arriving meanwhile skip the check (the FIFO is not empty): this one
            // covers them. Should this caller give up before the PING is answered, the
            // watchdog still retires the connection if it stays silent.
            st.busy_since = now;
            st.probe_until = Some(now + self.config.health_check_timeout);
            let mut ping = Args::with_capacity(16);
            ping.push_bytes(b"PING");
            (self.enqueue(&mut st, &ping, None, None), st.gen)
        };
        // Ends the probe however this future ends, cancellation included.
        struct Probe<'m>(&'m Mux, u64);
        impl Drop for Probe<'_> {
            fn drop(&mut self) {
                let mut st = lock(&self.0.state);
                if st.gen == self.1 {
                    st.probe_until = None;
                }
            }
        }
        let _probe = Probe(self, gen);
        let wait = ReplyWait { mux: self, cell };
        let timeout = self.config.health_check_timeout;
        if !matches!(tokio::time::timeout(timeout, wait).await, Ok(Ok(_))) {
            let err = Error::ConnectionClosed(format!(
                "health check: the server did not answer PING within {timeout:?} (health_check_timeout)"
            ));
            self.site.health_check_failed(&err);
            self.fail(gen, err);
        }
    }
}

/// Retires generation `gen` when replies are due and nothing has been read for
/// `interval` (see "Health checks" in the module doc). Sleeps an interval at a time while nothing is
/// due: a reply that becomes due meanwhile is due since then, so its deadline is no
/// earlier than the next wake-up.
pub(super) async fn watch_loop(mux: Arc<Mux>, gen: u64, interval: Duration) {
    loop {
        let wait = {
            let st = lock(&mux.state);
            if st.gen != gen || st.link.is_none() {
                return;
            }
            let unbounded = matches!(
                st.fifo.front(),
                Some(Slot::Waiting(_, ServerWait::Unbounded))
            );
            if st.fifo.is_empty() || unbounded {
                // Nothing due, or the oldest command in flight may keep the server silent
                // for as long as it takes (`WAIT … 0`).
                interval
            } else {
                let since = st.busy_since.max(mux.last_read());
                let mut deadline = since + interval;
                if let Some(Slot::Waiting(_, ServerWait::Bounded(d))) = st.fifo.front() {
                    // The oldest command in flight may keep the server silent as long as
                    // its own timeout says: the interval counts from the end of that. (It
                    // is the oldest: the server answered everything before it, so it
                    // started on it no earlier than `since`.)
                    deadline += *d;
                }
                if let Some(until) = st.probe_until {
                    // A health-check PING has its own timeout, which its sender enforces.
                    deadline = deadline.max(until);
                }
                let now = Instant::now();
                let silent = now.saturating_duration_since(since);
                if now >= deadline {
                    drop(st);
                    let err = Error::ConnectionClosed(format!(
                        "the server sent nothing for {silent:?} while replies were due \
                         (health_check_interval {interval:?}): the connection is presumed dead"
                    ));
                    mux.site.health_check_failed(&err);
                    mux.fail(gen, err);
                    return;
                }
                deadline - now
            }
        };
        tokio::time::sleep(wait).await;
    }
}
