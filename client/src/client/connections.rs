//! A client with several multiplexed connections ([`ClientConfig::connections`]): which
//! one a command takes (the one whose batch is forming, else the least loaded), and a
//! command that runs on every one of them (`WAIT`, `WAITAOF`), its replies combined by
//! the spec's response policy. With one connection none of this runs.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use crate::error::{Error, UsageKind};
use crate::meta::ResponsePolicy;
use crate::mux::{Load, Mux, Reply};
use crate::value::Value;
#[cfg(doc)]
use crate::ClientConfig;

/// A connection whose batch is forming takes more commands, up to this many in flight,
/// before the least loaded is preferred.
const JOIN_BATCH: usize = 32;

/// The connection the next command goes to, among several. A connection where a batch
/// is forming (commands queued, not yet taken by its writer) is preferred while it has
/// fewer than [`JOIN_BATCH`] commands in flight: the command then shares that write,
/// so the callers one batch of replies woke stay together as the next batch, instead of
/// spreading over every connection one write each (syscalls and wake-ups per command).
/// Otherwise the connection with the fewest commands in flight. Ties are broken by a
/// per-thread rotation, so that an idle client does not pile onto the first connection;
/// a connection that just failed to connect (`mux::UNAVAILABLE`) is picked only when
/// every one did.
pub(super) fn least_loaded(muxes: &[Arc<Mux>]) -> &Arc<Mux> {
    thread_local! {
        static NEXT: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }
    let start = NEXT.with(|n| {
        let v = n.get();
        n.set(v.wrapping_add(1));
        v
    });
    let len = muxes.len();
    let mut best = start % len;
    let mut best_score = usize::MAX;
    for i in 0..len {
        let j = (start + i) % len;
        let score = match Load::of(muxes[j].load()) {
            None => continue,
            Some(l) if l.forming && l.in_flight < JOIN_BATCH => 0,
            Some(l) => l.in_flight + 1,
        };
        if score < best_score {
            best = j;
            best_score = score;
            if score == 0 {
                break;
            }
        }
    }
    &muxes[best]
}

/// Awaits every future, concurrently, and returns their outputs in order.
pub(super) async fn join_all<F: Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, out) in futures.iter_mut().zip(outputs.iter_mut()) {
            if out.is_none() {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => *out = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// The replies of one command sent on every connection, as one: the first error, else
/// combined by the command's response policy (`AGG_MIN`: the smallest, element by
/// element for arrays such as `WAITAOF`'s; otherwise the first reply).
pub(super) fn combine(replies: Vec<Reply>, policy: ResponsePolicy) -> Reply {
    let mut acc: Option<Value> = None;
    for r in replies {
        let v = top_level(r)?;
        acc = Some(match acc {
            None => v,
            Some(a) if policy == ResponsePolicy::AggMin => smaller(a, v),
            Some(a) => a,
        });
    }
    acc.ok_or_else(|| Error::usage(UsageKind::Closed, "a command sent on no connection"))
}

fn smaller(a: Value, b: Value) -> Value {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Value::Int(x.min(y)),
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            Value::Array(x.into_iter().zip(y).map(|(a, b)| smaller(a, b)).collect())
        }
        (a, _) => a,
    }
}

/// An error reply at the top level of `reply` as `Err(Error::Server)`.
pub(super) fn top_level(reply: Reply) -> Reply {
    match reply {
        Ok(Value::Error(e)) => Err(Error::Server(e)),
        other => other,
    }
}
