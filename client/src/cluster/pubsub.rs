//! PubSub on a cluster.
//!
//! Classic channels and patterns ([`ClusterClient::subscribe`],
//! [`ClusterClient::psubscribe`]) use one connection to one node: the cluster bus
//! delivers every `PUBLISH` to every node. After a lost connection the subscription
//! reconnects to the default node, or any reachable primary.
//!
//! Shard channels ([`ClusterClient::ssubscribe`]) live on the shard owning the
//! channel's slot; a [`ShardSubscription`] keeps one subscriber connection per slot in
//! use, each following its slot: when the server drops the subscription (the slot moved,
//! or a failover demoted the node) or the connection is lost, it refreshes the slot map
//! and subscribes again on the slot's current primary, then yields a
//! [`MessageKind::Reconnected`](crate::pubsub::MessageKind::Reconnected) marker. Keep
//! related shard channels in one slot with hash tags (`{room1}:chat`, `{room1}:typing`)
//! to share one connection.
//!
//! Owns: choosing and re-choosing the node of each subscriber connection, and merging
//! the per-slot streams. Does not own: the subscriber protocol ([`crate::pubsub`]).

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;

use super::ClusterClient;
use crate::connection::Connection;
use crate::error::{Error, Result, UsageKind};
use crate::keys::key_slot;
use crate::pubsub::{open_connection, ConnectionResolver, Message, Subscription};

impl ClusterClient {
    /// A subscriber connection for classic PubSub: to the default node, else the first
    /// primary that accepts one (refreshing the map once when none does).
    async fn pubsub_connection(&self) -> Result<Connection> {
        let mut tried = Vec::new();
        for round in 0..2 {
            if round > 0 {
                let _ = self.refresh().await;
            }
            let mut candidates: Vec<String> = self.default_node().into_iter().collect();
            candidates.extend(self.primaries());
            candidates.dedup();
            for addr in candidates {
                let conn = async { open_connection(self.node(&addr).await?.pool()).await };
                match conn.await {
                    Ok(c) => return Ok(c),
                    Err(e) => tried.push(format!("{addr} ({e})")),
                }
            }
        }
        Err(Error::Cluster(format!(
            "no node accepted a subscriber connection; tried: {}",
            tried.join(", ")
        )))
    }

    /// An empty classic subscription on one node (redis-py's `cluster.pubsub()`).
    pub async fn pubsub(&self) -> Result<Subscription> {
        let this = self.clone();
        let resolve: ConnectionResolver = Arc::new(move || {
            let this = this.clone();
            Box::pin(async move { this.pubsub_connection().await })
        });
        Subscription::open_resolved(resolve).await
    }

    /// Subscribes to channels (classic PubSub, through one node).
    pub async fn subscribe<I, C>(&self, channels: I) -> Result<Subscription>
    where
        I: IntoIterator<Item = C>,
        C: AsRef<[u8]>,
    {
        let mut sub = self.pubsub().await?;
        sub.subscribe(channels).await?;
        Ok(sub)
    }

    /// Subscribes to glob patterns (classic PubSub, through one node).
    pub async fn psubscribe<I, C>(&self, patterns: I) -> Result<Subscription>
    where
        I: IntoIterator<Item = C>,
        C: AsRef<[u8]>,
    {
        let mut sub = self.pubsub().await?;
        sub.psubscribe(patterns).await?;
        Ok(sub)
    }

    /// Subscribes to shard channels, each on the primary owning its slot; see
    /// [`ShardSubscription`].
    ///
    /// ```no_run
    /// # async fn f(cluster: &typedis::cluster::ClusterClient) -> typedis::Result<()> {
    /// use futures_util::StreamExt;
    /// use typedis::prelude::*;
    /// let mut sub = cluster.ssubscribe(["{room1}:chat", "{room2}:chat"]).await?;
    /// cluster.spublish("{room1}:chat", "hi").await?;
    /// while let Some(m) = sub.next().await {
    ///     if m.is_data() {
    ///         assert_eq!(&m.payload()[..], b"hi");
    ///         break;
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn ssubscribe<I, C>(&self, channels: I) -> Result<ShardSubscription>
    where
        I: IntoIterator<Item = C>,
        C: AsRef<[u8]>,
    {
        let mut sub = ShardSubscription {
            cluster: self.clone(),
            slots: BTreeMap::new(),
            next: 0,
            ignore_subscribe_messages: false,
        };
        sub.ssubscribe(channels).await?;
        Ok(sub)
    }
}

/// Shard-channel subscriptions on a cluster: a `Stream` of [`Message`]s merged from one
/// subscriber connection per slot.
///
/// Each connection follows its slot: when the server drops the subscription (the slot
/// moved, or a failover demoted the node) or the connection is lost, it refreshes the
/// slot map, subscribes again on the slot's current primary, and yields a
/// [`MessageKind::Reconnected`](crate::pubsub::MessageKind::Reconnected) marker
/// (messages published meanwhile are lost). Keep related shard channels in one slot
/// with hash tags (`{room1}:chat`, `{room1}:typing`) to share one connection.
pub struct ShardSubscription {
    cluster: ClusterClient,
    slots: BTreeMap<u16, Subscription>,
    next: usize,
    ignore_subscribe_messages: bool,
}

impl std::fmt::Debug for ShardSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShardSubscription")
            .field("slots", &self.slots.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl ShardSubscription {
    /// Whether (un)subscribe confirmations are hidden (default: shown).
    pub fn ignore_subscribe_messages(&mut self, ignore: bool) -> &mut Self {
        self.ignore_subscribe_messages = ignore;
        for s in self.slots.values_mut() {
            s.ignore_subscribe_messages(ignore);
        }
        self
    }

    /// Subscribes to more shard channels; returns once every owner confirmed.
    pub async fn ssubscribe<I, C>(&mut self, channels: I) -> Result<()>
    where
        I: IntoIterator<Item = C>,
        C: AsRef<[u8]>,
    {
        let mut by_slot: BTreeMap<u16, Vec<Bytes>> = BTreeMap::new();
        for c in channels {
            let c = Bytes::copy_from_slice(c.as_ref());
            by_slot.entry(key_slot(&c)).or_default().push(c);
        }
        if by_slot.is_empty() {
            return Err(Error::usage(
                UsageKind::MissingArgument,
                "ssubscribe needs at least one channel",
            ));
        }
        for (slot, names) in by_slot {
            if let Some(sub) = self.slots.get_mut(&slot) {
                sub.ssubscribe(&names).await?;
                continue;
            }
            let sub = self.open_slot(slot, &names).await?;
            self.slots.insert(slot, sub);
        }
        Ok(())
    }

    async fn open_slot(&self, slot: u16, names: &[Bytes]) -> Result<Subscription> {
        let cluster = self.cluster.clone();
        let first = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let resolve: ConnectionResolver = Arc::new(move || {
            let c = cluster.clone();
            let reconnecting = !first.swap(false, std::sync::atomic::Ordering::Relaxed);
            Box::pin(async move {
                // A reconnection usually means the slot moved: take the freshest map.
                if reconnecting {
                    let _ = c.refresh().await;
                }
                let addr = c
                    .primary_of(slot)
                    .ok_or_else(|| Error::Cluster(format!("no node serves slot {slot}")))?;
                let conn = async { open_connection(c.node(&addr).await?.pool()).await };
                let conn = conn.await;
                if conn.is_err() {
                    // Probably a dead primary: the next attempt asks for a fresh map.
                    c.schedule_refresh();
                }
                conn
            })
        });
        let mut last = None;
        for attempt in 0..3u64 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
            }
            let mut sub = Subscription::open_resolved(resolve.clone()).await?;
            sub.ignore_subscribe_messages(self.ignore_subscribe_messages);
            match sub.ssubscribe(names).await {
                Ok(()) => return Ok(sub),
                // Subscribed on a node that just lost the slot: try again.
                Err(e) if e.is_moved() || e.is_ask() || e.is_retryable() => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::Cluster("ssubscribe retries exhausted".into())))
    }

    /// Leaves shard channels; with none given, leaves every one. A slot with no channel
    /// left closes its connection; with none left at all the stream ends.
    pub fn sunsubscribe<I, C>(&mut self, channels: I) -> Result<()>
    where
        I: IntoIterator<Item = C>,
        C: AsRef<[u8]>,
    {
        let names: Vec<Bytes> = channels
            .into_iter()
            .map(|c| Bytes::copy_from_slice(c.as_ref()))
            .collect();
        if names.is_empty() {
            // Dropping a subscription closes its connection (and its channels with it).
            self.slots.clear();
            return Ok(());
        }
        for n in names {
            if let Some(s) = self.slots.get_mut(&key_slot(&n)) {
                s.sunsubscribe([&n])?;
            }
        }
        // A slot with nothing left needs no connection.
        self.slots.retain(|_, s| s.subscriptions().next().is_some());
        Ok(())
    }

    /// The shard channels subscribed, as the client recorded them.
    pub fn channels(&self) -> Vec<Bytes> {
        self.slots
            .values()
            .flat_map(|s| {
                s.subscriptions()
                    .map(|(_, n)| n.clone())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// The next message if one arrives within `timeout` (`Duration::ZERO`: only one
    /// already waiting).
    pub async fn get_message(&mut self, timeout: Duration) -> Option<Message> {
        if timeout.is_zero() {
            // One poll: only what is already waiting.
            return std::future::poll_fn(|cx| match Pin::new(&mut *self).poll_next(cx) {
                Poll::Ready(m) => Poll::Ready(m),
                Poll::Pending => Poll::Ready(None),
            })
            .await;
        }
        let next = std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx));
        tokio::time::timeout(timeout, next).await.ok().flatten()
    }
}

impl Stream for ShardSubscription {
    type Item = Message;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        let this = &mut *self;
        let n = this.slots.len();
        if n == 0 {
            return Poll::Ready(None);
        }
        // Start at a rotating position so a busy slot cannot starve the others.
        let start = this.next % n;
        this.next = this.next.wrapping_add(1);
        let mut ended = 0;
        let mut poll = |sub: &mut Subscription| match Pin::new(sub).poll_next(cx) {
            Poll::Ready(None) => {
                ended += 1;
                None
            }
            Poll::Ready(m) => m,
            Poll::Pending => None,
        };
        // Two passes (from `start` to the end, then the beginning) without collecting.
        if let Some(m) = this.slots.values_mut().skip(start).find_map(&mut poll) {
            return Poll::Ready(Some(m));
        }
        if let Some(m) = this.slots.values_mut().take(start).find_map(&mut poll) {
            return Poll::Ready(Some(m));
        }
        if ended == n {
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    }
}
