//! The byte stream under a connection: TCP (with `TCP_NODELAY`), a Unix socket, or TLS
//! over TCP. One type, so everything above is the same whatever the transport; and its
//! halves for the multiplexer ([`Stream::split`]), whose writing half can be written
//! from a shared reference, so a caller can write its command on an idle connection
//! itself (TCP and Unix sockets; not TLS, whose records need the session).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{tcp, unix, TcpStream, UnixStream};

use crate::error::{Error, Result};

use super::info::{Addr, ConnectionInfo};

/// `$body` on the transport inside `$value` (an enum `$ty` with the variants `Tcp`,
/// `Unix` and, with TLS, `Tls`), bound to `$s`: the one way every I/O method of
/// [`Stream`] and its halves picks its transport. (A boxed TLS stream is I/O itself.)
macro_rules! each_transport {
    ($value:expr, $ty:ident, $s:ident => $body:expr) => {
        match $value {
            $ty::Tcp($s) => $body,
            $ty::Unix($s) => $body,
            #[cfg(feature = "tls")]
            $ty::Tls($s) => $body,
        }
    };
}

/// A connected transport.
#[derive(Debug)]
pub enum Stream {
    /// Plain TCP.
    Tcp(TcpStream),
    /// A Unix domain socket.
    Unix(UnixStream),
    /// TLS over TCP.
    #[cfg(feature = "tls")]
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

/// Opens the transport `info` describes (the connect timeout is applied by the caller).
pub(crate) async fn open_stream(info: &ConnectionInfo) -> Result<Stream> {
    match &info.addr {
        Addr::Tcp { host, port } => {
            let tcp = TcpStream::connect((host.as_str(), *port))
                .await
                .map_err(|e| Error::io(format!("connecting to {}", info.addr), e))?;
            // Small commands must not wait for Nagle's algorithm.
            let _ = tcp.set_nodelay(true);
            match &info.tls {
                #[cfg(feature = "tls")]
                Some(tls) => Ok(Stream::Tls(Box::new(tls.connect(host, tcp).await?))),
                #[cfg(not(feature = "tls"))]
                Some(tls) => {
                    let _ = host;
                    Err(tls.unavailable())
                }
                None => Ok(Stream::Tcp(tcp)),
            }
        }
        Addr::Unix(path) => UnixStream::connect(path)
            .await
            .map(Stream::Unix)
            .map_err(|e| Error::io(format!("connecting to unix socket {}", path.display()), e)),
    }
}

impl Stream {
    /// The reading and the writing half, usable at the same time from different tasks.
    /// TCP and Unix sockets split without a lock between the halves; TLS through
    /// `tokio::io::split` (one session for both directions).
    pub(crate) fn split(self) -> (ReadHalf, WriteHalf) {
        match self {
            Stream::Tcp(s) => {
                let (r, w) = s.into_split();
                (ReadHalf::Tcp(r), WriteHalf::Tcp(w))
            }
            Stream::Unix(s) => {
                let (r, w) = s.into_split();
                (ReadHalf::Unix(r), WriteHalf::Unix(w))
            }
            #[cfg(feature = "tls")]
            Stream::Tls(s) => {
                let (r, w) = tokio::io::split(*s);
                (ReadHalf::Tls(r), WriteHalf::Tls(std::sync::Mutex::new(w)))
            }
        }
    }
}

/// The reading half of a [`Stream`].
#[derive(Debug)]
pub(crate) enum ReadHalf {
    Tcp(tcp::OwnedReadHalf),
    Unix(unix::OwnedReadHalf),
    #[cfg(feature = "tls")]
    Tls(tokio::io::ReadHalf<tokio_rustls::client::TlsStream<TcpStream>>),
}

/// The writing half of a [`Stream`], written through a shared reference: by the
/// multiplexer's writer task, and (with [`WriteHalf::try_write`]) by a caller whose
/// command finds the connection idle.
#[derive(Debug)]
pub(crate) enum WriteHalf {
    Tcp(tcp::OwnedWriteHalf),
    Unix(unix::OwnedWriteHalf),
    /// Only the writer task locks it: TLS has no write without a task to wake.
    #[cfg(feature = "tls")]
    Tls(std::sync::Mutex<tokio::io::WriteHalf<tokio_rustls::client::TlsStream<TcpStream>>>),
}

impl AsyncRead for ReadHalf {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        each_transport!(self.get_mut(), ReadHalf, s => Pin::new(s).poll_read(cx, buf))
    }
}

impl WriteHalf {
    /// Writes what the socket takes now, without waiting and without a task to wake:
    /// `None` where the transport cannot (TLS), else how much was written (`WouldBlock`
    /// when nothing could be).
    #[inline]
    pub(crate) fn try_write(&self, buf: &[u8]) -> Option<io::Result<usize>> {
        match self {
            WriteHalf::Tcp(s) => Some(s.try_write(buf)),
            WriteHalf::Unix(s) => Some(s.try_write(buf)),
            #[cfg(feature = "tls")]
            WriteHalf::Tls(_) => None,
        }
    }

    /// `poll_write` through a shared reference (for TLS, under its lock).
    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        fn ready(
            poll: impl Fn(&mut Context<'_>) -> Poll<io::Result<()>>,
            write: impl Fn() -> io::Result<usize>,
            cx: &mut Context<'_>,
        ) -> Poll<io::Result<usize>> {
            loop {
                if let Err(e) = std::task::ready!(poll(cx)) {
                    return Poll::Ready(Err(e));
                }
                match write() {
                    // A readiness event that is stale by now: wait for the next one.
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    r => return Poll::Ready(r),
                }
            }
        }
        match self {
            WriteHalf::Tcp(s) => ready(
                |cx| s.as_ref().poll_write_ready(cx),
                || s.try_write(buf),
                cx,
            ),
            WriteHalf::Unix(s) => ready(
                |cx| s.as_ref().poll_write_ready(cx),
                || s.try_write(buf),
                cx,
            ),
            #[cfg(feature = "tls")]
            WriteHalf::Tls(s) => {
                let mut s = s.lock().unwrap_or_else(|p| p.into_inner());
                Pin::new(&mut *s).poll_write(cx, buf)
            }
        }
    }

    /// `poll_flush` through a shared reference: only TLS buffers anything.
    pub(crate) fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            WriteHalf::Tcp(_) | WriteHalf::Unix(_) => {
                let _ = cx;
                Poll::Ready(Ok(()))
            }
            #[cfg(feature = "tls")]
            WriteHalf::Tls(s) => {
                let mut s = s.lock().unwrap_or_else(|p| p.into_inner());
                Pin::new(&mut *s).poll_flush(cx)
            }
        }
    }

    /// Writes all of `buf`, waiting for the socket as needed.
    pub(crate) async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let n = std::future::poll_fn(|cx| self.poll_write(cx, buf)).await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            buf = &buf[n..];
        }
        std::future::poll_fn(|cx| self.poll_flush(cx)).await
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        each_transport!(self.get_mut(), Stream, s => Pin::new(s).poll_read(cx, buf))
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        each_transport!(self.get_mut(), Stream, s => Pin::new(s).poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        each_transport!(self.get_mut(), Stream, s => Pin::new(s).poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        each_transport!(self, Stream, s => s.is_write_vectored())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each_transport!(self.get_mut(), Stream, s => Pin::new(s).poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each_transport!(self.get_mut(), Stream, s => Pin::new(s).poll_shutdown(cx))
    }
}
