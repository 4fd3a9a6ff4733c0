//! [`DedicatedConnection`]: a connection from the client's pool that one caller owns, on
//! which every generated command works — also those that change the state of the
//! connection they run on (`SELECT`, `CLIENT REPLY`, `MULTI`, the `SUBSCRIBE` family,
//! `MONITOR`, `HELLO`, `AUTH`, `RESET`, …), which a shared [`Client`] refuses.
//!
//! ```no_run
//! # async fn f(client: &typedis::Client) -> typedis::Result<()> {
//! use typedis::prelude::*;
//! let conn = client.dedicated().await?;
//! conn.select(1).await?;                    // this connection only
//! conn.set("k", "in db 1").await?;
//! let (v,) = conn.pipeline().get("k").execute().await?;
//! # let _: Option<typedis::Bytes> = v;
//! drop(conn);                               // reset (RESET + handshake), then pooled
//! # Ok(()) }
//! ```
//!
//! Owns: sending commands one at a time (or pipelined) on a borrowed
//! [`PooledConnection`], and keeping replies in step with what the server does after a
//! connection-state command, from the generated tables alone: after `CLIENT REPLY OFF`
//! or `SKIP` the server leaves commands unanswered ([`Error::NoReply`]); the `SUBSCRIBE`
//! family is answered by confirmations among the PubSub messages (collected up to a
//! `PING` sent after it); after `MONITOR` the connection streams a line per command run;
//! inside `MULTI` the commands that change how the server replies are refused. Frames
//! that are not replies (PubSub messages, MONITOR lines, RESP3 pushes) wait for
//! [`DedicatedConnection::next_frame`]. Does not own: resetting the connection before it
//! is pooled again (the [`Pool`](crate::Pool)), or the high-level PubSub and MONITOR streams
//! ([`crate::pubsub`], which take connections of their own).

use std::collections::VecDeque;
use std::fmt;

use bytes::Bytes;
use tokio::sync::Mutex;

use crate::batch::{Batch, BatchFuture};
use crate::client::Client;
use crate::cmd::{check_batch, Args};
use crate::error::{Error, Result, UsageKind};
use crate::exec::Handle;
use crate::meta::{self, CommandMeta, ConnectionState, ReplyMode, StateEffect, StateKind};
use crate::observe;
use crate::pipeline::Pipeline;
use crate::pool::PooledConnection;
use crate::pubsub::{frame_kind, MonitorEvent, SubscriptionKind};
use crate::value::Value;

/// How many frames that are not replies (PubSub messages, MONITOR lines, pushes) wait
/// for [`DedicatedConnection::next_frame`] before the oldest are dropped.
pub const MAX_WAITING_FRAMES: usize = 4096;

/// A connection of the pool owned by one caller; see the [module docs](self).
///
/// Every generated command works on `&conn`, the connection-state ones included, one at
/// a time (concurrent callers of one handle take turns). When it is dropped, a
/// connection whose state a command changed is reset (`RESET`, then the client's
/// handshake: protocol, user, name, database, `READONLY`) before the pool hands it out
/// again; one whose state is unknown (a command cut short by cancellation, a connection
/// error) is closed.
pub struct DedicatedConnection {
    inner: Mutex<Owned>,
    /// What spans and metrics name this connection.
    site: std::sync::Arc<observe::Site>,
}

impl fmt::Debug for DedicatedConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DedicatedConnection")
            .finish_non_exhaustive()
    }
}

/// Whether the server answers the next commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Replies {
    On,
    Off,
    /// The next command is not answered, then replies are on again.
    SkipNext,
}

struct Owned {
    conn: PooledConnection,
    replies: Replies,
    /// `MULTI` succeeded and no `EXEC`/`DISCARD` followed.
    transaction: bool,
    /// `WATCH` succeeded and no `UNWATCH`/`EXEC`/`DISCARD` followed.
    watching: bool,
    /// `MONITOR` succeeded.
    monitoring: bool,
    /// Channels and patterns subscribed, as the server's last confirmation counted them.
    subscriptions: i64,
    /// Shard channels subscribed, likewise.
    shard_subscriptions: i64,
    /// Frames that are not replies, oldest first.
    frames: VecDeque<Value>,
    /// An exchange was started and not finished (its future was dropped, or the
    /// connection failed): replies may be pending, so the connection is unusable.
    interrupted: bool,
}

impl Client {
    /// A connection of your own, from the client's pool: every generated command works
    /// on it, also those that change the connection's state (`SELECT`, `CLIENT REPLY`,
    /// `MULTI`, `SUBSCRIBE`, `HELLO`, …), which the shared client refuses. Waits while
    /// `pool_max_size` connections are out, and while a Sentinel-backed client holds new
    /// commands during a failover. See [`DedicatedConnection`].
    pub async fn dedicated(&self) -> Result<DedicatedConnection> {
        self.hold().wait().await;
        Ok(DedicatedConnection::new(self.pool().get().await?))
    }
}

impl DedicatedConnection {
    /// Owns `conn`.
    pub fn new(conn: PooledConnection) -> DedicatedConnection {
        DedicatedConnection {
            site: conn.site(),
            inner: Mutex::new(Owned {
                conn,
                replies: Replies::On,
                transaction: false,
                watching: false,
                monitoring: false,
                subscriptions: 0,
                shard_subscriptions: 0,
                frames: VecDeque::new(),
                interrupted: false,
            }),
        }
    }

    /// Sends one raw command and waits for its reply (a top-level error reply as
    /// `Err(Error::Server)`), following the connection's state as the generated
    /// commands do.
    pub async fn send(&self, args: &Args) -> Result<Value> {
        self.run(args.clone(), None).await
    }

    /// Sends several commands in one write and returns their replies in order (error
    /// replies stay in the vector as [`Value::Error`]). Commands that change how the
    /// server replies (`CLIENT REPLY`, the `SUBSCRIBE` family, `MONITOR`) cannot be
    /// pipelined, nor can anything while replies are off.
    pub async fn send_many(&self, commands: &[Args]) -> Result<Vec<Value>> {
        check_batch(commands)?;
        let mut op = observe::Op::batch(&self.site, commands);
        let replies = self.send_many_unobserved(commands).await;
        op.end(&self.site, &replies);
        replies
    }

    async fn send_many_unobserved(&self, commands: &[Args]) -> Result<Vec<Value>> {
        let metas: Vec<Option<&'static CommandMeta>> = commands.iter().map(meta::of_args).collect();
        let mut o = self.inner.lock().await;
        o.usable()?;
        if o.replies != Replies::On {
            return Err(Error::usage(
                UsageKind::ChangesReplies,
                "the server does not reply on this connection now (CLIENT REPLY OFF or SKIP), and a pipeline reads one reply per command: send `CLIENT REPLY ON` first",
            ));
        }
        for m in metas.iter().flatten() {
            meta::check_one_reply(m, "a pipeline")?;
        }
        o.interrupted = true;
        o.conn.write(commands, true).await?;
        let mut replies = Vec::with_capacity(commands.len());
        for m in &metas {
            let reply = o.read_reply().await?;
            if let Some(m) = m.filter(|m| m.changes_connection()) {
                o.apply(m, !matches!(reply, Value::Error(_)));
            }
            replies.push(reply);
        }
        o.interrupted = false;
        Ok(replies)
    }

    /// The next frame that is not a reply: a PubSub message or (un)subscribe
    /// confirmation after `SUBSCRIBE`, a MONITOR line (parse it with
    /// [`MonitorEvent::parse`]), a RESP3 push (tracking invalidations, …). Waits for one
    /// if none is buffered; holds the connection while it waits, and is cancel-safe
    /// (wrap it in `tokio::time::timeout`). At most [`MAX_WAITING_FRAMES`] are kept.
    pub async fn next_frame(&self) -> Result<Value> {
        let mut o = self.inner.lock().await;
        o.usable()?;
        if let Some(f) = o.frames.pop_front() {
            return Ok(f);
        }
        o.conn.read_frame().await
    }

    /// A pipeline on this connection: commands sent together, replies decoded into a
    /// tuple (see [`Pipeline`]).
    pub fn pipeline(&self) -> Pipeline<'_, ()> {
        Pipeline::new(self)
    }

    /// A transaction on this connection: like [`pipeline`](Self::pipeline), wrapped in
    /// `MULTI … EXEC`.
    pub fn transaction(&self) -> Pipeline<'_, ()> {
        Pipeline::transaction(self)
    }

    /// Closes the connection instead of returning it to the pool.
    pub fn close(self) {
        let mut this = self;
        this.inner.get_mut().conn.discard();
    }

    /// Sends one command; `meta` when the caller has it, else looked up by name.
    async fn run(&self, args: Args, meta: Option<&'static CommandMeta>) -> Result<Value> {
        let mut op = observe::Op::command(&self.site, meta, &args);
        let reply = self.run_unobserved(args, meta).await;
        op.end(&self.site, &reply);
        reply
    }

    async fn run_unobserved(
        &self,
        mut args: Args,
        meta: Option<&'static CommandMeta>,
    ) -> Result<Value> {
        if let Some(e) = args.take_error() {
            return Err(e);
        }
        if args.is_empty() {
            return Err(Error::usage(UsageKind::EmptyCommand, "empty command"));
        }
        let meta = meta.or_else(|| meta::of_args(&args));
        let state = meta.and_then(|m| m.connection_state);
        // Only unknown raw commands pay for a copy of their name (for errors).
        let unknown = match meta {
            Some(_) => None,
            None => {
                Some(String::from_utf8_lossy(args.iter().next().unwrap_or_default()).into_owned())
            }
        };
        let name = || {
            meta.map(|m| m.name.to_owned())
                .or_else(|| unknown.clone())
                .unwrap_or_default()
        };
        let mut o = self.inner.lock().await;
        o.usable()?;
        if let Some(s) = state {
            if s.kind.changes_replies() && o.transaction {
                return Err(Error::usage(UsageKind::ChangesReplies, format!(
                    "`{}` changes how the server replies and cannot be queued in the transaction open on this connection: EXEC or DISCARD first",
                    name()
                )));
            }
        }
        let (answered, replies_after) = o.replies_for(state, &args);
        // Subscriptions are answered by confirmations, one per channel (or, with no
        // channel, one per subscription), as PubSub frames: a PING after the command
        // marks where they end.
        let confirmations = answered && state.is_some_and(|s| s.kind == StateKind::Subscriptions);
        o.interrupted = true;
        if confirmations {
            o.conn.write(&[args, command(b"PING")], true).await?;
        } else {
            o.conn.write(std::slice::from_ref(&args), answered).await?;
        }
        let reply = if confirmations {
            Some(o.read_confirmations().await?)
        } else if answered {
            Some(o.read_reply().await?)
        } else {
            None
        };
        o.interrupted = false;
        o.replies = replies_after;
        if let Some(m) = meta.filter(|m| m.changes_connection()) {
            o.apply(m, !matches!(reply, Some(Value::Error(_))));
        }
        match reply {
            Some(Value::Error(e)) => Err(Error::Server(e)),
            Some(v) => Ok(v),
            // `CLIENT REPLY OFF|SKIP` itself is never answered: that is its success.
            None if state.is_some_and(|s| s.kind == StateKind::ReplyMode) => {
                Ok(Value::SimpleString(Bytes::from_static(b"OK")))
            }
            None => Err(Error::NoReply { command: name() }),
        }
    }
}

fn command(name: &'static [u8]) -> Args {
    let mut a = Args::new();
    a.push_bytes(name);
    a
}

impl Owned {
    fn usable(&self) -> Result<()> {
        if self.interrupted {
            return Err(Error::ConnectionClosed(
                "an earlier command on this dedicated connection did not finish (cancelled, or the connection failed), so its replies are out of step; take a new connection".into(),
            ));
        }
        Ok(())
    }

    /// Whether the server answers a command with `state`, and the reply mode after it
    /// (the server's rules: `ON` is answered even after `OFF` or `SKIP`; `SKIP` while
    /// `OFF` stays off; `RESET` turns replies on before answering, except right after
    /// `SKIP`).
    fn replies_for(&self, state: Option<ConnectionState>, args: &Args) -> (bool, Replies) {
        let before = self.replies;
        let after_plain = match before {
            Replies::SkipNext => Replies::On,
            other => other,
        };
        let Some(state) = state else {
            return (before == Replies::On, after_plain);
        };
        match state.kind {
            StateKind::ReplyMode => {
                let argv: Vec<&[u8]> = args.iter().collect();
                match state.reply_mode_of(&argv) {
                    Some(ReplyMode::On) => (true, Replies::On),
                    Some(ReplyMode::Off) => (false, Replies::Off),
                    Some(ReplyMode::Skip) if before == Replies::Off => (false, Replies::Off),
                    Some(ReplyMode::Skip) => (false, Replies::SkipNext),
                    None => (before == Replies::On, after_plain),
                }
            }
            StateKind::Reset => (before != Replies::SkipNext, Replies::On),
            _ => (before == Replies::On, after_plain),
        }
    }

    /// Records what a connection-state command did (`ok`: it was not refused).
    fn apply(&mut self, meta: &'static CommandMeta, ok: bool) {
        let Some(state) = meta.connection_state else {
            return;
        };
        match (state.kind, state.effect) {
            (StateKind::Transaction, Some(StateEffect::Begin)) if ok => self.transaction = true,
            // EXEC and DISCARD also forget the watched keys.
            (StateKind::Transaction, Some(StateEffect::End)) => {
                self.transaction = false;
                self.watching = false;
            }
            (StateKind::Watch, Some(StateEffect::Begin)) if ok => self.watching = true,
            (StateKind::Watch, Some(StateEffect::End)) => self.watching = false,
            (StateKind::Transaction | StateKind::Watch, _) => {}
            (StateKind::Monitor, _) if ok => {
                self.monitoring = true;
                self.conn.record_state(meta, ok);
            }
            (StateKind::Reset, _) => {
                self.transaction = false;
                self.watching = false;
                self.monitoring = false;
                self.subscriptions = 0;
                self.shard_subscriptions = 0;
                self.conn.record_state(meta, ok);
            }
            _ => self.conn.record_state(meta, ok),
        }
    }

    fn subscribed(&self) -> bool {
        self.subscriptions > 0 || self.shard_subscriptions > 0
    }

    /// Whether `frame` answers a command, rather than being a PubSub message, a MONITOR
    /// line or a push.
    fn is_reply(&self, frame: &Value) -> bool {
        if frame.is_push() {
            return false;
        }
        match frame.unattributed() {
            Value::SimpleString(line) if self.monitoring => MonitorEvent::parse(line).is_err(),
            // RESP2 sends PubSub frames as arrays; only a subscribed connection gets them.
            f @ Value::Array(_) if self.subscribed() => frame_kind(f).is_none(),
            _ => true,
        }
    }

    fn keep(&mut self, frame: Value) {
        if self.frames.len() >= MAX_WAITING_FRAMES {
            self.frames.pop_front();
        }
        self.frames.push_back(frame);
    }

    /// The next reply; frames that are not replies are kept for `next_frame`.
    async fn read_reply(&mut self) -> Result<Value> {
        loop {
            let frame = self.conn.read_frame().await?;
            if self.is_reply(&frame) {
                return Ok(frame);
            }
            self.keep(frame);
        }
    }

    /// The confirmations of a (un)subscribe command, up to the reply of the `PING`
    /// written after it: an array of them, or the command's error reply.
    async fn read_confirmations(&mut self) -> Result<Value> {
        let mut confirmations = Vec::new();
        let mut error = None;
        loop {
            let frame = self.conn.read_frame().await?;
            if let Some(kind) = frame_kind(&frame) {
                match kind.confirms() {
                    Some((namespace, _)) => {
                        if let Some(count) = confirmation_count(&frame) {
                            if namespace == SubscriptionKind::Shard {
                                self.shard_subscriptions = count;
                            } else {
                                self.subscriptions = count;
                            }
                        }
                        confirmations.push(frame);
                    }
                    None => self.keep(frame),
                }
                continue;
            }
            match frame {
                f if is_pong(&f) => break,
                Value::Error(e) if error.is_none() => error = Some(Value::Error(e)),
                other => self.keep(other),
            }
        }
        Ok(error.unwrap_or(Value::Array(confirmations)))
    }
}

/// The subscription count of a confirmation (`[kind, name, count]`).
fn confirmation_count(frame: &Value) -> Option<i64> {
    match frame.unattributed() {
        Value::Push(items) | Value::Array(items) => match items.get(2) {
            Some(Value::Int(n)) => Some(*n),
            _ => None,
        },
        _ => None,
    }
}

/// `PONG`, or `["pong", ""]` on a RESP2 connection with subscriptions.
fn is_pong(frame: &Value) -> bool {
    match frame.unattributed() {
        Value::SimpleString(s) => s.eq_ignore_ascii_case(b"PONG"),
        Value::Array(items) => matches!(
            items.first(),
            Some(Value::Bulk(b) | Value::SimpleString(b)) if b.eq_ignore_ascii_case(b"pong")
        ),
        _ => false,
    }
}

impl Drop for DedicatedConnection {
    fn drop(&mut self) {
        let o = self.inner.get_mut();
        // A transaction or WATCH that was left open must not reach the next borrower.
        if o.transaction || o.watching {
            o.conn.mark_state_changed();
        }
    }
}

/// Every generated command, sent on this connection.
impl<'a> Handle for &'a DedicatedConnection {
    crate::exec::boxed_handle!('a);

    fn execute(self, args: Args, meta: Option<&'static CommandMeta>) -> Self::Future {
        Box::pin(self.run(args, meta))
    }

    fn execute_batch<'s>(self, batch: Batch) -> BatchFuture<'s>
    where
        Self: 's,
    {
        Box::pin(async move { self.send_many(&batch.into_commands()).await })
    }

    fn shares_connection(self) -> bool {
        false
    }
}

impl crate::exec::sealed::Sealed for &DedicatedConnection {}
impl crate::exec::OwnsConnection for &DedicatedConnection {}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn handles_are_thread_safe() {
        assert_send_sync::<DedicatedConnection>();
    }

    #[test]
    fn pong_in_both_shapes() {
        assert!(is_pong(&Value::SimpleString("PONG".into())));
        assert!(is_pong(&Value::Array(vec![
            Value::Bulk("pong".into()),
            Value::Bulk("".into())
        ])));
        assert!(!is_pong(&Value::Bulk("PONG".into())));
        assert!(!is_pong(&Value::Array(vec![
            Value::Bulk("message".into()),
            Value::Bulk("pong".into())
        ])));
    }
}
