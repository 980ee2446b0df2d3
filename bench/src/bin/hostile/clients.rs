//! The legitimate client (its own thread and runtime), and the connections that only
//! hold resources: slow request heads and WebSockets that never initialise.

use super::*;

pub(super) fn histogram() -> Histogram<u64> {
    Histogram::<u64>::new_with_bounds(1, 120_000_000, 3).expect("histogram bounds")
}

/// The legitimate client: `{ __typename }` with `n` in flight until `stop`.
pub(super) async fn legitimate(
    client: &reqwest::Client,
    url: &str,
    n: usize,
    stop: Arc<AtomicBool>,
) -> (Histogram<u64>, u64, f64) {
    let started = Instant::now();
    let errors = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (client, url, stop, errors) =
                (client.clone(), url.to_owned(), stop.clone(), errors.clone());
            tokio::spawn(async move {
                let mut h = histogram();
                while !stop.load(Ordering::Relaxed) {
                    let sent = Instant::now();
                    let ok = match client
                        .post(&url)
                        .json(&json!({ "query": "{ __typename }" }))
                        .send()
                        .await
                    {
                        Ok(response) => response.status() == 200 && response.bytes().await.is_ok(),
                        Err(_) => false,
                    };
                    let _ = h.record(sent.elapsed().as_micros() as u64);
                    if !ok {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                h
            })
        })
        .collect();
    let mut all = histogram();
    for task in tasks {
        if let Ok(h) = task.await {
            let _ = all.add(&h);
        }
    }
    (
        all,
        errors.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64(),
    )
}

/// The legitimate client on its own thread and runtime, with its own connections: it
/// shares the machine with the attacker, not its task queue.
pub(super) fn measure(
    url: String,
    n: usize,
    seconds: f64,
) -> std::thread::JoinHandle<(Histogram<u64>, u64, f64)> {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async move {
            // Another address than the attacker's (127.0.0.1), as another client has:
            // limits per client address must not mix them up.
            let client = reqwest::Client::builder()
                .tcp_nodelay(true)
                .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
                .build()
                .expect("a client");
            let stop = Arc::new(AtomicBool::new(false));
            let timer = {
                let stop = stop.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
                    stop.store(true, Ordering::Relaxed);
                })
            };
            let outcome = legitimate(&client, &url, n, stop).await;
            let _ = timer.await;
            outcome
        })
    })
}

/// A connection that sends a request's head one byte every two seconds; reopened when
/// the server closes it.
pub(super) async fn slow_header(addr: String, stop: Arc<AtomicBool>, closed: Arc<AtomicU64>) {
    let head = b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut stream) = tokio::net::TcpStream::connect(&addr).await else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        for byte in head.iter().cycle() {
            if stop.load(Ordering::Relaxed) || stream.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        closed.fetch_add(1, Ordering::Relaxed);
    }
}

/// A WebSocket that never says `connection_init`; reopened when the server closes it.
pub(super) async fn idle_websocket(url: String, stop: Arc<AtomicBool>, closed: Arc<AtomicU64>) {
    use futures_util::StreamExt;
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut request) = url.as_str().into_client_request() else {
            return;
        };
        if let Ok(value) = "graphql-transport-ws".parse() {
            request
                .headers_mut()
                .insert("sec-websocket-protocol", value);
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((mut socket, _)) => {
                while let Some(Ok(_)) = socket.next().await {}
                closed.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}
