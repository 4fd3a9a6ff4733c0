//! The writer task of one multiplexed connection, and the write-through that spares it:
//! taking the queued commands' buffer and writing it with one `write_all`, after letting
//! the callers that are ready queue their commands too.
//!
//! When woken, the writer puts itself at the back of the scheduler's run queue until a
//! turn brings no new command (at most a few times) before taking the buffer: the tasks
//! the reader just completed queue their next commands in the meantime and share the
//! write. Without this, under load the writer wakes for nearly every command and the
//! syscalls dominate the cost. (Waiting for *every* completed caller before writing
//! makes fewer, fuller writes but lower throughput: the server then idles while the
//! client finishes the round instead of working on its first half.)
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
//! (the reader completing many callers at once) the batching above is unchanged. The
//! order invariant holds: the write happens under the lock, and only when nothing is
//! queued before it. Off with several connections: there a caller woken by one
//! connection's reply sends its next command to whichever is least loaded, which this
//! connection's count of uncollected replies does not see.

use super::*;

impl Mux {
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

pub(super) async fn write_loop(
    mux: Arc<Mux>,
    gen: u64,
    wr: Arc<connection::WriteHalf>,
    notify: Arc<Notify>,
) {
    let mut out = BytesMut::with_capacity(WRITE_BUFFER);
    let err = loop {
        let (idle, pending) = {
            let mut st = lock(&mux.state);
            if st.gen != gen || st.link.is_none() {
                return;
            }
            if st.wbuf.is_empty() {
                st.writing = false;
                (true, 0)
            } else {
                st.writing = true;
                // Double buffering: callers keep appending to the other buffer while
                // this one is written, and no allocation happens in the steady state.
                std::mem::swap(&mut st.wbuf, &mut out);
                // The batch is taken: a command now starts the next one.
                mux.note_load(&st);
                (false, st.fifo.len())
            }
        };
        if idle {
            // A `notify_one` that raced with the emptiness check left a permit, so this
            // cannot miss a wake-up.
            notify.notified().await;
            // Let the tasks that are ready (typically the ones the reader just woke)
            // queue their commands too, so they share this write: a syscall per
            // command would dominate the cost of a command. Stop as soon as a yield
            // brought nothing new.
            let mut len = lock(&mux.state).wbuf.len();
            for _ in 0..4 {
                requeue().await;
                let now = lock(&mux.state).wbuf.len();
                if now == len {
                    break;
                }
                len = now;
            }
            continue;
        }
        #[cfg(test)]
        mux.writes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Err(e) = wr.write_all(&out).await {
            break Error::io("writing to the server", e);
        }
        mux.site.written(out.len());
        mux.site.pending(pending);
        if out.capacity() > KEEP_BUFFER {
            out = BytesMut::with_capacity(WRITE_BUFFER);
        } else {
            out.clear();
        }
    };
    mux.fail(gen, err);
}

/// Puts the current task at the back of the scheduler's run queue once, behind the tasks
/// that are ready now. Unlike `tokio::task::yield_now`, which defers the task until the
/// runtime has polled its I/O driver (an `epoll_wait` per yield), this lets the ready
/// tasks run and queue their commands without a syscall.
fn requeue() -> impl std::future::Future<Output = ()> {
    let mut yielded = false;
    std::future::poll_fn(move |cx| {
        if yielded {
            return std::task::Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    })
}
