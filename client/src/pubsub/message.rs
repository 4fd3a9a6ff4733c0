//! What a subscription yields: [`Message`] (data, confirmations, the reconnection
//! marker) and its [`MessageKind`], the three [`SubscriptionKind`]s, and reading them
//! from RESP2 arrays and RESP3 pushes. Does not own reading the connection (`task.rs`).

use std::fmt;

use bytes::Bytes;

use crate::error::Result;
use crate::value::{FromValue, Value};

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
    pub(super) fn subscribe_command(self) -> &'static [u8] {
        match self {
            SubscriptionKind::Channel => b"SUBSCRIBE",
            SubscriptionKind::Pattern => b"PSUBSCRIBE",
            SubscriptionKind::Shard => b"SSUBSCRIBE",
        }
    }

    pub(super) fn unsubscribe_command(self) -> &'static [u8] {
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
    pub(super) kind: MessageKind,
    pub(super) channel: Bytes,
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

    pub(super) fn reconnected() -> Message {
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
    pub(super) fn from_frame(frame: Value) -> Option<Message> {
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
}
