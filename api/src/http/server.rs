//! The accept loop: hyper's HTTP/1 and HTTP/2 with upgrades (WebSocket), bounded. At
//! most `max_connections` are open at once (a connection past it is closed at once,
//! instead of the process running out of file descriptors); a client gets
//! `header_read_timeout` to send a request's head, which also closes a keep-alive
//! connection idle that long; on shutdown, in-flight requests get `grace` to finish and
//! the rest are dropped, so a slow client cannot hold the process open.

use std::{pin::Pin, sync::Arc, task::Poll, time::Duration};

use axum::{Router, extract::ConnectInfo};
use hyper::{Request, body::Incoming};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto::Builder, graceful::GracefulShutdown},
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{OwnedSemaphorePermit, Semaphore},
};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// How full the main listener is, for `/readyz` on the operator address.
#[derive(Debug, Default)]
pub struct Occupancy {
    open: std::sync::atomic::AtomicUsize,
    max: std::sync::atomic::AtomicUsize,
}

impl Occupancy {
    /// (open connections, the most that may be open); the most is 0 until serving.
    pub fn get(&self) -> (usize, usize) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.open.load(Relaxed), self.max.load(Relaxed))
    }
}

/// What one gateway accepts.
#[derive(Clone, Copy, Debug)]
pub struct ServerLimits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub grace: Duration,
}

/// Descriptors kept for everything else (databases, deploys, files, the proxy).
const RESERVED_FDS: u64 = 512;

impl ServerLimits {
    /// `max_connections`, lowered to what the process's open-files limit allows.
    pub fn fitted(mut self) -> Self {
        if let Ok((soft, _)) =
            nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        {
            let room =
                usize::try_from(soft.saturating_sub(RESERVED_FDS).max(64)).unwrap_or(usize::MAX);
            if room < self.max_connections {
                tracing::warn!(
                    configured = self.max_connections,
                    allowed = room,
                    open_files_limit = soft,
                    "MAX_CONNECTIONS is above what the open-files limit allows; lowered"
                );
                self.max_connections = room;
            }
        }
        self
    }
}

/// HTTP/1 and HTTP/2 connections whose idle clients cannot hold them: headers must come
/// within the header timeout, and an HTTP/2 peer must answer pings as fast.
fn connection_builder(limits: &ServerLimits) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(limits.header_read_timeout))
        .keep_alive_timeout(limits.header_read_timeout);
    builder
}

/// Serves `router` on `listener` until `shutdown` is cancelled, then drains within the
/// grace period.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
    (shutdown, occupancy): (CancellationToken, Arc<Occupancy>),
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    occupancy
        .max
        .store(limits.max_connections, std::sync::atomic::Ordering::Relaxed);
    let graceful = GracefulShutdown::new();
    let builder = connection_builder(&limits);
    loop {
        let (stream, addr) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors or a connection reset before accept: wait a
                    // moment rather than spin.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::debug!(%addr, "refused: every connection slot is taken");
            drop(stream);
            continue;
        };
        let permit = Slot::new(permit, occupancy.clone());
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let watcher = graceful.watcher();
        let builder = builder.clone();
        tokio::spawn(connection(
            stream, addr, permit, router, watcher, builder, limits,
        ));
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.grace) => {
            tracing::warn!(grace = ?limits.grace, "requests still running after the grace period were dropped");
        }
    }
}

/// One connection: closed at once if no byte comes within the header timeout, else
/// served by hyper until it ends (or the shutdown's grace does).
async fn connection(
    stream: TcpStream,
    addr: std::net::SocketAddr,
    permit: Slot,
    router: Router,
    watcher: hyper_util::server::graceful::Watcher,
    builder: Builder<TokioExecutor>,
    limits: ServerLimits,
) {
    // hyper's header timeout starts with the first byte (HTTP/1 or HTTP/2 is told
    // from it): a client that sends none is closed here, within the same time.
    let mut byte = [0u8; 1];
    let first = tokio::time::timeout(limits.header_read_timeout, stream.peek(&mut byte));
    if !matches!(first.await, Ok(Ok(1..))) {
        tracing::debug!(%addr, "closed: no byte within the header timeout");
        return;
    }
    let io = TokioIo::new(Counted {
        stream,
        _slot: permit,
    });
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(addr));
        router.clone().oneshot(request)
    });
    let connection = watcher.watch(
        builder
            .serve_connection_with_upgrades(io, service)
            .into_owned(),
    );
    if let Err(error) = connection.await {
        tracing::debug!(%error, %addr, "connection ended with an error");
    }
}

/// One of the listener's slots, counted in [`Occupancy`] while it is held.
struct Slot {
    _permit: OwnedSemaphorePermit,
    occupancy: Arc<Occupancy>,
}

impl Slot {
    fn new(permit: OwnedSemaphorePermit, occupancy: Arc<Occupancy>) -> Self {
        occupancy
            .open
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Self {
            _permit: permit,
            occupancy,
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.occupancy
            .open
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// A connection holding one of the slots until it closes (an upgraded WebSocket keeps
/// it for as long as it is open).
struct Counted {
    stream: TcpStream,
    _slot: Slot,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
