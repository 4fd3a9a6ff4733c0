//! The writer task of one multiplexed connection: taking the queued commands' buffer and
//! writing it with one `write_all`, after letting the callers that are ready queue their
//! commands too (a command that finds the connection idle is written by its caller
//! instead: see `send.rs`).
//!
//! When woken, the writer puts itself at the back of the scheduler's run queue until a
//! turn brings no new command (at most a few times) before taking the buffer: the tasks
//! the reader just completed queue their next commands in the meantime and share the
//! write. Without this, under load the writer wakes for nearly every command and the
//! syscalls dominate the cost. (Waiting for *every* completed caller before writing
//! makes fewer, fuller writes but lower throughput: the server then idles while the
//! client finishes the round instead of working on its first half.)

use super::*;

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
