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

use crate::batch::Target;
use crate::cmd::Args;
use crate::error::Result;
use crate::exec::Handle;
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

/// A scan in progress; a `Stream` of `Result<T>`. Made by the handles' `scan_iter`,
/// `hscan_iter`, `sscan_iter` and `zscan_iter`, or, for code generic over the handle, by
/// [`ScanStream::keys`] and its siblings.
pub struct ScanStream<'a, T> {
    /// Where the pages come from: the handle; for `SCAN` on a cluster, each primary in
    /// turn (the first is being scanned).
    targets: VecDeque<Box<dyn Target + 'a>>,
    prefix: Args,
    suffix: Args,
    cursor: Option<Bytes>,
    buffered: VecDeque<T>,
    pending: Option<Pending<'a>>,
}

impl<T> std::fmt::Debug for ScanStream<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScanStream").finish_non_exhaustive()
    }
}

impl<'a> ScanStream<'a, Bytes> {
    /// `SCAN` over every key `handle` reaches: the database of a client or connection,
    /// every primary of a cluster one after the other (the primaries known when the
    /// scan starts).
    pub fn keys<H: Handle + 'a>(handle: H, options: ScanOptions) -> Self {
        let targets = handle.keyspace().parts.into();
        ScanStream::new(targets, b"SCAN", None::<&[u8]>, options, true)
    }

    /// `SSCAN` over a set's members (on a cluster, at the key's node).
    pub fn set_members<H: Handle + 'a>(handle: H, key: impl ToArg, options: ScanOptions) -> Self {
        ScanStream::new(one(handle), b"SSCAN", Some(key), options, false)
    }
}

impl<'a> ScanStream<'a, (Bytes, Bytes)> {
    /// `HSCAN` over a hash's fields and values (on a cluster, at the key's node).
    pub fn hash_fields<H: Handle + 'a>(handle: H, key: impl ToArg, options: ScanOptions) -> Self {
        ScanStream::new(one(handle), b"HSCAN", Some(key), options, false)
    }
}

impl<'a> ScanStream<'a, (Bytes, f64)> {
    /// `ZSCAN` over a sorted set's members and scores (on a cluster, at the key's node).
    pub fn sorted_set_members<H: Handle + 'a>(
        handle: H,
        key: impl ToArg,
        options: ScanOptions,
    ) -> Self {
        ScanStream::new(one(handle), b"ZSCAN", Some(key), options, false)
    }
}

fn one<'a, H: Handle + 'a>(handle: H) -> VecDeque<Box<dyn Target + 'a>> {
    VecDeque::from([Box::new(handle) as Box<dyn Target + 'a>])
}

/// The scan methods of a handle type, on [`ScanStream`]'s constructors.
macro_rules! scan_methods {
    ($ty:ty) => {
        impl $ty {
            /// `SCAN` over the keys (see [`ScanStream::keys`]).
            pub fn scan_iter(&self, options: ScanOptions) -> ScanStream<'_, Bytes> {
                ScanStream::keys(self, options)
            }

            /// `HSCAN` over a hash's fields and values.
            pub fn hscan_iter(
                &self,
                key: impl ToArg,
                options: ScanOptions,
            ) -> ScanStream<'_, (Bytes, Bytes)> {
                ScanStream::hash_fields(self, key, options)
            }

            /// `SSCAN` over a set's members.
            pub fn sscan_iter(
                &self,
                key: impl ToArg,
                options: ScanOptions,
            ) -> ScanStream<'_, Bytes> {
                ScanStream::set_members(self, key, options)
            }

            /// `ZSCAN` over a sorted set's members and scores.
            pub fn zscan_iter(
                &self,
                key: impl ToArg,
                options: ScanOptions,
            ) -> ScanStream<'_, (Bytes, f64)> {
                ScanStream::sorted_set_members(self, key, options)
            }
        }
    };
}

scan_methods!(crate::Client);
scan_methods!(crate::cluster::ClusterClient);
scan_methods!(crate::DedicatedConnection);

impl<'a, T: FromValue> ScanStream<'a, T> {
    fn new(
        targets: VecDeque<Box<dyn Target + 'a>>,
        name: &[u8],
        key: Option<impl ToArg>,
        o: ScanOptions,
        with_type: bool,
    ) -> Self {
        let mut prefix = Args::new();
        prefix.push_bytes(name);
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
            targets,
            prefix,
            suffix,
            cursor: Some(Bytes::from_static(b"0")),
            buffered: VecDeque::new(),
            pending: None,
        }
    }

    /// The next page from the target being scanned, which the future hands back.
    fn request(&mut self, cursor: &Bytes) -> Option<Pending<'a>> {
        let mut args = self.prefix.clone();
        args.push_bytes(cursor);
        args.extend_from(&self.suffix);
        let target = self.targets.pop_front()?;
        Some(Box::pin(async move {
            let page = match target.send(args).await {
                Ok(v) => <(Bytes, Vec<Value>)>::from_value(v),
                Err(e) => Err(e),
            };
            (target, page)
        }))
    }
}

/// A page being fetched, and the target it comes from.
type Pending<'a> = Pin<Box<dyn Future<Output = (Box<dyn Target + 'a>, Page)> + Send + 'a>>;

impl<T: FromValue + Unpin> Stream for ScanStream<'_, T> {
    type Item = Result<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<T>>> {
        let this = &mut *self;
        loop {
            if let Some(item) = this.buffered.pop_front() {
                return Poll::Ready(Some(Ok(item)));
            }
            if this.pending.is_none() {
                // The previous page said cursor 0 on the last target: the scan is complete.
                let Some(cursor) = this.cursor.take() else {
                    return Poll::Ready(None);
                };
                this.pending = this.request(&cursor);
            }
            let Some(fut) = this.pending.as_mut() else {
                return Poll::Ready(None);
            };
            let Poll::Ready((target, page)) = fut.as_mut().poll(cx) else {
                return Poll::Pending;
            };
            this.pending = None;
            match page.and_then(|(cursor, values)| Ok((cursor, T::from_values(values)?))) {
                Ok((cursor, items)) => {
                    if &cursor[..] != b"0" {
                        this.targets.push_front(target);
                        this.cursor = Some(cursor);
                    } else if !this.targets.is_empty() {
                        // This target is done: start over on the next one.
                        this.cursor = Some(Bytes::from_static(b"0"));
                    }
                    this.buffered.extend(items);
                }
                Err(e) => {
                    this.cursor = None;
                    return Poll::Ready(Some(Err(e)));
                }
            }
        }
    }
}
