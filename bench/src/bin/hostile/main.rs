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

mod clients;
mod shapes;

use self::{clients::*, shapes::*};

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

/// What the attack runs beside the legitimate client, and what it counts.
struct Attack {
    background: Vec<tokio::task::JoinHandle<()>>,
    stop: Arc<AtomicBool>,
    tally: Tally,
    slow_closed: Arc<AtomicU64>,
    ws_closed: Arc<AtomicU64>,
    peak_rss: Arc<AtomicU64>,
}

/// Starts the slow-header connections, the idle WebSockets, the attackers and the
/// server's memory sampler.
fn launch(cli: &Cli, token: &str, url: &str, addr: &str) -> Result<Attack, String> {
    let hostile_client = reqwest::Client::builder()
        .tcp_nodelay(true)
        .build()
        .map_err(|e| e.to_string())?;
    let stop = Arc::new(AtomicBool::new(false));
    let tally: Tally = Arc::default();
    let mut shapes = shapes(token);
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
        let task = slow_header(addr.to_owned(), stop.clone(), slow_closed.clone());
        background.push(tokio::spawn(task));
    }
    let ws_url = format!("ws://{addr}/graphql/ws");
    for _ in 0..cli.idle_websockets {
        let task = idle_websocket(ws_url.clone(), stop.clone(), ws_closed.clone());
        background.push(tokio::spawn(task));
    }
    for worker in 0..cli.attackers {
        background.push(tokio::spawn(attacker(
            hostile_client.clone(),
            url.to_owned(),
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
    Ok(Attack {
        background,
        stop,
        tally,
        slow_closed,
        ws_closed,
        peak_rss,
    })
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

    // The baseline: the legitimate client alone.
    let alone = measure(url.clone(), cli.legitimate, cli.baseline)
        .join()
        .map_err(|_| "the legitimate client panicked")?;

    // Under attack.
    let attack = launch(&cli, &token, &url, &addr)?;
    let legit = measure(url.clone(), cli.legitimate, cli.duration);
    let attacked = tokio::task::spawn_blocking(move || legit.join())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|_| "the legitimate client panicked")?;
    attack.stop.store(true, Ordering::Relaxed);
    for task in &attack.background {
        task.abort();
    }
    report(&cli, alone, attacked, &attack);
    Ok(())
}

type Measured = (Histogram<u64>, u64, f64);

fn report(cli: &Cli, alone: Measured, attacked: Measured, attack: &Attack) {
    let ((alone, alone_errors, alone_secs), (attacked, attacked_errors, attacked_secs)) =
        (alone, attacked);
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
    let tally = attack
        .tally
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for (key, (n, micros)) in tally.iter() {
        let (shape, outcome) = key.split_once(": ").unwrap_or((key, ""));
        let mean = *micros as f64 / 1000.0 / (*n).max(1) as f64;
        println!("| {shape} | {outcome} | {n} | {mean:.1} |");
    }
    println!(
        "\nslow-header connections closed by the server: {}; idle WebSockets closed: {}",
        attack.slow_closed.load(Ordering::Relaxed),
        attack.ws_closed.load(Ordering::Relaxed)
    );
    if let Some(pid) = cli.server_pid {
        let hwm = memory_kb(pid, "VmHWM:").unwrap_or(0);
        println!(
            "server memory: peak resident during the attack {:.1} MB (sampled every 100 ms), process peak {:.1} MB",
            attack.peak_rss.load(Ordering::Relaxed) as f64 / 1024.0,
            hwm as f64 / 1024.0
        );
    }
}
