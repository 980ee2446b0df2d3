//! Hostile load: for a while, one attacker sends the worst request shapes found while
//! hardening the gateway (fragment bombs, alias floods, deep nesting, bodies at the size
//! limit, over-long arguments, the most expensive query the limits still admit and
//! batches of it, mutation and bad-token floods), holds slow-header connections and
//! WebSockets that never initialise, while a legitimate client measures `{ __typename }`.
//! Reports the legitimate client's latency alone (the baseline, same run) and under
//! attack, what the attacker got, and the server's peak memory.
//!
//!   bash bench/hostile.sh [sqlite|postgres] [seconds]

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use clap::Parser;
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[derive(Parser)]
#[command(name = "hostile")]
struct Cli {
    #[arg(long, default_value = "http://127.0.0.1:8000")]
    url: String,
    /// The file `api seed` wrote (tokens).
    #[arg(long)]
    dataset: String,
    /// Seconds under attack.
    #[arg(long, default_value_t = 60.0)]
    duration: f64,
    /// Seconds of the baseline (the legitimate client alone).
    #[arg(long, default_value_t = 10.0)]
    baseline: f64,
    /// Hostile requests in flight.
    #[arg(long, default_value_t = 64)]
    attackers: usize,
    /// Legitimate requests in flight.
    #[arg(long, default_value_t = 4)]
    legitimate: usize,
    /// Connections that send their headers a byte at a time.
    #[arg(long, default_value_t = 500)]
    slow_connections: usize,
    /// WebSockets that never send `connection_init`.
    #[arg(long, default_value_t = 200)]
    idle_websockets: usize,
    /// The server's process id (memory).
    #[arg(long)]
    server_pid: Option<u32>,
    #[arg(long, default_value = "")]
    label: String,
    /// Only the attacker's requests whose name contains one of these (comma-separated).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
}

#[derive(serde::Deserialize)]
struct Dataset {
    student_tokens: Vec<String>,
}

/// One hostile request: a name, a body, and a token.
struct Shape {
    name: &'static str,
    /// Serialised once: the attacker's own CPU is not what is measured.
    body: Vec<u8>,
    token: Option<String>,
}

/// The most a list-heavy query may ask while staying within the default limits.
const WIDE: &str = "{ projects(first: 100) { edges { node { id name owner { username } \
    collaborators { username } tags { name } courses { group students { username } } } } } }";

fn shape(name: &'static str, body: Value, token: Option<String>) -> Shape {
    Shape {
        name,
        body: serde_json::to_vec(&body).unwrap_or_default(),
        token,
    }
}

fn shapes(token: &str) -> Vec<Shape> {
    let mut bomb = String::from("{ ...F0 }");
    for i in 0..20 {
        bomb.push_str(&format!(
            " fragment F{i} on Query {{ ...F{n} ...F{n} }}",
            n = i + 1
        ));
    }
    bomb.push_str(" fragment F20 on Query { __typename }");
    let aliases: String = (0..2000).map(|i| format!("a{i}: __typename ")).collect();
    let mut deep = String::from("{ projects(first: 1) { edges { node { id ");
    for _ in 0..60 {
        deep.push_str("owner { projects(first: 1) { edges { node { id ");
    }
    deep.push_str(&"} } } } ".repeat(61));
    deep.push('}');
    let signed = Some(token.to_owned());
    vec![
        shape("fragment bomb", json!({ "query": bomb }), None),
        shape(
            "alias flood",
            json!({ "query": format!("{{ {aliases} }}") }),
            None,
        ),
        shape("deep nesting", json!({ "query": deep }), signed.clone()),
        shape(
            "1 MB argument",
            json!({ "query": "query($s: String) { users(filter: { search: $s }) { totalCount } }",
                          "variables": { "s": "x".repeat(1_000_000) } }),
            signed.clone(),
        ),
        shape(
            "over-long argument",
            json!({ "query": "query($s: String) { users(filter: { search: $s }) { totalCount } }",
                          "variables": { "s": "%".repeat(10_001) } }),
            signed.clone(),
        ),
        shape(
            "widest admitted query",
            json!({ "query": WIDE }),
            signed.clone(),
        ),
        shape(
            "batch of widest",
            Value::Array(vec![json!({ "query": WIDE }); 10]),
            signed.clone(),
        ),
        shape(
            "search scan",
            json!({ "query": "{ users(first: 100, filter: { search: \"a\" }) { edges { node { username } } } }" }),
            signed.clone(),
        ),
        shape(
            "mutation flood",
            json!({ "query": "mutation { updateMyProfile(input: { firstName: \"Mallory\" }) { id } }" }),
            signed,
        ),
        shape(
            "bad token",
            json!({ "query": "{ __typename }" }),
            Some("not.a.token".into()),
        ),
    ]
}

fn histogram() -> Histogram<u64> {
    Histogram::<u64>::new_with_bounds(1, 120_000_000, 3).expect("histogram bounds")
}

/// The legitimate client: `{ __typename }` with `n` in flight until `stop`.
async fn legitimate(
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
fn measure(
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

/// Per shape and answer: how many, and their total time in microseconds.
type Tally = Arc<Mutex<BTreeMap<String, (u64, u64)>>>;

fn count(tally: &Tally, key: String, micros: u64) {
    let mut tally = tally
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let entry = tally.entry(key).or_default();
    entry.0 += 1;
    entry.1 += micros;
}

async fn attacker(
    client: reqwest::Client,
    url: String,
    shapes: Arc<Vec<Shape>>,
    worker: usize,
    stop: Arc<AtomicBool>,
    tally: Tally,
) {
    let mut next = worker;
    while !stop.load(Ordering::Relaxed) {
        let shape = &shapes[next % shapes.len()];
        next += 1;
        let sent = Instant::now();
        let mut request = client
            .post(&url)
            .header("content-type", "application/json")
            .body(shape.body.clone());
        if let Some(token) = &shape.token {
            request = request.bearer_auth(token);
        }
        let outcome = match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let body = response.bytes().await.unwrap_or_default();
                let code = serde_json::from_slice::<Value>(&body)
                    .ok()
                    .and_then(|v| {
                        let first = if v.is_array() { v[0].clone() } else { v };
                        first["errors"][0]["extensions"]["code"]
                            .as_str()
                            .map(str::to_owned)
                    })
                    .unwrap_or_else(|| "data".into());
                format!("{status} {code}")
            }
            Err(_) => "connection error".into(),
        };
        count(
            &tally,
            format!("{}: {outcome}", shape.name),
            sent.elapsed().as_micros() as u64,
        );
    }
}

/// A connection that sends a request's head one byte every two seconds; reopened when
/// the server closes it.
async fn slow_header(addr: String, stop: Arc<AtomicBool>, closed: Arc<AtomicU64>) {
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
async fn idle_websocket(url: String, stop: Arc<AtomicBool>, closed: Arc<AtomicU64>) {
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

fn memory_kb(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let cli = Cli::parse();
    let dataset: Dataset =
        serde_json::from_str(&std::fs::read_to_string(&cli.dataset).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    let token = dataset
        .student_tokens
        .first()
        .cloned()
        .ok_or("the dataset has no student token")?;
    let base = cli.url.trim_end_matches('/').to_owned();
    let url = format!("{base}/graphql");
    let addr = base.trim_start_matches("http://").to_owned();
    let hostile_client = reqwest::Client::builder()
        .tcp_nodelay(true)
        .build()
        .map_err(|e| e.to_string())?;

    // The baseline: the legitimate client alone.
    let (alone, alone_errors, alone_secs) = measure(url.clone(), cli.legitimate, cli.baseline)
        .join()
        .map_err(|_| "the legitimate client panicked")?;

    // Under attack.
    let stop = Arc::new(AtomicBool::new(false));
    let tally: Tally = Arc::default();
    let mut shapes = shapes(&token);
    if !cli.only.is_empty() {
        shapes.retain(|shape| {
            cli.only
                .iter()
                .any(|only| shape.name.contains(only.as_str()))
        });
    }
    let shapes = Arc::new(shapes);
    let (slow_closed, ws_closed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut background = Vec::new();
    for _ in 0..cli.slow_connections {
        background.push(tokio::spawn(slow_header(
            addr.clone(),
            stop.clone(),
            slow_closed.clone(),
        )));
    }
    let ws_url = format!("ws://{addr}/graphql/ws");
    for _ in 0..cli.idle_websockets {
        background.push(tokio::spawn(idle_websocket(
            ws_url.clone(),
            stop.clone(),
            ws_closed.clone(),
        )));
    }
    for worker in 0..cli.attackers {
        background.push(tokio::spawn(attacker(
            hostile_client.clone(),
            url.clone(),
            shapes.clone(),
            worker,
            stop.clone(),
            tally.clone(),
        )));
    }
    let peak_rss = Arc::new(AtomicU64::new(0));
    if let Some(pid) = cli.server_pid {
        let (stop, peak) = (stop.clone(), peak_rss.clone());
        background.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                if let Some(kb) = memory_kb(pid, "VmRSS:") {
                    peak.fetch_max(kb, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }));
    }
    let legit = measure(url.clone(), cli.legitimate, cli.duration);
    let (attacked, attacked_errors, attacked_secs) =
        tokio::task::spawn_blocking(move || legit.join())
            .await
            .map_err(|e| e.to_string())?
            .map_err(|_| "the legitimate client panicked")?;
    stop.store(true, Ordering::Relaxed);
    for task in background {
        task.abort();
    }

    println!("| backend | legitimate client | requests/s | p50 ms | p99 ms | max ms | errors |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    for (name, h, errors, secs) in [
        ("alone (baseline)", &alone, alone_errors, alone_secs),
        ("under attack", &attacked, attacked_errors, attacked_secs),
    ] {
        println!(
            "| {} | {name} | {:.0} | {:.2} | {:.2} | {:.2} | {errors} |",
            cli.label,
            h.len() as f64 / secs,
            ms(h, 0.5),
            ms(h, 0.99),
            h.max() as f64 / 1000.0
        );
    }
    println!(
        "\np99 under attack / alone: {:.2}",
        ms(&attacked, 0.99) / ms(&alone, 0.99).max(0.001)
    );
    println!("\n| attacker's request | answer | count | mean ms |\n|---|---|---:|---:|");
    let tally = tally
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for (key, (n, micros)) in tally.iter() {
        let (shape, outcome) = key.split_once(": ").unwrap_or((key, ""));
        let mean = *micros as f64 / 1000.0 / (*n).max(1) as f64;
        println!("| {shape} | {outcome} | {n} | {mean:.1} |");
    }
    println!(
        "\nslow-header connections closed by the server: {}; idle WebSockets closed: {}",
        slow_closed.load(Ordering::Relaxed),
        ws_closed.load(Ordering::Relaxed)
    );
    if let Some(pid) = cli.server_pid {
        let hwm = memory_kb(pid, "VmHWM:").unwrap_or(0);
        println!(
            "server memory: peak resident during the attack {:.1} MB (sampled every 100 ms), process peak {:.1} MB",
            peak_rss.load(Ordering::Relaxed) as f64 / 1024.0,
            hwm as f64 / 1024.0
        );
    }
    Ok(())
}
