//! Scans as `Iterator`s: the async [`ScanStream`](crate::scan::ScanStream), one page
//! fetched on the handle's runtime whenever the buffered items run out.

use std::fmt;
use std::pin::Pin;

use bytes::Bytes;
use futures_core::Stream;

use super::{Client, ClusterClient, Runtime};
use crate::error::Result;
use crate::scan::{ScanOptions, ScanStream};
use crate::value::{FromValue, ToArg};

/// A scan in progress: an `Iterator` of `Result<T>` (as
/// [`ScanStream`](crate::scan::ScanStream); an error ends it).
///
/// ```no_run
/// # fn f(client: &typedis::blocking::Client) -> typedis::Result<()> {
/// use typedis::scan::ScanOptions;
/// let keys: Vec<typedis::Bytes> = client
///     .scan_iter(ScanOptions::new().pattern("user:*"))
///     .collect::<typedis::Result<_>>()?;
/// # let _ = keys; Ok(()) }
/// ```
pub struct ScanIter<'a, T> {
    stream: ScanStream<'a, T>,
    rt: &'a Runtime,
    done: bool,
}

impl<T> fmt::Debug for ScanIter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScanIter")
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<'a, T> ScanIter<'a, T> {
    fn new(stream: ScanStream<'a, T>, rt: &'a Runtime) -> Self {
        ScanIter {
            stream,
            rt,
            done: false,
        }
    }
}

impl<T: FromValue + Unpin> Iterator for ScanIter<'_, T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        if self.done {
            return None;
        }
        let stream = &mut self.stream;
        let next = self.rt.block_on(async {
            Ok(std::future::poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx)).await)
        });
        match next {
            Ok(Some(Ok(item))) => Some(Ok(item)),
            Ok(None) => {
                self.done = true;
                None
            }
            // The stream ends after an error; so does the iterator.
            Ok(Some(Err(e))) | Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

macro_rules! scan_iters {
    ($ty:ty) => {
        impl $ty {
            /// `SCAN` over the keys (as the async handle's `scan_iter`).
            pub fn scan_iter(&self, options: ScanOptions) -> ScanIter<'_, Bytes> {
                ScanIter::new(self.inner.scan_iter(options), &self.rt)
            }

            /// `HSCAN` over a hash's fields and values.
            pub fn hscan_iter(
                &self,
                key: impl ToArg,
                options: ScanOptions,
            ) -> ScanIter<'_, (Bytes, Bytes)> {
                ScanIter::new(self.inner.hscan_iter(key, options), &self.rt)
            }

            /// `SSCAN` over a set's members.
            pub fn sscan_iter(&self, key: impl ToArg, options: ScanOptions) -> ScanIter<'_, Bytes> {
                ScanIter::new(self.inner.sscan_iter(key, options), &self.rt)
            }

            /// `ZSCAN` over a sorted set's members and scores.
            pub fn zscan_iter(
                &self,
                key: impl ToArg,
                options: ScanOptions,
            ) -> ScanIter<'_, (Bytes, f64)> {
                ScanIter::new(self.inner.zscan_iter(key, options), &self.rt)
            }
        }
    };
}

scan_iters!(Client);
scan_iters!(ClusterClient);
