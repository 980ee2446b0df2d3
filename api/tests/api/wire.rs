//! Round trips to PostgreSQL, counted on the wire: a loopback proxy in front of the
//! server reads what the gateway sends (the frontend messages of the PostgreSQL
//! protocol) and counts the exchanges the gateway waits on. Each `Sync` of the extended
//! protocol and each simple `Query` ends with the server's `ReadyForQuery`: one round
//! trip. A `Sync` with no statement since the previous one is a ping (sqlx sends one
//! whenever a connection goes back to its pool).

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering::Relaxed},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// What went through the proxy so far.
#[derive(Default, Debug)]
pub struct WireCounts {
    /// Syncs that closed a statement (Parse/Bind/Execute before them).
    statement_syncs: AtomicU64,
    /// Syncs with nothing before them: pings.
    pings: AtomicU64,
    /// Simple-protocol queries (BEGIN, COMMIT, … sent as text).
    simple_queries: AtomicU64,
}

/// A snapshot of [`WireCounts`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RoundTrips {
    pub statements: u64,
    pub pings: u64,
    pub simple_queries: u64,
}

impl RoundTrips {
    pub fn total(&self) -> u64 {
        self.statements + self.pings + self.simple_queries
    }
}

impl std::ops::Sub for RoundTrips {
    type Output = RoundTrips;

    fn sub(self, before: RoundTrips) -> RoundTrips {
        RoundTrips {
            statements: self.statements - before.statements,
            pings: self.pings - before.pings,
            simple_queries: self.simple_queries - before.simple_queries,
        }
    }
}

pub struct Wire {
    pub port: u16,
    counts: Arc<WireCounts>,
    /// Whether the proxy passes traffic; cut, it drops every connection and every new
    /// one at once (the database unreachable, the shared server untouched).
    open: tokio::sync::watch::Sender<bool>,
}

impl Wire {
    /// Listens on a loopback port and forwards every connection to `upstream`
    /// (`host:port`).
    pub async fn start(upstream: String) -> Wire {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("an address").port();
        let counts = Arc::new(WireCounts::default());
        let shared = counts.clone();
        let (open, watch) = tokio::sync::watch::channel(true);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if !*watch.borrow() {
                    continue;
                }
                let upstream = upstream.clone();
                let counts = shared.clone();
                let mut cut = watch.clone();
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(&upstream).await {
                        tokio::select! {
                            () = relay(client, server, counts) => {}
                            _ = cut.wait_for(|open| !*open) => {}
                        }
                    }
                });
            }
        });
        Wire { port, counts, open }
    }

    /// Drops every connection through the proxy, and every new one, until
    /// [`Wire::restore`].
    pub fn cut(&self) {
        self.open.send_replace(false);
    }

    /// Passes traffic again.
    pub fn restore(&self) {
        self.open.send_replace(true);
    }

    pub fn counts(&self) -> RoundTrips {
        RoundTrips {
            statements: self.counts.statement_syncs.load(Relaxed),
            pings: self.counts.pings.load(Relaxed),
            simple_queries: self.counts.simple_queries.load(Relaxed),
        }
    }
}

async fn relay(client: TcpStream, server: TcpStream, counts: Arc<WireCounts>) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut from_client, mut to_server) = (client.into_split(), server.into_split());
    let (client_read, mut client_write) = (&mut from_client.0, &mut from_client.1);
    let (server_read, server_write) = (&mut to_server.0, &mut to_server.1);
    let upstream = async {
        let mut parser = Frontend::default();
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let n = match client_read.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            parser.feed(&buffer[..n], &counts);
            if server_write.write_all(&buffer[..n]).await.is_err() {
                break;
            }
        }
        let _ = server_write.shutdown().await;
    };
    let downstream = async {
        let _ = tokio::io::copy(server_read, &mut client_write).await;
        let _ = client_write.shutdown().await;
    };
    tokio::join!(upstream, downstream);
}

/// Splits the client's byte stream into protocol messages.
#[derive(Default)]
struct Frontend {
    pending: Vec<u8>,
    started: bool,
    /// A Parse, Bind or Execute arrived since the last Sync.
    statement_open: bool,
}

/// The `SSLRequest` code: the startup message follows it.
const SSL_REQUEST: u32 = 80_877_103;

impl Frontend {
    fn feed(&mut self, bytes: &[u8], counts: &WireCounts) {
        self.pending.extend_from_slice(bytes);
        loop {
            if !self.started {
                // Startup messages: a length, then the body; no type byte.
                let Some(len) = self.length_at(0) else { return };
                if self.pending.len() < len {
                    return;
                }
                let code = u32::from_be_bytes(self.pending[4..8].try_into().unwrap_or_default());
                self.started = code != SSL_REQUEST;
                self.pending.drain(..len);
                continue;
            }
            let Some(len) = self.length_at(1) else { return };
            if self.pending.len() < 1 + len {
                return;
            }
            match self.pending[0] {
                b'P' | b'B' | b'E' => self.statement_open = true,
                b'S' => {
                    let counter = if self.statement_open {
                        &counts.statement_syncs
                    } else {
                        &counts.pings
                    };
                    counter.fetch_add(1, Relaxed);
                    self.statement_open = false;
                }
                b'Q' => {
                    counts.simple_queries.fetch_add(1, Relaxed);
                }
                _ => {}
            }
            self.pending.drain(..1 + len);
        }
    }

    fn length_at(&self, at: usize) -> Option<usize> {
        let bytes = self.pending.get(at..at + 4)?;
        Some(u32::from_be_bytes(bytes.try_into().ok()?) as usize)
    }
}
