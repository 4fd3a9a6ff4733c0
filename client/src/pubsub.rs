//! PubSub: subscriptions as `Stream`s of [`Message`], handlers, and resubscription after
//! a lost connection.
//!
//! Owns: the dedicated subscriber connection (taken from the client's pool, never
//! returned to it), the client-side record of every channel, pattern and shard channel
//! subscribed, the background task that reads the connection, and the reconnect loop.
//! Does not own: publishing (an ordinary command on the shared client) or the
//! `PUBSUB CHANNELS/NUMSUB/…` introspection commands (generated, like every command).
//! The generated `SUBSCRIBE` family compiles only on handles that own their connection;
//! on a [`DedicatedConnection`](crate::DedicatedConnection) its confirmations are the
//! reply and messages wait for `next_frame` — a [`Subscription`] is the stream of them.
//!
//! ```no_run
//! # async fn f() -> typedis::Result<()> {
//! use futures_util::StreamExt;
//! let client = typedis::Client::connect("redis://127.0.0.1:6379").await?;
//! let mut sub = client.subscribe(["news", "alerts"]).await?;
//! sub.psubscribe(["user:*"]).await?;
//! client.cmd("PUBLISH").arg("news").arg("hello").await?;
//! while let Some(msg) = sub.next().await {
//!     if msg.is_data() {
//!         println!("{:?} on {:?}", msg.payload(), msg.channel());
//!         break;
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! # Keyspace notifications
//! Enable them on the server, then subscribe to the `__keyspace@<db>__:` channels:
//! ```no_run
//! # async fn f() -> typedis::Result<()> {
//! use futures_util::StreamExt;
//! let client = typedis::Client::connect("redis://127.0.0.1:6379").await?;
//! client.cmd("CONFIG").arg("SET").arg("notify-keyspace-events").arg("KEA").await?;
//! let mut events = client.psubscribe(["__keyspace@0__:*"]).await?;
//! events.ignore_subscribe_messages(true);
//! client.cmd("SET").arg("watched").arg("1").await?;
//! let event = events.next().await.expect("subscription open");
//! assert_eq!(&event.channel()[..], b"__keyspace@0__:watched");
//! assert_eq!(&event.payload()[..], b"set");
//! # Ok(()) }
//! ```
//!
//! # Reconnection
//! When the subscriber connection is lost, the background task reconnects with backoff
//! and subscribes again to every channel, pattern and shard channel the subscription
//! had. The stream then yields a message of kind [`MessageKind::Reconnected`]: messages
//! published while the connection was down are lost (PubSub has no history).
//!
//! A subscriber connection that goes silent without closing (a half-open connection, a
//! paused server) is noticed with a `health_check_interval` (client setting or URL
//! option): when the connection has read nothing for the interval, the task sends a
//! `PING`; when nothing at all arrives within the health-check timeout after it, the
//! connection counts as lost, as above. Frames are told apart by what they are under
//! any RESP3 attributes.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::cmd::Args;
use crate::connection::Connection;
use crate::error::{Error, Result, TimeoutKind, UsageKind};
use crate::pool::Pool;
use crate::value::{FromValue, Value};

/// How many messages may wait between the reading task and a slow consumer before the
/// task stops reading (the server then buffers, up to its output-buffer limit).
const CHANNEL_CAPACITY: usize = 4096;

/// The three subscription namespaces of Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SubscriptionKind {
    /// `SUBSCRIBE` channels.
    Channel,
    /// `PSUBSCRIBE` glob patterns.
    Pattern,
    /// `SSUBSCRIBE` shard channels (Redis 7+).
    Shard,
}

impl SubscriptionKind {
    fn subscribe_command(self) -> &'static [u8] {
        match self {
            SubscriptionKind::Channel => b"SUBSCRIBE",
            SubscriptionKind::Pattern => b"PSUBSCRIBE",
            SubscriptionKind::Shard => b"SSUBSCRIBE",
        }
    }

    fn unsubscribe_command(self) -> &'static [u8] {
        match self {
            SubscriptionKind::Channel => b"UNSUBSCRIBE",
            SubscriptionKind::Pattern => b"PUNSUBSCRIBE",
            SubscriptionKind::Shard => b"SUNSUBSCRIBE",
        }
    }
}

/// What a [`Message`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MessageKind {
    /// A message published to a subscribed channel.
    Message,
    /// A message published to a channel matching a subscribed pattern.
    PMessage,
    /// A message published to a subscribed shard channel.
    SMessage,
    /// Confirmation of `SUBSCRIBE`.
    Subscribe,
    /// Confirmation of `UNSUBSCRIBE`.
    Unsubscribe,
    /// Confirmation of `PSUBSCRIBE`.
    PSubscribe,
    /// Confirmation of `PUNSUBSCRIBE`.
    PUnsubscribe,
    /// Confirmation of `SSUBSCRIBE`.
    SSubscribe,
    /// Confirmation of `SUNSUBSCRIBE`.
    SUnsubscribe,
    /// The connection was lost and re-established, and every channel and pattern was
    /// subscribed again. Messages published in between may have been missed.
    Reconnected,
}

impl MessageKind {
    fn parse(word: &[u8]) -> Option<MessageKind> {
        Some(match word {
            b"message" => MessageKind::Message,
            b"pmessage" => MessageKind::PMessage,
            b"smessage" => MessageKind::SMessage,
            b"subscribe" => MessageKind::Subscribe,
            b"unsubscribe" => MessageKind::Unsubscribe,
            b"psubscribe" => MessageKind::PSubscribe,
            b"punsubscribe" => MessageKind::PUnsubscribe,
            b"ssubscribe" => MessageKind::SSubscribe,
            b"sunsubscribe" => MessageKind::SUnsubscribe,
            _ => return None,
        })
    }

    /// The subscription namespace a confirmation is about, and whether it confirms a
    /// subscription (rather than its end).
    pub(crate) fn confirms(self) -> Option<(SubscriptionKind, bool)> {
        Some(match self {
            MessageKind::Subscribe => (SubscriptionKind::Channel, true),
            MessageKind::PSubscribe => (SubscriptionKind::Pattern, true),
            MessageKind::SSubscribe => (SubscriptionKind::Shard, true),
            MessageKind::Unsubscribe => (SubscriptionKind::Channel, false),
            MessageKind::PUnsubscribe => (SubscriptionKind::Pattern, false),
            MessageKind::SUnsubscribe => (SubscriptionKind::Shard, false),
            _ => return None,
        })
    }
}

/// One event of a subscription: a published message, a (un)subscribe confirmation, or
/// the [`MessageKind::Reconnected`] marker.
#[derive(Clone, PartialEq)]
pub struct Message {
    kind: MessageKind,
    channel: Bytes,
    pattern: Option<Bytes>,
    payload: Bytes,
    count: Option<i64>,
}

impl Message {
    /// Which handler a published message goes to: its channel's, its pattern's or its
    /// shard channel's (`None` for confirmations and markers).
    pub(crate) fn handler_key(&self) -> Option<(SubscriptionKind, Bytes)> {
        Some(match self.kind {
            MessageKind::Message => (SubscriptionKind::Channel, self.channel.clone()),
            MessageKind::PMessage => (
                SubscriptionKind::Pattern,
                self.pattern.clone().unwrap_or_default(),
            ),
            MessageKind::SMessage => (SubscriptionKind::Shard, self.channel.clone()),
            _ => return None,
        })
    }

    /// What this message is.
    pub fn kind(&self) -> MessageKind {
        self.kind
    }

    /// Whether this is published data (`message`, `pmessage` or `smessage`).
    pub fn is_data(&self) -> bool {
        matches!(
            self.kind,
            MessageKind::Message | MessageKind::PMessage | MessageKind::SMessage
        )
    }

    /// The channel the message was published to (or the channel / pattern a
    /// confirmation is about; empty for `Reconnected`).
    pub fn channel(&self) -> &Bytes {
        &self.channel
    }

    /// The pattern that matched, for `pmessage`.
    pub fn pattern(&self) -> Option<&Bytes> {
        self.pattern.as_ref()
    }

    /// The published payload (empty for confirmations and markers).
    pub fn payload(&self) -> &Bytes {
        &self.payload
    }

    /// For confirmations: how many subscriptions the connection has now.
    pub fn subscription_count(&self) -> Option<i64> {
        self.count
    }

    /// Decodes the payload into any [`FromValue`] type (as if it were a bulk reply).
    pub fn decode<T: FromValue>(&self) -> Result<T> {
        T::from_value(Value::Bulk(self.payload.clone()))
    }

    fn reconnected() -> Message {
        Message {
            kind: MessageKind::Reconnected,
            channel: Bytes::new(),
            pattern: None,
            payload: Bytes::new(),
            count: None,
        }
    }

    /// Parses a pubsub frame (RESP2 array or RESP3 push, attributes ignored). `None` for
    /// anything else.
    fn from_frame(frame: Value) -> Option<Message> {
        let items = match frame.into_unattributed() {
            Value::Push(items) | Value::Array(items) => items,
            _ => return None,
        };
        let mut it = items.into_iter();
        let kind = MessageKind::parse(&bytes_of(it.next()?)?)?;
        match kind {
            MessageKind::PMessage => {
                let pattern = bytes_of(it.next()?)?;
                let channel = bytes_of(it.next()?)?;
                let payload = bytes_of(it.next()?)?;
                Some(Message {
                    kind,
                    channel,
                    pattern: Some(pattern),
                    payload,
                    count: None,
                })
            }
            MessageKind::Message | MessageKind::SMessage => {
                let channel = bytes_of(it.next()?)?;
                let payload = bytes_of(it.next()?)?;
                Some(Message {
                    kind,
                    channel,
                    pattern: None,
                    payload,
                    count: None,
                })
            }
            _ => {
                // Confirmations: [kind, channel-or-nil, count].
                let channel = it.next().and_then(bytes_of).unwrap_or_default();
                let count = match it.next() {
                    Some(Value::Int(n)) => Some(n),
                    _ => None,
                };
                Some(Message {
                    kind,
                    channel,
                    pattern: None,
                    payload: Bytes::new(),
                    count,
                })
            }
        }
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Message");
        d.field("kind", &self.kind)
            .field("channel", &String::from_utf8_lossy(&self.channel));
        if let Some(p) = &self.pattern {
            d.field("pattern", &String::from_utf8_lossy(p));
        }
        if self.is_data() {
            d.field("payload", &String::from_utf8_lossy(&self.payload));
        }
        if let Some(c) = self.count {
            d.field("count", &c);
        }
        d.finish()
    }
}

/// The kind of a PubSub frame (a RESP2 array or RESP3 push whose first element names
/// it, attributes ignored), without taking the frame apart.
pub(crate) fn frame_kind(frame: &Value) -> Option<MessageKind> {
    let items = match frame.unattributed() {
        Value::Push(items) | Value::Array(items) => items,
        _ => return None,
    };
    match items.first()? {
        Value::Bulk(b) | Value::SimpleString(b) => MessageKind::parse(b),
        _ => None,
    }
}

fn bytes_of(v: Value) -> Option<Bytes> {
    match v {
        Value::Bulk(b) | Value::SimpleString(b) | Value::Verbatim { text: b, .. } => Some(b),
        Value::Int(n) => Some(Bytes::from(n.to_string())),
        _ => None,
    }
}

/// Requests from the [`Subscription`] handle to its reading task.
enum Control {
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

    async fn add<I, C>(&mut self, kind: SubscriptionKind, names: I) -> Result<()>
    where
        I: IntoIterator<Item = C>,
        C: AsRef<[u8]>,
    {
        let names: Vec<Bytes> = names
            .into_iter()
            .map(|n| Bytes::copy_from_slice(n.as_ref()))
            .collect();
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
        let names: Vec<Bytes> = names
            .into_iter()
            .map(|n| Bytes::copy_from_slice(n.as_ref()))
            .collect();
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

    /// Registers a handler for messages on `channel` (subscribe to it separately).
    pub fn on_message(
        &mut self,
        channel: impl AsRef<[u8]>,
        handler: impl FnMut(Message) -> Result<()> + Send + 'static,
    ) -> &mut Self {
        self.on(SubscriptionKind::Channel, channel, handler)
    }

    /// Registers a handler for messages matching `pattern`.
    pub fn on_pattern(
        &mut self,
        pattern: impl AsRef<[u8]>,
        handler: impl FnMut(Message) -> Result<()> + Send + 'static,
    ) -> &mut Self {
        self.on(SubscriptionKind::Pattern, pattern, handler)
    }

    /// Registers a handler for messages on shard channel `channel`.
    pub fn on_shard_message(
        &mut self,
        channel: impl AsRef<[u8]>,
        handler: impl FnMut(Message) -> Result<()> + Send + 'static,
    ) -> &mut Self {
        self.on(SubscriptionKind::Shard, channel, handler)
    }

    /// Runs the handlers on a background task (redis-py's `run_in_thread`) until the
    /// returned handle is stopped. Errors returned by handlers go to `on_error`.
    ///
    /// Fails at once, as redis-py does, when something is subscribed that has no handler.
    pub fn run(
        mut self,
        mut on_error: impl FnMut(Error) + Send + 'static,
    ) -> Result<HandlerRunner> {
        check_handlers(&self.subscribed, &self.handlers)?;
        let (stop, mut stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let mut handled = 0u64;
            loop {
                let msg = match first(&mut stopped, next_message(&mut self)).await {
                    First::A(_) | First::B(None) => break,
                    First::B(Some(m)) => m,
                };
                let Some(key) = msg.handler_key() else {
                    continue;
                };
                if let Some(h) = self.handlers.get_mut(&key) {
                    handled += 1;
                    if let Err(e) = h(msg) {
                        on_error(e);
                    }
                }
            }
            (self, handled)
        });
        Ok(HandlerRunner { stop, task })
    }
}

/// Fails, as redis-py does, when something is subscribed that has no handler.
pub(crate) fn check_handlers(
    subscribed: &BTreeSet<(SubscriptionKind, Bytes)>,
    handlers: &HashMap<(SubscriptionKind, Bytes), Handler>,
) -> Result<()> {
    match subscribed.iter().find(|key| !handlers.contains_key(key)) {
        Some((kind, name)) => Err(Error::usage(UsageKind::NoHandler, format!(
            "{kind:?} {:?} is subscribed but has no handler; register one with on_message / on_pattern / on_shard_message before run()",
            String::from_utf8_lossy(name)
        ))),
        None => Ok(()),
    }
}

async fn next_message(sub: &mut Subscription) -> Option<Message> {
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

// ------------------------------------------------------------------ reading task

/// Opens a subscriber connection to the node it should go to now.
pub(crate) type ConnectionResolver = std::sync::Arc<
    dyn Fn() -> Pin<Box<dyn Future<Output = Result<Connection>> + Send>> + Send + Sync,
>;

/// Where the subscriber connection comes from.
enum Source {
    Pool(Pool),
    Resolve(ConnectionResolver),
}

impl Source {
    async fn connect(&self) -> Result<Connection> {
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

async fn write_command(conn: &mut Connection, verb: &[u8], names: &[Bytes]) -> Result<()> {
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

async fn run(
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

/// One command seen by `MONITOR`.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorEvent {
    /// Server time of the command, in seconds since the Unix epoch.
    pub timestamp: f64,
    /// The database the command ran in.
    pub db: i64,
    /// Who sent it: `ip:port`, `unix:/path`, or `lua` for scripts.
    pub client: String,
    /// The command name and arguments, unescaped, as bytes.
    pub args: Vec<Bytes>,
}

impl MonitorEvent {
    /// Parses a MONITOR line: `1339518083.107412 [0 127.0.0.1:60866] "keys" "*"`.
    pub fn parse(line: &[u8]) -> Result<MonitorEvent> {
        let bad = || {
            Error::Protocol(format!(
                "unexpected MONITOR line {:?}",
                String::from_utf8_lossy(&line[..line.len().min(120)])
            ))
        };
        let text = line;
        let space = text.iter().position(|&b| b == b' ').ok_or_else(bad)?;
        let timestamp: f64 = std::str::from_utf8(&text[..space])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(bad)?;
        let rest = &text[space + 1..];
        let rest = rest.strip_prefix(b"[").ok_or_else(bad)?;
        let close = rest.iter().position(|&b| b == b']').ok_or_else(bad)?;
        let origin = std::str::from_utf8(&rest[..close]).map_err(|_| bad())?;
        let (db, client) = origin.split_once(' ').ok_or_else(bad)?;
        let db: i64 = db.parse().map_err(|_| bad())?;
        let args = parse_quoted(&rest[close + 1..]).ok_or_else(bad)?;
        Ok(MonitorEvent {
            timestamp,
            db,
            client: client.to_owned(),
            args,
        })
    }
}

/// Parses space-separated `"…"` strings with the escapes Redis' `sdscatrepr` writes.
fn parse_quoted(mut s: &[u8]) -> Option<Vec<Bytes>> {
    let mut out = Vec::new();
    loop {
        while let [b' ', rest @ ..] = s {
            s = rest;
        }
        if s.is_empty() {
            return Some(out);
        }
        s = s.strip_prefix(b"\"")?;
        let mut arg = Vec::new();
        loop {
            match s {
                [b'"', rest @ ..] => {
                    s = rest;
                    break;
                }
                [b'\\', b'x', h, l, rest @ ..] => {
                    let hex = |c: u8| (c as char).to_digit(16);
                    arg.push((hex(*h)? * 16 + hex(*l)?) as u8);
                    s = rest;
                }
                [b'\\', c, rest @ ..] => {
                    arg.push(match c {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'a' => 7,
                        b'b' => 8,
                        other => *other,
                    });
                    s = rest;
                }
                [c, rest @ ..] => {
                    arg.push(*c);
                    s = rest;
                }
                [] => return None,
            }
        }
        out.push(Bytes::from(arg));
    }
}

/// A `MONITOR` session: a `Stream` of every command the server runs.
///
/// ```no_run
/// # async fn f() -> typedis::Result<()> {
/// use futures_util::StreamExt;
/// let client = typedis::Client::connect("redis://127.0.0.1:6379").await?;
/// let mut monitor = client.monitor().await?;
/// while let Some(event) = monitor.next().await {
///     let event = event?;
///     println!("db {} {} {:?}", event.db, event.client, event.args);
/// }
/// # Ok(()) }
/// ```
pub struct Monitor {
    rx: mpsc::Receiver<Result<MonitorEvent>>,
    task: JoinHandle<()>,
}

impl fmt::Debug for Monitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Monitor").finish_non_exhaustive()
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Monitor {
    pub(crate) async fn open(pool: &Pool) -> Result<Monitor> {
        let mut conn = open_connection(pool).await?;
        write_command(&mut conn, b"MONITOR", &[]).await?;
        match conn.read_reply().await?.into_unattributed() {
            Value::Error(e) => return Err(Error::Server(e)),
            Value::SimpleString(_) => {}
            other => {
                return Err(Error::Protocol(format!(
                    "unexpected reply to MONITOR: {}",
                    other.kind_name()
                )))
            }
        }
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let task = tokio::spawn(async move {
            loop {
                let event = match conn.read_reply().await.map(Value::into_unattributed) {
                    Ok(Value::SimpleString(line)) | Ok(Value::Bulk(line)) => {
                        MonitorEvent::parse(&line)
                    }
                    Ok(other) => Err(Error::Protocol(format!(
                        "unexpected MONITOR frame: {}",
                        other.kind_name()
                    ))),
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                };
                if tx.send(event).await.is_err() {
                    return;
                }
            }
        });
        Ok(Monitor { rx, task })
    }

    /// The next event (`None` after the connection failed and the error was yielded).
    pub async fn next_event(&mut self) -> Option<Result<MonitorEvent>> {
        self.rx.recv().await
    }
}

impl Stream for Monitor {
    type Item = Result<MonitorEvent>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
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

impl crate::Client {
    async fn subscribed<I, C>(&self, kind: SubscriptionKind, names: I) -> Result<Subscription>
    where
        I: IntoIterator<Item = C>,
        C: AsRef<[u8]>,
    {
        let mut sub = self.pubsub().await?;
        sub.add(kind, names).await?;
        Ok(sub)
    }

    /// Subscribes to channels on a dedicated connection; returns once the server
    /// confirmed them. See [`Subscription`].
    pub async fn subscribe<I, C>(&self, channels: I) -> Result<Subscription>
    where
        I: IntoIterator<Item = C>,
        C: AsRef<[u8]>,
    {
        self.subscribed(SubscriptionKind::Channel, channels).await
    }

    /// Subscribes to glob patterns on a dedicated connection. See [`Subscription`].
    pub async fn psubscribe<I, C>(&self, patterns: I) -> Result<Subscription>
    where
        I: IntoIterator<Item = C>,
        C: AsRef<[u8]>,
    {
        self.subscribed(SubscriptionKind::Pattern, patterns).await
    }

    /// Subscribes to shard channels (`SSUBSCRIBE`) on a dedicated connection.
    pub async fn ssubscribe<I, C>(&self, channels: I) -> Result<Subscription>
    where
        I: IntoIterator<Item = C>,
        C: AsRef<[u8]>,
    {
        self.subscribed(SubscriptionKind::Shard, channels).await
    }

    /// An empty subscription on a dedicated connection, to add channels and handlers to
    /// (redis-py's `client.pubsub()`).
    pub async fn pubsub(&self) -> Result<Subscription> {
        Subscription::open(self.pool().clone()).await
    }

    /// Starts `MONITOR` on a dedicated connection. See [`Monitor`].
    pub async fn monitor(&self) -> Result<Monitor> {
        Monitor::open(self.pool()).await
    }
}

/// Which of the two futures given to [`first`] completed.
enum First<A, B> {
    A(A),
    B(B),
}

/// Waits for whichever of two futures completes first, polling `a` first; the other one
/// is dropped, so both must be cancel-safe.
async fn first<A: Future, B: Future>(a: A, b: B) -> First<A::Output, B::Output> {
    let (mut a, mut b) = (std::pin::pin!(a), std::pin::pin!(b));
    std::future::poll_fn(|cx| {
        if let Poll::Ready(v) = a.as_mut().poll(cx) {
            return Poll::Ready(First::A(v));
        }
        if let Poll::Ready(v) = b.as_mut().poll(cx) {
            return Poll::Ready(First::B(v));
        }
        Poll::Pending
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::Bulk(Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn parses_messages_in_both_protocols() {
        let m = Message::from_frame(Value::Array(vec![bulk("message"), bulk("ch"), bulk("hi")]))
            .unwrap();
        assert_eq!(m.kind(), MessageKind::Message);
        assert_eq!(&m.payload()[..], b"hi");
        let m = Message::from_frame(Value::Push(vec![
            bulk("pmessage"),
            bulk("c*"),
            bulk("ch"),
            bulk("x"),
        ]))
        .unwrap();
        assert_eq!(m.pattern().map(|p| &p[..]), Some(&b"c*"[..]));
        assert_eq!(&m.channel()[..], b"ch");
        let m = Message::from_frame(Value::Push(vec![
            bulk("subscribe"),
            bulk("ch"),
            Value::Int(3),
        ]))
        .unwrap();
        assert_eq!(m.subscription_count(), Some(3));
        let m = Message::from_frame(Value::Array(vec![
            bulk("unsubscribe"),
            Value::Nil,
            Value::Int(0),
        ]))
        .unwrap();
        assert_eq!(m.kind(), MessageKind::Unsubscribe);
        assert!(Message::from_frame(Value::Int(1)).is_none());
    }

    #[test]
    fn parses_monitor_lines() {
        let e = MonitorEvent::parse(
            br#"1339518083.107412 [0 127.0.0.1:60866] "set" "k\"ey" "a\x00b\n""#,
        )
        .unwrap();
        assert_eq!(e.db, 0);
        assert_eq!(e.client, "127.0.0.1:60866");
        assert_eq!(
            e.args,
            vec![
                Bytes::from("set"),
                Bytes::from("k\"ey"),
                Bytes::from(&b"a\x00b\n"[..])
            ]
        );
        let e = MonitorEvent::parse(br#"1.5 [3 lua] "get" "x""#).unwrap();
        assert_eq!((e.db, e.client.as_str()), (3, "lua"));
        assert!(MonitorEvent::parse(b"garbage").is_err());
        assert!(MonitorEvent::parse(br#"1.0 [0 x] "unterminated"#).is_err());
    }
}
