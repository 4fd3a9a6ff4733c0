//! The reader task of one multiplexed connection: decodes frames (runs of small replies
//! in one split), routes pushes aside (invalidations to the cache first, in wire order),
//! and completes the FIFO's slots strictly in order, waking callers outside the lock;
//! a reply nobody waits for is a broken peer. Sizes the read buffer from the replies.

use super::cells::Done;
use super::*;

/// The reader asks for at least this much free space before each read.
const READ_CHUNK: usize = 64 * 1024;
/// Largest read buffer sized up front from the previous reply.
const MAX_READ_HINT: usize = 8 << 20;

pub(super) async fn read_loop<R: AsyncRead + Unpin>(
    mux: Arc<Mux>,
    gen: u64,
    mut rd: R,
    mut buf: BytesMut,
    mut decoder: Decoder,
) {
    let track_io = mux.config.health_check_interval.is_some();
    // Reused across reads: replies of one read, the callers to wake, completed batches.
    let mut replies: Vec<Value> = Vec::with_capacity(64);
    let mut wakers: Vec<Waker> = Vec::with_capacity(64);
    let mut done: Vec<Done> = Vec::new();
    let mut discarded: Vec<Reply> = Vec::new();
    // Size of the largest reply of the last read, when it was large.
    let mut large_reply = 0usize;
    let err = loop {
        let mut failure = None;
        loop {
            // Runs of small replies (GET, INCR, SET …) in one split of the buffer.
            large_reply = large_reply.max(decoder.decode_scalars(&mut buf, &mut replies));
            let before = buf.len();
            match decoder.decode(&mut buf) {
                // A push answers no command, whatever attributes precede it: routed aside,
                // it cannot take a caller's place in the FIFO.
                Ok(Some(v)) if v.is_push() => {
                    // An invalidation is applied now, before any reply decoded after it
                    // completes (replies decoded before it are refused by the cache if
                    // they were in flight: see `cache`).
                    if let Some(cache) = &mux.config.cache {
                        cache.on_push(&v);
                    }
                    // Nobody listening is fine: pushes are optional information.
                    let _ = mux.push_tx.send(v);
                }
                Ok(Some(v)) => {
                    large_reply = large_reply.max(before - buf.len());
                    replies.push(v);
                }
                Ok(None) => break,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        if !replies.is_empty() {
            let mut st = lock(&mux.state);
            if st.gen != gen || st.link.is_none() {
                return;
            }
            for reply in replies.drain(..) {
                match st.fifo.front_mut() {
                    None => {
                        failure = Some(Error::Protocol(
                            "the server sent a reply that no command was waiting for".into(),
                        ));
                        break;
                    }
                    Some(Slot::Many { left, got, .. }) if *left > 1 => {
                        got.push(reply);
                        *left -= 1;
                    }
                    Some(_) => match st.fifo.pop_front() {
                        Some(Slot::One(cell) | Slot::Waiting(cell, _)) => {
                            if let Some(r) = Mux::complete(&mut st, cell, Ok(reply), &mut wakers) {
                                discarded.push(r);
                            }
                        }
                        Some(Slot::Many { tx, mut got, .. }) => {
                            got.push(reply);
                            done.push(Done(tx, got));
                        }
                        None => {}
                    },
                }
            }
            replies.clear();
            mux.note_load(&st);
            drop(st);
            // Waking outside the lock keeps callers' wake-ups off it. A send fails only
            // when the caller gave up: the replies are dropped here, on purpose.
            wakers.drain(..).for_each(Waker::wake);
            discarded.clear();
            for Done(tx, vs) in done.drain(..) {
                let _ = tx.send(Ok(vs));
            }
        }
        if let Some(e) = failure {
            break e;
        }
        if buf.is_empty() && large_reply > READ_CHUNK && buf.capacity() < large_reply {
            // Large replies tend to come in series (LRANGE, HGETALL of a big hash): room
            // for the next one up front, rather than growing the buffer (and copying what
            // it holds) several times per reply.
            buf = BytesMut::with_capacity(large_reply.min(MAX_READ_HINT) + READ_CHUNK);
            large_reply = 0;
        } else if buf.is_empty() && buf.capacity() > 4 * KEEP_BUFFER {
            // After a huge reply, do not keep its buffer for the life of the connection.
            buf = BytesMut::with_capacity(READ_CHUNK);
        } else if buf.capacity() - buf.len() < READ_CHUNK / 4 {
            buf.reserve(READ_CHUNK);
        }
        match rd.read_buf(&mut buf).await {
            Ok(0) => break Error::ConnectionClosed("the server closed the connection".into()),
            Ok(n) => {
                mux.site.read(n);
                // Any byte counts as a sign of life, a reply still incomplete included.
                if track_io {
                    mux.note_read();
                }
            }
            Err(e) => break Error::io("reading from the server", e),
        }
    };
    if matches!(err, Error::Protocol(_)) {
        mux.site.protocol_error(&err);
    }
    mux.fail(gen, err);
}
