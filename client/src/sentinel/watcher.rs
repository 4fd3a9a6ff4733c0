//! The failover watcher of a sentinel-backed master client: one subscription per
//! sentinel to its event channels, the classification of the events, and the hold of
//! the client's new commands from the first sign of a failover of its master until
//! `+switch-master` (or an abort, or the hold's bound).

use super::*;

/// Where a master client's connections should go, shared by its resolver and watcher.
#[derive(Debug, Default)]
pub(super) struct Follow {
    /// The address named by the last `+switch-master`, and when: tried before asking
    /// the sentinels for [`PREFER_ANNOUNCED`].
    preferred: Mutex<Option<((String, u16), Instant)>>,
    /// The address the last connection was resolved to.
    current: Mutex<Option<(String, u16)>>,
}

impl Follow {
    fn announced(&self, addr: Option<(String, u16)>) {
        *lock(&self.preferred) = addr.map(|a| (a, Instant::now()));
    }

    pub(super) fn preferred(&self) -> Option<(String, u16)> {
        lock(&self.preferred)
            .as_ref()
            .filter(|(_, at)| at.elapsed() < PREFER_ANNOUNCED)
            .map(|(a, _)| a.clone())
    }

    pub(super) fn connected_to(&self, addr: Option<(String, u16)>) {
        *lock(&self.current) = addr;
    }

    fn current(&self) -> Option<(String, u16)> {
        lock(&self.current).clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Plain data, consistent at every unlock: a panic elsewhere must not spread.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What a failover event means for the master a client serves.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Failover {
    /// The master is being failed over.
    InProgress,
    /// The sentinel that published it gave up its attempt.
    Aborted,
    /// The master moved to this address.
    Switched(String, u16),
}

/// Reads one event of the sentinels' channels; `None` when it is about another master
/// or not about failovers. Payloads are `<type> <name> <ip> <port>` for a master,
/// `<type> <name> <ip> <port> @ <master> <ip> <port>` for other instances, and
/// `<master> <old ip> <old port> <new ip> <new port>` for `+switch-master`.
fn classify(channel: &[u8], payload: &[u8], master: &str) -> Option<Failover> {
    let payload = std::str::from_utf8(payload).ok()?;
    let mut words = payload.split(' ');
    if channel == SWITCH.as_bytes() {
        let (name, _, _, host, port) = (
            words.next()?,
            words.next()?,
            words.next()?,
            words.next()?,
            words.next()?,
        );
        if name != master {
            return None;
        }
        return Some(Failover::Switched(host.to_owned(), port.parse().ok()?));
    }
    let named = match payload.split_once(" @ ") {
        Some((_, about)) => about.split(' ').next(),
        None => match (words.next(), words.next()) {
            (Some("master"), name) => name,
            _ => None,
        },
    };
    if named != Some(master) {
        return None;
    }
    let channel = std::str::from_utf8(channel).ok()?;
    if IN_PROGRESS.contains(&channel) {
        Some(Failover::InProgress)
    } else if ABORTED.contains(&channel) {
        Some(Failover::Aborted)
    } else {
        None
    }
}

/// An event from one sentinel's subscription.
struct Event {
    /// Index of the sentinel.
    from: usize,
    channel: bytes::Bytes,
    payload: bytes::Bytes,
}

/// Follows one master client's failovers: holds its commands while one is in progress,
/// moves it on `+switch-master`. One task, fed by one listener task per sentinel.
pub(super) struct Watcher {
    name: String,
    client: WeakClient,
    sentinel: Sentinel,
    template: ConnectionInfo,
    follow: Arc<Follow>,
    /// `None`: do not hold.
    max_hold: Option<Duration>,
    /// Per sentinel: it announced a failover of this master that has not ended.
    in_progress: Vec<bool>,
    /// Commands are held since then.
    held_since: Option<Instant>,
    /// After a hold that ran out, no new hold starts before then: the failover that
    /// outlived it must not hold the client again and again.
    quiet_until: Option<Instant>,
    /// The address of the last `+switch-master` acted on (duplicates are ignored).
    switched_to: Option<(String, u16)>,
}

impl Watcher {
    pub(super) fn new(
        name: &str,
        client: &Client,
        sentinel: &Sentinel,
        template: ConnectionInfo,
        follow: Arc<Follow>,
        max_hold: Option<Duration>,
    ) -> Watcher {
        Watcher {
            name: name.to_owned(),
            client: client.downgrade(),
            sentinel: sentinel.clone(),
            template,
            follow,
            max_hold,
            in_progress: vec![false; sentinel.sentinels.len()],
            held_since: None,
            quiet_until: None,
            switched_to: None,
        }
    }

    /// Starts the listeners and the watcher; returns once every sentinel was tried.
    pub(super) async fn start(self, sentinels: &[ConnectionInfo]) {
        let (tx, rx) = mpsc::channel(256);
        let mut tried = Vec::with_capacity(sentinels.len());
        for (i, info) in sentinels.iter().enumerate() {
            let (done, wait) = oneshot::channel();
            tried.push(wait);
            tokio::spawn(listen(i, info.clone(), tx.clone(), done));
        }
        drop(tx);
        tokio::spawn(self.run(rx));
        for t in tried {
            // An error only means the listener is gone already.
            let _ = t.await;
        }
    }

    async fn run(mut self, mut rx: mpsc::Receiver<Event>) {
        loop {
            let wake = match (self.held_since, self.max_hold) {
                (Some(since), Some(max)) => since + max,
                _ => Instant::now() + LIVENESS,
            };
            let next = tokio::time::timeout_at(wake.into(), rx.recv()).await;
            let Some(client) = self.client.upgrade() else {
                return;
            };
            match next {
                Ok(Some(event)) => self.on_event(&client, event).await,
                Ok(None) => {
                    // Every listener stopped (cannot happen while the client lives):
                    // never leave the client held.
                    client.hold().release();
                    return;
                }
                Err(_) => {
                    let ran_out = matches!((self.held_since, self.max_hold),
                        (Some(since), Some(max)) if since.elapsed() >= max);
                    if ran_out {
                        self.quiet_until = self.max_hold.map(|max| Instant::now() + max);
                        self.end_hold(&client).await;
                    }
                }
            }
        }
    }

    async fn on_event(&mut self, client: &Client, event: Event) {
        let Some(what) = classify(&event.channel, &event.payload, &self.name) else {
            return;
        };
        match what {
            Failover::InProgress => {
                self.in_progress[event.from] = true;
                let quiet = self.quiet_until.is_some_and(|t| Instant::now() < t);
                if self.max_hold.is_some() && self.held_since.is_none() && !quiet {
                    self.held_since = Some(Instant::now());
                    client.hold().hold();
                }
            }
            Failover::Aborted => {
                self.in_progress[event.from] = false;
                if self.held_since.is_some() && !self.in_progress.contains(&true) {
                    self.end_hold(client).await;
                }
            }
            Failover::Switched(host, port) => {
                let to = (host, port);
                self.in_progress.fill(false);
                self.quiet_until = None;
                if self.switched_to.as_ref() != Some(&to) {
                    crate::observe::sentinel_switch(&self.name, &format!("{}:{}", to.0, to.1));
                    self.switched_to = Some(to.clone());
                    self.follow.announced(Some(to.clone()));
                    if self.follow.current().as_ref() != Some(&to) {
                        client.drop_connection("Sentinel announced a new master (+switch-master)");
                    }
                }
                self.held_since = None;
                client.hold().release();
            }
        }
    }

    /// Ends a hold that `+switch-master` did not end (timeout, aborted failover): asks
    /// the sentinels which master to use, moves there if it is another, and releases.
    async fn end_hold(&mut self, client: &Client) {
        let named = tokio::time::timeout(
            RESOLVE_BOUND,
            self.sentinel.discover_master(&self.name, &self.template),
        )
        .await;
        // No announcement to prefer any more: the sentinels' answer is what counts.
        self.follow.announced(None);
        if let Ok(Ok(info)) = named {
            if tcp_addr(&info) != self.follow.current() {
                crate::observe::sentinel_switch(&self.name, &info.addr.to_string());
                client.drop_connection("the sentinels name another master");
            }
        }
        self.in_progress.fill(false);
        self.held_since = None;
        client.hold().release();
    }
}

/// Subscribes to one sentinel's failover events and forwards them, resubscribing when
/// the subscription ends; stops when the watcher is gone. `tried` is signalled after the
/// first attempt.
async fn listen(
    from: usize,
    info: ConnectionInfo,
    tx: mpsc::Sender<Event>,
    tried: oneshot::Sender<()>,
) {
    let mut tried = Some(tried);
    let limit = info.connect_timeout.unwrap_or(Duration::from_secs(5));
    let pool = Pool::new(
        info,
        PoolConfig {
            max_size: 1,
            idle_timeout: None,
        },
    );
    let channels: Vec<&str> = IN_PROGRESS
        .iter()
        .chain(ABORTED.iter())
        .copied()
        .chain([SWITCH])
        .collect();
    let mut delay = Duration::ZERO;
    loop {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        delay = (delay * 2).clamp(Duration::from_millis(100), Duration::from_secs(2));
        if tx.is_closed() {
            return;
        }
        let opened = tokio::time::timeout(limit, async {
            let mut sub = Subscription::open(pool.clone()).await?;
            sub.subscribe(channels.iter().copied()).await?;
            Ok::<_, Error>(sub)
        })
        .await;
        if let Some(t) = tried.take() {
            let _ = t.send(());
        }
        let Ok(Ok(mut sub)) = opened else {
            continue;
        };
        delay = Duration::ZERO;
        sub.ignore_subscribe_messages(true);
        loop {
            let next = poll_fn(|cx| Pin::new(&mut sub).poll_next(cx));
            let msg = match tokio::time::timeout(LIVENESS, next).await {
                Err(_) if tx.is_closed() => return,
                Err(_) => continue,
                // The subscription's task stopped: open a new one.
                Ok(None) => break,
                Ok(Some(m)) => m,
            };
            // Resubscribed after a lost connection: events may have been missed, which
            // the hold's bound covers.
            if msg.kind() == MessageKind::Reconnected || !msg.is_data() {
                continue;
            }
            let event = Event {
                from,
                channel: msg.channel().clone(),
                payload: msg.payload().clone(),
            };
            if tx.send(event).await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failover_events_are_read_for_the_right_master() {
        let m = "mymaster";
        let cases: [(&str, &str, Option<Failover>); 9] = [
            (
                "+try-failover",
                "master mymaster 127.0.0.1 6379",
                Some(Failover::InProgress),
            ),
            ("+try-failover", "master other 127.0.0.1 6379", None),
            // A prefix of the name is another master.
            ("+try-failover", "master mymaster2 127.0.0.1 6379", None),
            (
                "+selected-slave",
                "slave 127.0.0.1:6380 127.0.0.1 6380 @ mymaster 127.0.0.1 6379",
                Some(Failover::InProgress),
            ),
            (
                "+promoted-slave",
                "slave 127.0.0.1:6380 127.0.0.1 6380 @ other 127.0.0.1 6379",
                None,
            ),
            (
                "-failover-abort-not-elected",
                "master mymaster 127.0.0.1 6379",
                Some(Failover::Aborted),
            ),
            (
                "+switch-master",
                "mymaster 127.0.0.1 6379 127.0.0.1 6380",
                Some(Failover::Switched("127.0.0.1".into(), 6380)),
            ),
            (
                "+switch-master",
                "other 127.0.0.1 6379 127.0.0.1 6380",
                None,
            ),
            // Truncated or garbled payloads are ignored, not a panic.
            (
                "+switch-master",
                "mymaster 127.0.0.1 6379 127.0.0.1 x",
                None,
            ),
        ];
        for (channel, payload, want) in cases {
            assert_eq!(
                classify(channel.as_bytes(), payload.as_bytes(), m),
                want,
                "{channel} {payload}"
            );
        }
        // Other channels and odd bytes are ignored.
        assert_eq!(classify(b"+sdown", b"master mymaster 1 2", m), None);
        assert_eq!(classify(b"+try-failover", b"", m), None);
        assert_eq!(classify(b"+try-failover", b"\xff\xfe", m), None);
        assert_eq!(classify(b"+switch-master", b"mymaster", m), None);
    }
}
