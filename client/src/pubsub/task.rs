//! The reading task behind a [`Subscription`](super::Subscription): it owns the
//! subscriber connection, writes the (un)subscribe commands it is asked for, forwards
//! messages and confirmations, checks the connection's health when it goes quiet, and
//! reconnects and resubscribes to everything recorded when the connection is lost.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, oneshot};

use super::{first, First, Message, SubscriptionKind};
use crate::cmd::Args;
use crate::connection::Connection;
use crate::error::{Error, Result, TimeoutKind, UsageKind};
use crate::pool::Pool;
use crate::value::Value;

/// Requests from the [`Subscription`] handle to its reading task.
pub(super) enum Control {
    Subscribe {
        kind: SubscriptionKind,
        names: Vec<Bytes>,
        done: oneshot::Sender<Result<()>>,
    },
    Unsubscribe {
        kind: SubscriptionKind,
        names: Vec<Bytes>,
    },
}

/// Opens a subscriber connection to the node it should go to now.
pub(crate) type ConnectionResolver = std::sync::Arc<
    dyn Fn() -> Pin<Box<dyn Future<Output = Result<Connection>> + Send>> + Send + Sync,
>;

/// Where the subscriber connection comes from.
pub(super) enum Source {
    Pool(Pool),
    Resolve(ConnectionResolver),
}

impl Source {
    pub(super) async fn connect(&self) -> Result<Connection> {
        match self {
            Source::Pool(p) => open_connection(p).await,
            Source::Resolve(r) => r().await,
        }
    }
}

pub(crate) async fn open_connection(pool: &Pool) -> Result<Connection> {
    pool.get()
        .await?
        .into_connection()
        .ok_or_else(|| Error::usage(UsageKind::Closed, "the pool handed out an empty connection"))
}

pub(super) async fn write_command(
    conn: &mut Connection,
    verb: &[u8],
    names: &[Bytes],
) -> Result<()> {
    let mut args = Args::new();
    args.push_bytes(verb);
    for n in names {
        args.push_bytes(n);
    }
    let mut buf = BytesMut::new();
    args.write_command(&mut buf);
    conn.stream
        .write_all(&buf)
        .await
        .map_err(|e| Error::io("sending a subscribe command", e))
}

/// Sends the subscribe command for `names`; shard channels go out as one `SSUBSCRIBE`
/// per slot, since a cluster refuses shard channels of several slots in one command.
async fn write_subscribe(
    conn: &mut Connection,
    kind: SubscriptionKind,
    names: &[Bytes],
) -> Result<()> {
    if kind != SubscriptionKind::Shard {
        return write_command(conn, kind.subscribe_command(), names).await;
    }
    let mut by_slot: std::collections::BTreeMap<u16, Vec<Bytes>> = Default::default();
    for n in names {
        by_slot
            .entry(crate::keys::key_slot(n))
            .or_default()
            .push(n.clone());
    }
    for names in by_slot.values() {
        write_command(conn, kind.subscribe_command(), names).await?;
    }
    Ok(())
}

/// A subscribe request waiting for its confirmations.
struct Pending {
    kind: SubscriptionKind,
    remaining: BTreeSet<Bytes>,
    done: oneshot::Sender<Result<()>>,
}

/// The subscriber connection's health check (see "Reconnection" above): when it was last
/// heard from, and the PING sent since, if any. The timer is moved only when it fires, not
/// on every frame: a busy subscription costs one clock reading per frame.
struct Health {
    interval: Duration,
    timeout: Duration,
    timer: Pin<Box<tokio::time::Sleep>>,
    /// When the last frame arrived.
    heard: tokio::time::Instant,
    /// Bytes buffered at the last check: a frame still arriving is a sign of life too.
    buffered: usize,
    /// When the PING was sent, while it is unanswered.
    pinged: Option<tokio::time::Instant>,
}

impl Health {
    fn new(conn: &Connection) -> Option<Health> {
        let (interval, timeout) = conn.health_check?;
        let now = tokio::time::Instant::now();
        Some(Health {
            interval,
            timeout,
            timer: Box::pin(tokio::time::sleep_until(now + interval)),
            heard: now,
            buffered: conn.read_buf.len(),
            pinged: None,
        })
    }

    /// A frame arrived; `buffered` bytes are left after it.
    #[inline]
    fn heard(&mut self, buffered: usize) {
        self.heard = tokio::time::Instant::now();
        self.buffered = buffered;
        self.pinged = None;
    }

    /// The timer fired: PING, give up, or wait on. `Err` when the connection is dead.
    async fn check(&mut self, conn: &mut Connection) -> Result<()> {
        let now = tokio::time::Instant::now();
        if conn.read_buf.len() != self.buffered {
            self.buffered = conn.read_buf.len();
            self.heard = now;
            self.pinged = None;
        }
        let next = match self.pinged {
            Some(at) if now >= at + self.timeout => {
                return Err(Error::ConnectionClosed(format!(
                    "subscription health check: nothing arrived within {:?} of a PING (health_check_timeout)",
                    self.timeout
                )))
            }
            Some(at) => at + self.timeout,
            None if now >= self.heard + self.interval => {
                // A peer that stopped reading can block even this small write.
                tokio::time::timeout(self.timeout, write_command(conn, b"PING", &[]))
                    .await
                    .map_err(|_| {
                        Error::ConnectionClosed(format!(
                            "subscription health check: the PING could not be sent within {:?}",
                            self.timeout
                        ))
                    })??;
                self.pinged = Some(now);
                now + self.timeout
            }
            None => self.heard + self.interval,
        };
        self.timer.as_mut().reset(next);
        Ok(())
    }
}

/// Waits for the health-check timer, forever without one.
async fn health_timer(health: &mut Option<Health>) {
    match health {
        Some(h) => h.timer.as_mut().await,
        None => std::future::pending().await,
    }
}

/// What woke the subscriber task.
enum Event {
    Control(Option<Control>),
    Frame(Result<Value>),
    Timer,
}

pub(super) async fn run(
    source: Source,
    mut conn: Connection,
    tx: mpsc::Sender<Message>,
    mut ctl: mpsc::UnboundedReceiver<Control>,
) {
    let mut state: BTreeSet<(SubscriptionKind, Bytes)> = BTreeSet::new();
    let mut pending: Vec<Pending> = Vec::new();
    loop {
        let mut health = Health::new(&conn);
        // Connected: serve control requests and forward frames until the connection fails.
        let failure = loop {
            let event = match first(
                ctl.recv(),
                first(conn.read_frame(), health_timer(&mut health)),
            )
            .await
            {
                First::A(c) => Event::Control(c),
                First::B(First::A(f)) => Event::Frame(f),
                First::B(First::B(())) => Event::Timer,
            };
            match event {
                Event::Timer => {
                    if let Some(h) = &mut health {
                        if let Err(e) = h.check(&mut conn).await {
                            break e;
                        }
                    }
                }
                Event::Control(c) => {
                    let Some(c) = c else { return };
                    if let Err(e) = apply(&mut conn, c, &mut state, &mut pending).await {
                        break e;
                    }
                }
                Event::Frame(f) => match f {
                    Ok(frame) => {
                        if let Some(h) = &mut health {
                            h.heard(conn.read_buf.len());
                        }
                        if let Value::Error(e) = frame.unattributed() {
                            // e.g. a subscribe refused by ACLs: fail the oldest waiter, and
                            // forget its names so a reconnection does not ask again.
                            if !pending.is_empty() {
                                let p = pending.remove(0);
                                for n in &p.remaining {
                                    state.remove(&(p.kind, n.clone()));
                                }
                                let _ = p.done.send(Err(Error::Server(e.clone())));
                            }
                            continue;
                        }
                        let Some(msg) = Message::from_frame(frame) else {
                            continue;
                        };
                        // The server dropped a shard channel we did not leave (its slot
                        // moved, or the node stopped being a primary): resubscribe where
                        // the slot lives now.
                        let dropped =
                            matches!(msg.kind.confirms(), Some((SubscriptionKind::Shard, false)))
                                && state.contains(&(SubscriptionKind::Shard, msg.channel.clone()));
                        if let Some((kind, true)) = msg.kind.confirms() {
                            confirm(&mut pending, kind, &msg.channel);
                        }
                        if tx.send(msg).await.is_err() {
                            return;
                        }
                        if dropped {
                            break Error::ConnectionClosed(
                                "the server dropped a shard channel subscription".into(),
                            );
                        }
                    }
                    Err(e) => break e,
                },
            }
        };
        let _ = failure;
        // Reconnect with backoff, then subscribe again to everything.
        let mut delay = Duration::ZERO;
        conn = loop {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            delay = (delay * 2).clamp(Duration::from_millis(50), Duration::from_secs(2));
            if tx.is_closed() {
                return;
            }
            let Ok(mut c) = source.connect().await else {
                continue;
            };
            if resubscribe(&mut c, &state).await.is_ok() {
                let count = |k| state.iter().filter(|(kind, _)| *kind == k).count();
                crate::observe::resubscribed(
                    count(SubscriptionKind::Channel),
                    count(SubscriptionKind::Pattern),
                    count(SubscriptionKind::Shard),
                );
                break c;
            }
        };
        // The new connection is subscribed to everything recorded, including what
        // waiters were still waiting for: their confirmations were consumed above.
        for p in pending.drain(..) {
            let _ = p.done.send(Ok(()));
        }
        if tx.send(Message::reconnected()).await.is_err() {
            return;
        }
    }
}

async fn apply(
    conn: &mut Connection,
    c: Control,
    state: &mut BTreeSet<(SubscriptionKind, Bytes)>,
    pending: &mut Vec<Pending>,
) -> Result<()> {
    match c {
        Control::Subscribe { kind, names, done } => {
            for n in &names {
                state.insert((kind, n.clone()));
            }
            pending.push(Pending {
                kind,
                remaining: names.iter().cloned().collect(),
                done,
            });
            write_subscribe(conn, kind, &names).await
        }
        Control::Unsubscribe { kind, names } => {
            if names.is_empty() {
                state.retain(|(k, _)| *k != kind);
            } else {
                for n in &names {
                    state.remove(&(kind, n.clone()));
                }
            }
            write_command(conn, kind.unsubscribe_command(), &names).await
        }
    }
}

fn confirm(pending: &mut Vec<Pending>, kind: SubscriptionKind, name: &Bytes) {
    if let Some(i) = pending
        .iter()
        .position(|p| p.kind == kind && p.remaining.contains(name))
    {
        pending[i].remaining.remove(name);
        if pending[i].remaining.is_empty() {
            let p = pending.remove(i);
            let _ = p.done.send(Ok(()));
        }
    }
}

/// Subscribes a fresh connection to everything in `state` and waits for the
/// confirmations (other frames before them are dropped: nothing was subscribed yet).
async fn resubscribe(
    conn: &mut Connection,
    state: &BTreeSet<(SubscriptionKind, Bytes)>,
) -> Result<()> {
    let mut expected = 0usize;
    for kind in [
        SubscriptionKind::Channel,
        SubscriptionKind::Pattern,
        SubscriptionKind::Shard,
    ] {
        let names: Vec<Bytes> = state
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, n)| n.clone())
            .collect();
        if names.is_empty() {
            continue;
        }
        expected += names.len();
        write_subscribe(conn, kind, &names).await?;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while expected > 0 {
        let frame = tokio::time::timeout_at(deadline, conn.read_frame())
            .await
            .map_err(|_| Error::timeout(TimeoutKind::Subscribe, Duration::from_secs(5)))??;
        if let Value::Error(e) = frame.unattributed() {
            return Err(Error::Server(e.clone()));
        }
        if let Some(m) = Message::from_frame(frame) {
            if matches!(m.kind.confirms(), Some((_, true))) {
                expected -= 1;
            }
        }
    }
    Ok(())
}

// ------------------------------------------------------------------ monitor
