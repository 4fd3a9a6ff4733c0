//! The FIFO of reply slots and the reply cells of one multiplexed connection: queueing a
//! command or batch with its slot (under the state lock, so wire order is slot order),
//! storing a reply for its caller, the caller's wait, and what a caller that gives up
//! leaves behind.
//!
//! # Reply cells
//! A single command's slot is the index of a *cell* in a table kept under the same lock:
//! the caller stores its waker there when it queues the command, the reader stores the
//! reply and wakes it, and the caller takes the reply and frees the cell. Cells are
//! reused, so a command costs no allocation and no channel. (Batches use a oneshot
//! channel: they are rare next to single commands, and carry a `Vec` anyway.)
//!
//! # Cancellation
//! A caller that gives up (timeout, dropped future) marks its cell abandoned; the slot
//! stays in the FIFO, the reader still pops it for the matching reply, drops the reply
//! and frees the cell. A cell is only freed by the side that finishes last, so a cell
//! index is never reused while a reply for it can still come. A reply can therefore only
//! ever reach the caller whose command produced it.

use super::*;
use crate::error::UsageKind;

/// A place in the FIFO: where the next reply (or replies) go.
pub(super) enum Slot {
    /// One command: the index of its cell in [`State::cells`].
    One(u32),
    /// One command that the server may leave unanswered for as long as it says (`WAIT`
    /// on the shared connection): the watchdog allows that much silence while it is
    /// the oldest in flight.
    Waiting(u32, ServerWait),
    /// A batch of `left + got.len()` contiguous commands answered together.
    Many {
        tx: oneshot::Sender<BatchReply>,
        left: usize,
        got: Vec<Value>,
    },
}

/// Where one command's reply waits for its caller (see "Reply cells" in the module doc).
#[derive(Default)]
pub(super) struct Cell {
    /// The reply, once read (or the error that ended the connection).
    reply: Option<Reply>,
    /// Who to wake when the reply is stored.
    waker: Option<Waker>,
    /// The caller gave up: whoever stores the reply frees the cell instead.
    abandoned: bool,
}

/// A completed batch, delivered after the state lock is released.
pub(super) struct Done(
    pub(super) oneshot::Sender<BatchReply>,
    pub(super) Vec<Value>,
);

/// Above this many cells the table is dropped once they are all free again, so a burst of
/// concurrent commands does not pin its memory for the life of the connection.
pub(super) const KEEP_CELLS: usize = 4096;

impl Mux {
    /// A free reply cell for a command being queued, holding its caller's waker.
    #[inline]
    pub(super) fn take_cell(st: &mut State, waker: Option<&Waker>) -> u32 {
        let cell = match st.free.pop() {
            Some(i) => i,
            None => {
                st.cells.push(Cell::default());
                // The table holds at most one cell per command in flight.
                (st.cells.len() - 1) as u32
            }
        };
        st.cells[cell as usize].waker = waker.cloned();
        cell
    }

    /// Stores `reply` in `cell` and adds its caller to `wakers` (to wake once the lock is
    /// released), or, when the caller gave up, frees the cell and hands the reply back
    /// (to drop once the lock is released).
    #[inline]
    pub(super) fn complete(
        st: &mut State,
        cell: u32,
        reply: Reply,
        wakers: &mut Vec<Waker>,
    ) -> Option<Reply> {
        let c = &mut st.cells[cell as usize];
        if c.abandoned {
            c.abandoned = false;
            Self::release(st, cell);
            return Some(reply);
        }
        c.reply = Some(reply);
        wakers.extend(c.waker.take());
        st.unclaimed += 1;
        None
    }

    /// The caller's side of a cell: takes the reply if it is in (freeing the cell),
    /// otherwise makes sure `waker` is the one woken.
    #[inline]
    fn poll_cell(&self, cell: u32, waker: &Waker) -> Poll<Reply> {
        let mut st = lock(&self.state);
        let c = &mut st.cells[cell as usize];
        match c.reply.take() {
            Some(reply) => {
                st.unclaimed -= 1;
                Self::release(&mut st, cell);
                Poll::Ready(reply)
            }
            None => {
                match &c.waker {
                    Some(w) if w.will_wake(waker) => {}
                    _ => c.waker = Some(waker.clone()),
                }
                Poll::Pending
            }
        }
    }

    /// Frees `cell` (empty, not abandoned).
    #[inline]
    fn release(st: &mut State, cell: u32) {
        st.free.push(cell);
        if st.free.len() == st.cells.len() && st.cells.len() > KEEP_CELLS {
            st.cells = Vec::new();
            st.free = Vec::new();
        }
    }

    /// The caller of `cell` gave up: free it if its reply is in, else leave it to the
    /// reader to free when the reply comes.
    #[cold]
    fn abandon(&self, cell: u32) {
        let mut st = lock(&self.state);
        let c = &mut st.cells[cell as usize];
        let waker = c.waker.take();
        let reply = c.reply.take();
        if reply.is_some() {
            st.unclaimed -= 1;
            Self::release(&mut st, cell);
        } else {
            c.abandoned = true;
        }
        drop(st);
        // Dropped outside the lock: a reply can be large.
        drop((waker, reply));
    }
}

/// The error for a batch slot whose sender vanished without an answer (cannot normally
/// happen: every slot is answered or failed).
pub(crate) fn dropped() -> Error {
    Error::ConnectionClosed("the connection was closed before the reply arrived".into())
}

/// Waits for the reply in one cell. Dropping it before the reply came abandons the cell:
/// the reply is read and discarded when it comes.
pub(crate) struct ReplyWait<'m> {
    pub(super) mux: &'m Mux,
    pub(super) cell: u32,
}

impl Future for ReplyWait<'_> {
    type Output = Reply;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Reply> {
        if self.cell == u32::MAX {
            return Poll::Ready(Err(Error::usage(
                UsageKind::PolledAfterCompletion,
                "reply polled after completion",
            )));
        }
        let ready = self.mux.poll_cell(self.cell, cx.waker());
        if ready.is_ready() {
            // Freed by `poll_cell`: make `drop` a no-op.
            self.cell = u32::MAX;
        }
        ready
    }
}

impl Drop for ReplyWait<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.cell != u32::MAX {
            self.mux.abandon(self.cell);
        }
    }
}
