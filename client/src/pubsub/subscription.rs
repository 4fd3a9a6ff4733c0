//! The [`Subscription`] handle: subscribing and leaving (each subscribe waits for the
//! server's confirmation), the client-side record of what is subscribed, reading
//! messages (`Stream`, [`get_message`](Subscription::get_message)), and the handlers
//! (`on_message` …, [`Subscription::run`], [`HandlerRunner`]). Does not own the
//! connection: the reading task (`task.rs`) does.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::task::{run, ConnectionResolver, Control, Source};
use super::{first, First, Message, SubscriptionKind, CHANNEL_CAPACITY};
use crate::error::{Error, Result, UsageKind};
use crate::pool::Pool;

/// A subscription: a `Stream` of [`Message`]s on a dedicated connection.
///
/// Created by [`Client::subscribe`](crate::Client::subscribe),
/// [`psubscribe`](crate::Client::psubscribe) or [`ssubscribe`](crate::Client::ssubscribe);
/// more channels can be added or removed at any time. Dropping it closes the
/// connection.
pub struct Subscription {
    rx: mpsc::Receiver<Message>,
    ctl: mpsc::UnboundedSender<Control>,
    /// Messages received while waiting for a confirmation; yielded first.
    buffered: VecDeque<Message>,
    ignore_subscribe_messages: bool,
    /// The client-side record of what is subscribed (what is resubscribed, and what
    /// the handler runner checks).
    pub(crate) subscribed: BTreeSet<(SubscriptionKind, Bytes)>,
    handlers: HashMap<(SubscriptionKind, Bytes), Handler>,
    task: JoinHandle<()>,
}

/// A message handler for [`Subscription::on_message`] and friends.
pub type Handler = Box<dyn FnMut(Message) -> Result<()> + Send + 'static>;

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("subscribed", &self.subscribed.len())
            .field("buffered", &self.buffered.len())
            .finish_non_exhaustive()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Subscription {
    /// Opens a subscriber connection from `pool`. The subscription is empty until one of
    /// the subscribe methods is called.
    pub(crate) async fn open(pool: Pool) -> Result<Subscription> {
        Subscription::open_from(Source::Pool(pool)).await
    }

    /// Opens a subscriber connection with `resolve`, asked again before every
    /// reconnection (cluster: a connection to the current owner of a shard channel's
    /// slot).
    pub(crate) async fn open_resolved(resolve: ConnectionResolver) -> Result<Subscription> {
        Subscription::open_from(Source::Resolve(resolve)).await
    }

    async fn open_from(source: Source) -> Result<Subscription> {
        let conn = source.connect().await?;
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let (ctl, ctl_rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(source, conn, tx, ctl_rx));
        Ok(Subscription {
            rx,
            ctl,
            buffered: VecDeque::new(),
            ignore_subscribe_messages: false,
            subscribed: BTreeSet::new(),
            handlers: HashMap::new(),
            task,
        })
    }

    /// Whether (un)subscribe confirmations are hidden from the stream and
    /// [`get_message`](Self::get_message) (default: shown, as in redis-py).
    pub fn ignore_subscribe_messages(&mut self, ignore: bool) -> &mut Self {
        self.ignore_subscribe_messages = ignore;
        self
    }

    /// Subscribes to more channels; returns once the server confirmed all of them.
    pub async fn subscribe<I, C>(&mut self, channels: I) -> Result<()>
    where
        I: IntoIterator<Item = C>,
        C: AsRef<[u8]>,
    {
        self.add(SubscriptionKind::Channel, channels).await
    }

    /// Subscribes to glob patterns (`news.*`).
    pub async fn psubscribe<I, C>(&mut self, patterns: I) -> Result<()>
    where
        I: IntoIterator<Item = C>,
        C: AsRef<[u8]>,
    {
        self.add(SubscriptionKind::Pattern, patterns).await
    }

    /// Subscribes to shard channels (`SSUBSCRIBE`, Redis 7+). On a single server every
    /// shard channel lives on that server.
    pub async fn ssubscribe<I, C>(&mut self, channels: I) -> Result<()>
    where
        I: IntoIterator<Item = C>,
        C: AsRef<[u8]>,
    {
        self.add(SubscriptionKind::Shard, channels).await
    }

    /// Leaves channels; with no channels, leaves every channel (not patterns).
    pub fn unsubscribe<I, C>(&mut self, channels: I) -> Result<()>
    where
        I: IntoIterator<Item = C>,
        C: AsRef<[u8]>,
    {
        self.remove(SubscriptionKind::Channel, channels)
    }

    /// Leaves patterns; with no patterns, leaves every pattern.
    pub fn punsubscribe<I, C>(&mut self, patterns: I) -> Result<()>
    where
        I: IntoIterator<Item = C>,
        C: AsRef<[u8]>,
    {
        self.remove(SubscriptionKind::Pattern, patterns)
    }

    /// Leaves shard channels; with none given, leaves every shard channel.
    pub fn sunsubscribe<I, C>(&mut self, channels: I) -> Result<()>
    where
        I: IntoIterator<Item = C>,
        C: AsRef<[u8]>,
    {
        self.remove(SubscriptionKind::Shard, channels)
    }

    /// What this subscription is subscribed to, as the client recorded it.
    pub fn subscriptions(&self) -> impl Iterator<Item = (SubscriptionKind, &Bytes)> {
        self.subscribed.iter().map(|(k, n)| (*k, n))
    }

    pub(super) async fn add<I, C>(&mut self, kind: SubscriptionKind, names: I) -> Result<()>
    where
        I: IntoIterator<Item = C>,
        C: AsRef<[u8]>,
    {
        let names = owned(names);
        if names.is_empty() {
            return Err(Error::usage(
                UsageKind::MissingArgument,
                "subscribe needs at least one channel or pattern",
            ));
        }
        let (done, mut confirmed) = oneshot::channel();
        self.ctl
            .send(Control::Subscribe {
                kind,
                names: names.clone(),
                done,
            })
            .map_err(|_| closed())?;
        for n in &names {
            self.subscribed.insert((kind, n.clone()));
        }
        // Keep draining the message channel while waiting, so a full channel cannot
        // stop the task from reading the confirmation.
        loop {
            match first(&mut confirmed, self.rx.recv()).await {
                First::A(r) => {
                    let r = r.map_err(|_| closed()).and_then(|r| r);
                    if r.is_err() {
                        for n in names {
                            self.subscribed.remove(&(kind, n));
                        }
                    }
                    return r;
                }
                First::B(m) => match m {
                    Some(m) => self.buffered.push_back(m),
                    None => return Err(closed()),
                },
            }
        }
    }

    fn remove<I, C>(&mut self, kind: SubscriptionKind, names: I) -> Result<()>
    where
        I: IntoIterator<Item = C>,
        C: AsRef<[u8]>,
    {
        let names = owned(names);
        if names.is_empty() {
            self.subscribed.retain(|(k, _)| *k != kind);
        } else {
            for n in &names {
                self.subscribed.remove(&(kind, n.clone()));
            }
        }
        self.ctl
            .send(Control::Unsubscribe { kind, names })
            .map_err(|_| closed())
    }

    fn keep(&self, m: &Message) -> bool {
        !(self.ignore_subscribe_messages && m.kind.confirms().is_some())
    }

    /// The next message if one arrives within `timeout`; with `Duration::ZERO`, only a
    /// message that is already waiting (never blocks), as redis-py's `get_message()`.
    pub async fn get_message(&mut self, timeout: Duration) -> Option<Message> {
        while let Some(m) = self.buffered.pop_front() {
            if self.keep(&m) {
                return Some(m);
            }
        }
        if timeout.is_zero() {
            while let Ok(m) = self.rx.try_recv() {
                if self.keep(&m) {
                    return Some(m);
                }
            }
            return None;
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(m)) if self.keep(&m) => return Some(m),
                Ok(Some(_)) => continue,
                Ok(None) | Err(_) => return None,
            }
        }
    }

    /// Registers a handler for `kind`/`name` (subscribe to it separately).
    pub fn on(
        &mut self,
        kind: SubscriptionKind,
        name: impl AsRef<[u8]>,
        handler: impl FnMut(Message) -> Result<()> + Send + 'static,
    ) -> &mut Self {
        self.handlers.insert(
            (kind, Bytes::copy_from_slice(name.as_ref())),
            Box::new(handler),
        );
        self
    }

    super::handler_shorthands!();

    /// Runs the handlers on a background task (redis-py's `run_in_thread`) until the
    /// returned handle is stopped. Errors returned by handlers go to `on_error`.
    ///
    /// Fails at once, as redis-py does, when something is subscribed that has no handler.
    pub fn run(
        mut self,
        mut on_error: impl FnMut(Error) + Send + 'static,
    ) -> Result<HandlerRunner> {
        self.check_handlers()?;
        let (stop, mut stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let mut handled = 0u64;
            while let Some(msg) = self.next_unless(&mut stopped).await {
                handled += u64::from(self.handle(msg, &mut on_error));
            }
            (self, handled)
        });
        Ok(HandlerRunner { stop, task })
    }

    /// Fails, as redis-py does, when something is subscribed that has no handler.
    pub(crate) fn check_handlers(&self) -> Result<()> {
        match self.subscribed.iter().find(|key| !self.handlers.contains_key(key)) {
            Some((kind, name)) => Err(Error::usage(UsageKind::NoHandler, format!(
                "{kind:?} {:?} is subscribed but has no handler; register one with on_message / on_pattern / on_shard_message before run()",
                String::from_utf8_lossy(name)
            ))),
            None => Ok(()),
        }
    }

    /// The next message, or `None` once the subscription has stopped or `stopped`
    /// fired (or its sender is gone): what a handler runner waits for between messages.
    pub(crate) async fn next_unless(
        &mut self,
        stopped: &mut oneshot::Receiver<()>,
    ) -> Option<Message> {
        match first(stopped, next_message(self)).await {
            First::A(_) => None,
            First::B(m) => m,
        }
    }

    /// Gives `msg` to its handler, if it has one (whether it had); the handler's error
    /// goes to `on_error`.
    pub(crate) fn handle(&mut self, msg: Message, on_error: &mut impl FnMut(Error)) -> bool {
        let Some(h) = msg
            .handler_key()
            .and_then(|key| self.handlers.get_mut(&key))
        else {
            return false;
        };
        if let Err(e) = h(msg) {
            on_error(e);
        }
        true
    }
}

/// Channel or pattern names, owned.
fn owned<I, C>(names: I) -> Vec<Bytes>
where
    I: IntoIterator<Item = C>,
    C: AsRef<[u8]>,
{
    names
        .into_iter()
        .map(|n| Bytes::copy_from_slice(n.as_ref()))
        .collect()
}

/// The next message (`None` once the subscription has stopped).
pub(crate) async fn next_message(sub: &mut Subscription) -> Option<Message> {
    std::future::poll_fn(|cx| Pin::new(&mut *sub).poll_next(cx)).await
}

fn closed() -> Error {
    Error::ConnectionClosed("the subscription's background task has stopped".into())
}

impl Stream for Subscription {
    type Item = Message;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        let this = &mut *self;
        while let Some(m) = this.buffered.pop_front() {
            if this.keep(&m) {
                return Poll::Ready(Some(m));
            }
        }
        loop {
            match this.rx.poll_recv(cx) {
                Poll::Ready(Some(m)) if !this.keep(&m) => continue,
                other => return other,
            }
        }
    }
}

/// A running handler task, from [`Subscription::run`].
pub struct HandlerRunner {
    stop: oneshot::Sender<()>,
    task: JoinHandle<(Subscription, u64)>,
}

impl fmt::Debug for HandlerRunner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerRunner").finish_non_exhaustive()
    }
}

impl HandlerRunner {
    /// Stops the runner after the message being handled, and gives back the
    /// subscription and how many messages the handlers were given.
    pub async fn stop(self) -> Result<(Subscription, u64)> {
        let _ = self.stop.send(());
        self.task.await.map_err(|e| {
            Error::usage(
                UsageKind::HandlerPanicked,
                format!("a pubsub handler panicked: {e}"),
            )
        })
    }

    /// Whether the runner has ended (its subscription closed).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

impl Future for HandlerRunner {
    type Output = Result<(Subscription, u64)>;

    /// Waits for the runner to end by itself (its subscription closed).
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.task).poll(cx).map(|r| {
            r.map_err(|e| {
                Error::usage(
                    UsageKind::HandlerPanicked,
                    format!("a pubsub handler panicked: {e}"),
                )
            })
        })
    }
}
