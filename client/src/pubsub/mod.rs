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
//!
//! The parts: `message.rs` (what a subscription yields), `subscription.rs` (the handle:
//! subscribing, reading, handlers), `task.rs` (the reading task: the connection, its
//! health, reconnection), `monitor.rs` (`MONITOR`).

use std::future::Future;
use std::task::Poll;

use crate::error::Result;

mod message;
mod monitor;
mod subscription;
mod task;

pub(crate) use message::frame_kind;
pub use message::{Message, MessageKind, SubscriptionKind};
pub use monitor::{Monitor, MonitorEvent};
#[cfg(feature = "blocking")]
pub(crate) use subscription::next_message;
pub use subscription::{Handler, HandlerRunner, Subscription};
pub(crate) use task::{open_connection, ConnectionResolver};

/// How many messages may wait between the reading task and a slow consumer before the
/// task stops reading (the server then buffers, up to its output-buffer limit).
const CHANNEL_CAPACITY: usize = 4096;

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

/// `on_message`, `on_pattern` and `on_shard_message`: the shorthands of `on(kind, …)`
/// for each kind, written once for the async and the blocking subscription (each has
/// `on`).
macro_rules! handler_shorthands {
    () => {
        $crate::pubsub::handler_shorthands! {
            /// Registers a handler for messages on `channel` (subscribe to it separately).
            on_message(channel) => Channel;
            /// Registers a handler for messages matching `pattern`.
            on_pattern(pattern) => Pattern;
            /// Registers a handler for messages on shard channel `channel`.
            on_shard_message(channel) => Shard;
        }
    };
    ($($(#[$doc:meta])* $name:ident($arg:ident) => $kind:ident;)*) => {$(
        $(#[$doc])*
        pub fn $name(
            &mut self,
            $arg: impl AsRef<[u8]>,
            handler: impl FnMut($crate::pubsub::Message) -> $crate::error::Result<()>
                + Send
                + 'static,
        ) -> &mut Self {
            self.on($crate::pubsub::SubscriptionKind::$kind, $arg, handler)
        }
    )*};
}
pub(crate) use handler_shorthands;

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
