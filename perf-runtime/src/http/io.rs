//! A connection's socket with a clock: the instant of its last write and
//! of the first read after it, and the bytes each way, so that a request's
//! `sending` (until its last byte is written), `waiting` (until the first
//! byte of the response) and `receiving` (until its body's end) are told
//! apart below hyper, which does not expose them.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// What a connection's socket saw, in nanoseconds since the connection's
/// `epoch` (0 = not yet).
#[derive(Debug)]
pub(crate) struct IoClock {
    epoch: Instant,
    last_write_ns: AtomicU64,
    first_read_ns: AtomicU64,
    bytes_written: AtomicU64,
    bytes_read: AtomicU64,
    /// How much of each the requests have taken ([`IoClock::take_bytes`]).
    taken_written: AtomicU64,
    taken_read: AtomicU64,
}

impl IoClock {
    pub(crate) fn new() -> Arc<IoClock> {
        Arc::new(IoClock {
            epoch: Instant::now(),
            last_write_ns: AtomicU64::new(0),
            first_read_ns: AtomicU64::new(0),
            bytes_written: AtomicU64::new(0),
            bytes_read: AtomicU64::new(0),
            taken_written: AtomicU64::new(0),
            taken_read: AtomicU64::new(0),
        })
    }

    fn now(&self) -> u64 {
        (self.epoch.elapsed().as_nanos() as u64).max(1)
    }

    /// Starts a request on this connection: forget the previous one's
    /// first read.
    pub(crate) fn begin(&self) {
        self.first_read_ns.store(0, Relaxed);
    }

    /// The instant of the last write and of the first read since
    /// [`begin`](Self::begin), if there were any.
    pub(crate) fn marks(&self) -> (Option<Instant>, Option<Instant>) {
        let at = |ns: u64| (ns > 0).then(|| self.epoch + std::time::Duration::from_nanos(ns));
        (
            at(self.last_write_ns.load(Relaxed)),
            at(self.first_read_ns.load(Relaxed)),
        )
    }

    /// Bytes written and read so far on this connection.
    pub(crate) fn bytes(&self) -> (u64, u64) {
        (
            self.bytes_written.load(Relaxed),
            self.bytes_read.load(Relaxed),
        )
    }
}

impl IoClock {
    /// The bytes written and read since the last take, on any request:
    /// a request ending takes what its connection carried since the one
    /// before, so that the counts of all requests add up to the socket's
    /// bytes even when HTTP/2 streams interleave on it.
    pub(crate) fn take_bytes(&self) -> (u64, u64) {
        let take = |total: &AtomicU64, taken: &AtomicU64| {
            let now = total.load(Relaxed);
            // fetch_max: of two requests taking at once, the later total
            // wins and the other takes nothing, so nothing is counted twice.
            now.saturating_sub(taken.fetch_max(now, Relaxed))
        };
        (
            take(&self.bytes_written, &self.taken_written),
            take(&self.bytes_read, &self.taken_read),
        )
    }
}

/// A socket whose reads and writes are clocked in an [`IoClock`].
pub(crate) struct TimedIo<S> {
    inner: S,
    clock: Arc<IoClock>,
    timed: bool,
}

impl<S> TimedIo<S> {
    /// `timed = false` counts bytes only (`timings(false)`).
    pub(crate) fn new(inner: S, clock: Arc<IoClock>, timed: bool) -> TimedIo<S> {
        TimedIo {
            inner,
            clock,
            timed,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for TimedIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        if n > 0 {
            let clock = &self.clock;
            clock.bytes_read.fetch_add(n as u64, Relaxed);
            if self.timed && clock.first_read_ns.load(Relaxed) == 0 {
                clock.first_read_ns.store(clock.now(), Relaxed);
            }
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for TimedIo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &polled {
            self.wrote(*n);
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = &polled {
            self.wrote(*n);
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl<S> TimedIo<S> {
    fn wrote(&self, n: usize) {
        if n == 0 {
            return;
        }
        self.clock.bytes_written.fetch_add(n as u64, Relaxed);
        if self.timed {
            self.clock.last_write_ns.store(self.clock.now(), Relaxed);
        }
    }
}
