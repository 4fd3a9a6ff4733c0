//! PubSub and MONITOR on a blocking client, in redis-py's three reading styles: a
//! [`Subscription`] is an `Iterator` of messages (`listen`), has
//! [`get_message`](Subscription::get_message) with a timeout, and runs handlers on a
//! thread of its own ([`Subscription::run`], redis-py's `run_in_thread`).
//!
//! ```no_run
//! # fn f(client: &typedis::blocking::Client) -> typedis::Result<()> {
//! use std::time::Duration;
//! use typedis::prelude::*;
//! let mut sub = client.subscribe(["news"])?;
//! sub.ignore_subscribe_messages(true);
//! client.publish("news", "hello").run()?;
//! if let Some(msg) = sub.get_message(Duration::from_secs(1))? {
//!     println!("{:?} on {:?}", msg.payload(), msg.channel());
//! }
//! for msg in &mut sub {
//!     let msg = msg?;
//!     # let _ = msg; break;
//! }
//! # Ok(()) }
//! ```
//!
//! Owns: waiting for the async [`Subscription`](crate::pubsub::Subscription)'s messages,
//! and the handler thread. Does not own: the subscriber connection, resubscription after
//! a reconnect, the messages' shape (all in [`crate::pubsub`]).

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::oneshot;

use super::{Client, ClusterClient, Runtime};
use crate::error::{Error, Result, UsageKind};
use crate::pubsub::{Message, MonitorEvent, SubscriptionKind};

/// A subscription on a dedicated connection (as
/// [`crate::pubsub::Subscription`]): an `Iterator` of `Result<Message>` (an error only
/// when the call itself is refused, [`Error::BlockingInRuntime`], after which the
/// iterator ends; it ends too when the subscription's connection task has stopped). Dropping it closes the connection.
pub struct Subscription {
    inner: crate::pubsub::Subscription,
    rt: Arc<Runtime>,
    /// The iterator yielded an error, and ends.
    refused: bool,
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("blocking::Subscription")
            .field(&self.inner)
            .finish()
    }
}

impl Subscription {
    /// The subscription `open` makes, waited for on `rt`.
    fn opened(
        rt: &Arc<Runtime>,
        open: impl Future<Output = Result<crate::pubsub::Subscription>>,
    ) -> Result<Subscription> {
        let inner = rt.block_on(open)?;
        Ok(Subscription::new(inner, rt))
    }

    fn new(inner: crate::pubsub::Subscription, rt: &Arc<Runtime>) -> Subscription {
        Subscription {
            inner,
            rt: rt.clone(),
            refused: false,
        }
    }

    /// Whether (un)subscribe confirmations are hidden (default: shown, as in redis-py).
    pub fn ignore_subscribe_messages(&mut self, ignore: bool) -> &mut Self {
        self.inner.ignore_subscribe_messages(ignore);
        self
    }

    /// Subscribes to more channels; returns once the server confirmed all of them.
    pub fn subscribe<I, C>(&mut self, channels: I) -> Result<()>
    where
        I: IntoIterator<Item = C>,
        C: AsRef<[u8]>,
    {
        self.rt.block_on(self.inner.subscribe(channels))
    }

    /// Subscribes to glob patterns (`news.*`).
    pub fn psubscribe<I, C>(&mut self, patterns: I) -> Result<()>
    where
        I: IntoIterator<Item = C>,
        C: AsRef<[u8]>,
    {
        self.rt.block_on(self.inner.psubscribe(patterns))
    }

    /// Subscribes to shard channels (`SSUBSCRIBE`).
    pub fn ssubscribe<I, C>(&mut self, channels: I) -> Result<()>
    where
        I: IntoIterator<Item = C>,
        C: AsRef<[u8]>,
    {
        self.rt.block_on(self.inner.ssubscribe(channels))
    }

    /// Leaves channels; with no channels, leaves every channel (not patterns).
    pub fn unsubscribe<I, C>(&mut self, channels: I) -> Result<()>
    where
        I: IntoIterator<Item = C>,
        C: AsRef<[u8]>,
    {
        self.inner.unsubscribe(channels)
    }

    /// Leaves patterns; with no patterns, leaves every pattern.
    pub fn punsubscribe<I, C>(&mut self, patterns: I) -> Result<()>
    where
        I: IntoIterator<Item = C>,
        C: AsRef<[u8]>,
    {
        self.inner.punsubscribe(patterns)
    }

    /// Leaves shard channels; with none given, leaves every shard channel.
    pub fn sunsubscribe<I, C>(&mut self, channels: I) -> Result<()>
    where
        I: IntoIterator<Item = C>,
        C: AsRef<[u8]>,
    {
        self.inner.sunsubscribe(channels)
    }

    /// What this subscription is subscribed to, as the client recorded it.
    pub fn subscriptions(&self) -> impl Iterator<Item = (SubscriptionKind, &Bytes)> {
        self.inner.subscriptions()
    }

    /// The next message if one arrives within `timeout` (`Ok(None)` otherwise, or when
    /// the subscription has stopped); with `Duration::ZERO`, only a message that is
    /// already waiting, as redis-py's `get_message()`.
    pub fn get_message(&mut self, timeout: Duration) -> Result<Option<Message>> {
        let inner = &mut self.inner;
        self.rt
            .block_on(async move { Ok(inner.get_message(timeout).await) })
    }

    /// Registers a handler for `kind`/`name` (subscribe to it separately).
    pub fn on(
        &mut self,
        kind: SubscriptionKind,
        name: impl AsRef<[u8]>,
        handler: impl FnMut(Message) -> Result<()> + Send + 'static,
    ) -> &mut Self {
        self.inner.on(kind, name, handler);
        self
    }

    crate::pubsub::handler_shorthands!();

    /// Runs the handlers on a thread of their own (redis-py's `run_in_thread`) until the
    /// returned [`HandlerThread`] is stopped or dropped. Handlers may use blocking
    /// clients (the thread is no runtime's); errors they return go to `on_error`.
    ///
    /// Fails at once, as redis-py does, when something is subscribed that has no handler.
    pub fn run(
        mut self,
        mut on_error: impl FnMut(Error) + Send + 'static,
    ) -> Result<HandlerThread> {
        self.inner.check_handlers()?;
        let (stop, mut stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("typedis-pubsub-handlers".into())
            .spawn(move || {
                let mut handled = 0u64;
                loop {
                    let inner = &mut self.inner;
                    let stopped = &mut stopped;
                    // The wait runs on the runtime, the handler on this thread.
                    let next = self
                        .rt
                        .block_on(async move { Ok(inner.next_unless(stopped).await) });
                    let Ok(Some(msg)) = next else { break };
                    handled += u64::from(self.inner.handle(msg, &mut on_error));
                }
                (self, handled)
            })
            .map_err(|e| Error::io("starting the pubsub handler thread", e))?;
        Ok(HandlerThread {
            stop: Some(stop),
            thread,
        })
    }
}

impl Iterator for Subscription {
    type Item = Result<Message>;

    /// Waits for the next message (`None` once the subscription has stopped, or after
    /// an error).
    fn next(&mut self) -> Option<Result<Message>> {
        if self.refused {
            return None;
        }
        let inner = &mut self.inner;
        let next = self
            .rt
            .block_on(async move { Ok(crate::pubsub::next_message(inner).await) });
        self.refused = next.is_err();
        next.transpose()
    }
}

/// The thread running a subscription's handlers, from [`Subscription::run`]. Dropping it
/// stops the thread after the message being handled (without waiting for it).
pub struct HandlerThread {
    stop: Option<oneshot::Sender<()>>,
    thread: std::thread::JoinHandle<(Subscription, u64)>,
}

impl fmt::Debug for HandlerThread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerThread")
            .field("finished", &self.thread.is_finished())
            .finish_non_exhaustive()
    }
}

impl HandlerThread {
    /// Stops the thread after the message being handled, and gives back the
    /// subscription and how many messages the handlers were given.
    pub fn stop(mut self) -> Result<(Subscription, u64)> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.join()
    }

    /// Waits for the thread to end by itself (its subscription closed).
    pub fn join(self) -> Result<(Subscription, u64)> {
        super::outside_runtime()?;
        self.thread
            .join()
            .map_err(|_| Error::usage(UsageKind::HandlerPanicked, "a pubsub handler panicked"))
    }

    /// Whether the thread has ended (its subscription closed, or a handler panicked).
    pub fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }
}

/// A `MONITOR` stream on a dedicated connection (as [`crate::pubsub::Monitor`]): an
/// `Iterator` of every command the server runs, as [`MonitorEvent`]s.
pub struct Monitor {
    inner: crate::pubsub::Monitor,
    rt: Arc<Runtime>,
    done: bool,
}

impl fmt::Debug for Monitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("blocking::Monitor")
            .field(&self.inner)
            .finish()
    }
}

impl Monitor {
    /// The next event (`None` after the connection failed and the error was yielded).
    pub fn next_event(&mut self) -> Option<Result<MonitorEvent>> {
        self.next()
    }
}

impl Iterator for Monitor {
    type Item = Result<MonitorEvent>;

    fn next(&mut self) -> Option<Result<MonitorEvent>> {
        if self.done {
            return None;
        }
        let inner = &mut self.inner;
        match self
            .rt
            .block_on(async move { Ok(inner.next_event().await) })
        {
            Ok(event) => event,
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// The blocking forms of the async handle's methods that open a subscription on
/// channels or patterns (its method of the same name, waited for on the handle's
/// runtime), each with its docs.
macro_rules! opening {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        pub fn $name<I, C>(&self, names: I) -> Result<Subscription>
        where
            I: IntoIterator<Item = C>,
            C: AsRef<[u8]>,
        {
            Subscription::opened(&self.rt, self.inner.$name(names))
        }
    )*};
}

impl Client {
    opening! {
        /// Subscribes to channels on a dedicated connection; returns once the server
        /// confirmed them. See [`Subscription`].
        subscribe;
        /// Subscribes to glob patterns on a dedicated connection.
        psubscribe;
        /// Subscribes to shard channels (`SSUBSCRIBE`) on a dedicated connection.
        ssubscribe;
    }

    /// An empty subscription on a dedicated connection, to add channels and handlers to
    /// (redis-py's `client.pubsub()`).
    pub fn pubsub(&self) -> Result<Subscription> {
        Subscription::opened(&self.rt, self.inner.pubsub())
    }

    /// Starts `MONITOR` on a dedicated connection. See [`Monitor`].
    pub fn monitor(&self) -> Result<Monitor> {
        let inner = self.rt.block_on(self.inner.monitor())?;
        Ok(Monitor {
            inner,
            rt: self.rt.clone(),
            done: false,
        })
    }
}

impl ClusterClient {
    opening! {
        /// Classic PubSub through one node (as
        /// [`crate::cluster::ClusterClient::subscribe`]).
        subscribe;
        /// Glob patterns through one node.
        psubscribe;
    }

    /// An empty classic subscription through one node.
    pub fn pubsub(&self) -> Result<Subscription> {
        Subscription::opened(&self.rt, self.inner.pubsub())
    }
}
