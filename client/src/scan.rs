//! SCAN, HSCAN, SSCAN and ZSCAN as `Stream`s: the cursor is followed until the server
//! says 0. Keys may repeat (the server guarantees every key present for the whole scan
//! is returned at least once, not exactly once).
//!
//! ```no_run
//! # async fn f(client: &typedis::Client) -> typedis::Result<()> {
//! use futures_util::TryStreamExt;
//! use typedis::scan::ScanOptions;
//! let keys: Vec<typedis::Bytes> = client
//!     .scan_iter(ScanOptions::new().pattern("user:*").count(1000))
//!     .try_collect()
//!     .await?;
//! let fields: Vec<(typedis::Bytes, typedis::Bytes)> =
//!     client.hscan_iter("user:1", ScanOptions::new()).try_collect().await?;
//! # Ok(()) }
//! ```

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;

use crate::client::Client;
use crate::cluster::ClusterClient;
use crate::cmd::Args;
use crate::error::{Error, Result};
use crate::value::{FromValue, ToArg, Value};

/// MATCH / COUNT / TYPE for the scan streams.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    pattern: Option<Bytes>,
    count: Option<u64>,
    kind: Option<Bytes>,
}

impl ScanOptions {
    /// No filter, server-default page size.
    pub fn new() -> Self {
        ScanOptions::default()
    }

    /// Only names matching this glob pattern (`MATCH`).
    pub fn pattern(mut self, pattern: impl AsRef<[u8]>) -> Self {
        self.pattern = Some(Bytes::copy_from_slice(pattern.as_ref()));
        self
    }

    /// Page size hint (`COUNT`).
    pub fn count(mut self, count: u64) -> Self {
        self.count = Some(count);
        self
    }

    /// Only keys of this type (`TYPE`, SCAN only): `string`, `hash`, `zset`, …
    pub fn key_type(mut self, kind: impl AsRef<[u8]>) -> Self {
        self.kind = Some(Bytes::copy_from_slice(kind.as_ref()));
        self
    }
}

type Page = Result<(Bytes, Vec<Value>)>;

/// Where the scan's pages come from.
enum Via<'a> {
    Client(&'a Client),
    /// Routed by key (HSCAN/SSCAN/ZSCAN on a cluster).
    Cluster(&'a ClusterClient),
    /// `SCAN` on each of these nodes in turn (the cluster's primaries).
    Nodes(&'a ClusterClient, VecDeque<String>),
}

/// A scan in progress; a `Stream` of `Result<T>`.
pub struct ScanStream<'a, T> {
    via: Via<'a>,
    prefix: Args,
    suffix: Args,
    cursor: Option<Bytes>,
    buffered: VecDeque<T>,
    pending: Option<Pin<Box<dyn Future<Output = Page> + Send + 'a>>>,
}

impl<T> std::fmt::Debug for ScanStream<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScanStream").finish_non_exhaustive()
    }
}

macro_rules! scan_methods {
    ($ty:ty, $doc_scan:literal, |$this:ident| $scan_via:expr, |$this2:ident| $key_via:expr) => {
        impl $ty {
            #[doc = $doc_scan]
            pub fn scan_iter(&self, options: ScanOptions) -> ScanStream<'_, Bytes> {
                let $this = self;
                ScanStream::new($scan_via, &[b"SCAN"], None::<&[u8]>, options, true)
            }

            /// `HSCAN` over a hash's fields and values.
            pub fn hscan_iter(
                &self,
                key: impl ToArg,
                options: ScanOptions,
            ) -> ScanStream<'_, (Bytes, Bytes)> {
                let $this2 = self;
                ScanStream::new($key_via, &[b"HSCAN"], Some(key), options, false)
            }

            /// `SSCAN` over a set's members.
            pub fn sscan_iter(&self, key: impl ToArg, options: ScanOptions) -> ScanStream<'_, Bytes> {
                let $this2 = self;
                ScanStream::new($key_via, &[b"SSCAN"], Some(key), options, false)
            }

            /// `ZSCAN` over a sorted set's members and scores.
            pub fn zscan_iter(
                &self,
                key: impl ToArg,
                options: ScanOptions,
            ) -> ScanStream<'_, (Bytes, f64)> {
                let $this2 = self;
                ScanStream::new($key_via, &[b"ZSCAN"], Some(key), options, false)
            }
        }
    };
}

scan_methods!(
    Client,
    "`SCAN` over the keys of the database.",
    |c| Via::Client(c),
    |c| Via::Client(c)
);
scan_methods!(
    ClusterClient,
    "`SCAN` over the keys of every primary, one after the other (the primaries known \
     when the scan starts). HSCAN/SSCAN/ZSCAN go to the key's node.",
    |c| Via::Nodes(c, c.primaries().into()),
    |c| Via::Cluster(c)
);

impl<'a, T: FromValue> ScanStream<'a, T> {
    fn new(
        via: Via<'a>,
        name: &[&[u8]],
        key: Option<impl ToArg>,
        o: ScanOptions,
        with_type: bool,
    ) -> Self {
        let mut prefix = Args::new();
        for n in name {
            prefix.push_bytes(n);
        }
        if let Some(k) = key {
            k.write_arg(&mut prefix);
        }
        let mut suffix = Args::new();
        if let Some(p) = &o.pattern {
            suffix.push_bytes(b"MATCH");
            suffix.push_bytes(p);
        }
        if let Some(c) = o.count {
            suffix.push_bytes(b"COUNT");
            suffix.push_u64(c);
        }
        if let (Some(t), true) = (&o.kind, with_type) {
            suffix.push_bytes(b"TYPE");
            suffix.push_bytes(t);
        }
        ScanStream {
            via,
            prefix,
            suffix,
            cursor: Some(Bytes::from_static(b"0")),
            buffered: VecDeque::new(),
            pending: None,
        }
    }

    fn request(&self, cursor: &Bytes) -> Pin<Box<dyn Future<Output = Page> + Send + 'a>> {
        let mut args = self.prefix.clone();
        args.push_bytes(cursor);
        args.extend_from(&self.suffix);
        let reply: Pin<Box<dyn Future<Output = Result<Value>> + Send + 'a>> = match &self.via {
            Via::Client(c) => {
                let c: &'a Client = c;
                Box::pin(c.send(args))
            }
            Via::Cluster(c) => {
                let c: &'a ClusterClient = c;
                Box::pin(crate::exec::Executor::execute(c, args, None))
            }
            Via::Nodes(c, nodes) => {
                let c: &'a ClusterClient = c;
                let node = nodes.front().cloned().unwrap_or_default();
                Box::pin(async move { c.node(&node).await?.send(args).await })
            }
        };
        Box::pin(async move { <(Bytes, Vec<Value>)>::from_value(reply.await?) })
    }
}

impl<T: FromValue + Unpin> Stream for ScanStream<'_, T> {
    type Item = Result<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<T>>> {
        let this = &mut *self;
        loop {
            if let Some(item) = this.buffered.pop_front() {
                return Poll::Ready(Some(Ok(item)));
            }
            if this.pending.is_none() {
                // The previous page said cursor 0: the scan is complete.
                let Some(cursor) = this.cursor.take() else {
                    return Poll::Ready(None);
                };
                this.pending = Some(this.request(&cursor));
            }
            let Some(fut) = this.pending.as_mut() else {
                return Poll::Ready(None);
            };
            match fut.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(page) => {
                    this.pending = None;
                    match page.and_then(|(cursor, values)| Ok((cursor, T::from_values(values)?))) {
                        Ok((cursor, items)) => {
                            if &cursor[..] != b"0" {
                                this.cursor = Some(cursor);
                            } else if let Via::Nodes(_, nodes) = &mut this.via {
                                // This node is done: start over on the next one.
                                nodes.pop_front();
                                if !nodes.is_empty() {
                                    this.cursor = Some(Bytes::from_static(b"0"));
                                }
                            }
                            this.buffered.extend(items);
                        }
                        Err(e) => {
                            this.cursor = None;
                            return Poll::Ready(Some(Err(match e {
                                Error::Decode { .. } => e,
                                other => other,
                            })));
                        }
                    }
                }
            }
        }
    }
}
