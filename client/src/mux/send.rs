//! The send path of one multiplexed connection, from a caller's command to the socket:
//! the fast path (queue on the live connection under the state lock, and write it
//! through when the connection is idle), the slow path (health check, reconnect, then
//! queue), and batches. The reply side is in `cells.rs`, the writer task in `writer.rs`.
//!
//! # Writing through
//! A command (or batch) that finds the connection idle — nothing in flight, nothing
//! queued, no write under way, and no reply stored that its caller has not collected
//! yet — is written by its caller, in the same critical section, with one non-blocking
//! write (TCP and Unix sockets; over TLS the writer task writes). Nothing could share
//! its write: no caller holds a fresh reply after which it would queue a next command.
//! So a sequential caller costs one syscall and no task hop per command, where waking
//! the writer costs a wake-up of another task (often on another worker thread) and the
//! lock passing between them. What the socket does not take at once stays queued and the
//! writer is woken for it, as it is for every command that is not alone: under load
//! (the reader completing many callers at once) the writer's batching is unchanged. The
//! order invariant holds: the write happens under the lock, and only when nothing is
//! queued before it. Off with several connections: there a caller woken by one
//! connection's reply sends its next command to whichever is least loaded, which this
//! connection's count of uncollected replies does not see.

use super::*;

impl Mux {
    /// Runs `enqueue` under the state lock when the connection is live (and, with
    /// `check_health`, no health check is due), noting the load for the least-loaded pick.
    fn with_link<R>(&self, check_health: bool, enqueue: impl FnOnce(&mut State) -> R) -> Option<R> {
        let mut st = lock(&self.state);
        st.link.as_ref()?;
        if self.config.health_check_interval.is_some() && st.fifo.is_empty() {
            // The clock is read only when nothing is in flight: for the idle check, and
            // to mark when a reply became due (what the watchdog measures silence from).
            let now = Instant::now();
            if check_health && self.health_check_due(&st, now) {
                return None;
            }
            st.busy_since = now;
        }
        let r = enqueue(&mut st);
        self.note_load(&st);
        Some(r)
    }

    /// The fast path: queue `args` on the live connection without waiting; `waker` is
    /// woken when the reply is in. `None` when the caller must take the slow path (not
    /// connected, a health check is due, or commands are held).
    /// `wait`: how long the server may take to answer, for a command whose argument says
    /// so (see [`Slot::Waiting`]).
    #[inline]
    pub(crate) fn try_send<'m>(
        &'m self,
        args: &Args,
        waker: &Waker,
        wait: Option<ServerWait>,
    ) -> Option<ReplyWait<'m>> {
        if self.hold.is_held() {
            return None;
        }
        let cell = self.with_link(true, |st| self.enqueue(st, args, Some(waker), wait))?;
        Some(ReplyWait { mux: self, cell })
    }

    /// The slow path of one command: health check, reconnect, then queue and wait.
    pub(crate) async fn send_slow(self: &Arc<Self>, args: Args, wait: Option<ServerWait>) -> Reply {
        let cell = self
            .enqueue_slow(|st| self.enqueue(st, &args, None, wait))
            .await?;
        ReplyWait { mux: self, cell }.await
    }

    /// Sends a batch (see [`Mux::enqueue_many`]) and waits for all its replies.
    pub(crate) async fn send_batch(self: &Arc<Self>, commands: &[Args]) -> BatchReply {
        if commands.is_empty() {
            return Ok(Vec::new());
        }
        let fast = if self.hold.is_held() {
            None
        } else {
            self.with_link(true, |st| self.enqueue_many(st, commands))
        };
        match fast {
            Some(rx) => rx.await.unwrap_or_else(|_| Err(dropped())),
            None => {
                let rx = self
                    .enqueue_slow(|st| self.enqueue_many(st, commands))
                    .await?;
                rx.await.unwrap_or_else(|_| Err(dropped()))
            }
        }
    }

    /// Health check and reconnect as needed, then runs `enqueue` on the live connection.
    async fn enqueue_slow<X>(self: &Arc<Self>, enqueue: impl Fn(&mut State) -> X) -> Result<X> {
        self.hold.wait().await;
        self.health_check().await;
        if let Some(x) = self.with_link(false, &enqueue) {
            return Ok(x);
        }
        self.connect().await?;
        self.with_link(false, &enqueue).ok_or_else(|| {
            Error::ConnectionClosed("the connection was lost right after reconnecting".into())
        })
    }

    /// Appends one command and its slot in the same critical section (the order
    /// invariant), writes it through when the connection is idle, else wakes the writer
    /// if it may be idle. `st.link` must be `Some`. Returns the command's cell.
    #[inline]
    pub(super) fn enqueue(
        &self,
        st: &mut State,
        args: &Args,
        waker: Option<&Waker>,
        wait: Option<ServerWait>,
    ) -> u32 {
        let cell = Self::take_cell(st, waker);
        let idle = self.idle(st);
        let was_empty = st.wbuf.is_empty();
        args.write_command(&mut st.wbuf);
        st.fifo.push_back(match wait {
            None => Slot::One(cell),
            Some(wait) => Slot::Waiting(cell, wait),
        });
        if !(idle && self.write_through(st)) {
            Self::wake_writer(st, was_empty);
        }
        cell
    }

    /// Appends several commands contiguously (nothing from another caller can come
    /// between them: MULTI … EXEC relies on it) with one slot for all their replies.
    /// `commands` must not be empty.
    pub(super) fn enqueue_many(
        &self,
        st: &mut State,
        commands: &[Args],
    ) -> oneshot::Receiver<BatchReply> {
        let (tx, rx) = oneshot::channel();
        let idle = self.idle(st);
        let was_empty = st.wbuf.is_empty();
        for c in commands {
            c.write_command(&mut st.wbuf);
        }
        st.fifo.push_back(Slot::Many {
            tx,
            left: commands.len(),
            got: Vec::with_capacity(commands.len()),
        });
        if !(idle && self.write_through(st)) {
            Self::wake_writer(st, was_empty);
        }
        rx
    }

    /// Nothing in flight, nothing queued, no write under way and no caller about to
    /// collect a reply (and perhaps send again), on a client with this one connection: a
    /// command queued now would be the writer's only one, so its caller writes it itself
    /// (see "Writing through" above).
    #[inline]
    pub(super) fn idle(&self, st: &State) -> bool {
        st.fifo.is_empty()
            && st.wbuf.is_empty()
            && !st.writing
            && st.unclaimed == 0
            && !self.config.track_load
    }

    /// Writes the queued bytes (the command or batch just queued on an idle connection)
    /// without waiting: true when all went out; otherwise what is left stays queued for
    /// the writer (which also meets any error of the socket and retires the connection).
    #[inline]
    pub(super) fn write_through(&self, st: &mut State) -> bool {
        let Some(link) = &st.link else {
            return false;
        };
        let Some(Ok(n)) = link.wr.try_write(&st.wbuf) else {
            return false;
        };
        #[cfg(test)]
        {
            self.writes
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.writes_through
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        self.site.written(n);
        self.site.pending(st.fifo.len());
        if n == st.wbuf.len() {
            st.wbuf.clear();
            true
        } else {
            bytes::Buf::advance(&mut st.wbuf, n);
            false
        }
    }

    #[inline]
    pub(super) fn wake_writer(st: &State, was_empty: bool) {
        // Only the first command after a drain needs to wake the writer: it drains
        // everything else queued meanwhile.
        if was_empty {
            if let Some(link) = &st.link {
                link.notify.notify_one();
            }
        }
    }
}
