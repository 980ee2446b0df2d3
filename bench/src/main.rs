//! Load driver: keeps N requests in flight over keep-alive connections, varies ids across
//! the seeded dataset, checks every answer has no `errors`, and prints requests/s,
//! latency percentiles, errors, SQL statements per request and the server's peak memory.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use clap::Parser;
use hdrhistogram::Histogram;
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde::Deserialize;
use serde_json::{Value, json};

/// Drives the gateway with the benchmark workloads.
mod measure;

use self::measure::{Row, measure_row};

#[derive(Parser)]
#[command(name = "bench")]
struct Cli {
    /// The gateway's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8000")]
    url: String,
    /// The file `api seed` wrote (ids and tokens).
    #[arg(long, default_value = "data/bench-dataset.json")]
    dataset: String,
    /// Workloads, comma-separated: q0 q1 q2 q3 q4 m1.
    #[arg(long, value_delimiter = ',', default_value = "q0,q1,q2,q3,q4,m1")]
    workload: Vec<String>,
    /// Requests in flight, comma-separated for several runs.
    #[arg(long, value_delimiter = ',', default_value = "32")]
    concurrency: Vec<usize>,
    /// How long each run lasts, in seconds.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Unmeasured warm-up before each run, in seconds.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Sequential requests used to count SQL statements per request (0: skip).
    #[arg(long, default_value_t = 20)]
    statements: usize,
    /// The server's process id, to report its peak resident memory.
    #[arg(long)]
    server_pid: Option<u32>,
    /// A label for the table (for example the backend).
    #[arg(long, default_value = "")]
    label: String,
    /// Runs of each workload and concurrency; the row reports the run with the median
    /// requests/s and the spread over all of them.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=99))]
    repeat: u32,
}

#[derive(Deserialize)]
struct Dataset {
    projects: (i32, i32),
    courses: (i32, i32),
    student_tokens: Vec<String>,
    teacher_tokens: Vec<String>,
}

struct Workload {
    name: &'static str,
    query: &'static str,
}

const WORKLOADS: [Workload; 6] = [
    Workload {
        name: "q0",
        query: include_str!("../workloads/q0.graphql"),
    },
    Workload {
        name: "q1",
        query: include_str!("../workloads/q1.graphql"),
    },
    Workload {
        name: "q2",
        query: include_str!("../workloads/q2.graphql"),
    },
    Workload {
        name: "q3",
        query: include_str!("../workloads/q3.graphql"),
    },
    Workload {
        name: "q4",
        query: include_str!("../workloads/q4.graphql"),
    },
    Workload {
        name: "m1",
        query: include_str!("../workloads/m1.graphql"),
    },
];

/// The variables and token of one request of `workload`, drawn from the dataset.
fn request(workload: &str, dataset: &Dataset, rng: &mut StdRng) -> (Value, Option<String>) {
    let project = rng.random_range(dataset.projects.0..=dataset.projects.1);
    let student = dataset
        .student_tokens
        .get(rng.random_range(0..dataset.student_tokens.len().max(1)))
        .cloned();
    match workload {
        "q0" => (json!({}), None),
        "q1" | "q3" => (json!({ "id": project.to_string() }), student),
        "q2" => {
            let last_start = (dataset.projects.1 - 50).max(dataset.projects.0);
            let start = rng.random_range(dataset.projects.0..=last_start) - 1;
            let after =
                (start >= dataset.projects.0).then(|| URL_SAFE_NO_PAD.encode(start.to_string()));
            (json!({ "after": after }), student)
        }
        "q4" => (
            json!({ "id": rng.random_range(dataset.courses.0..=dataset.courses.1).to_string() }),
            student,
        ),
        "m1" => {
            let teacher = dataset
                .teacher_tokens
                .get(rng.random_range(0..dataset.teacher_tokens.len().max(1)))
                .cloned();
            (
                json!({ "project": project.to_string(), "stars": rng.random_range(1..=5) }),
                teacher,
            )
        }
        other => panic!("unknown workload {other}"),
    }
}

async fn send(
    client: &reqwest::Client,
    url: &str,
    query: &str,
    variables: Value,
    token: Option<&str>,
) -> Result<(), String> {
    let mut builder = client
        .post(url)
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        builder = builder.bearer_auth(token);
    }
    let response = builder.send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let bytes = response.bytes().await.map_err(|e| e.to_string())?;
    // Checks the whole answer is JSON with data and no `errors` without building a value
    // tree: the driver shares the cores with the gateway, so it should cost little.
    let answer: Answer = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    if status != 200 || answer.errors.is_some() || answer.data.is_none() {
        return Err(format!("{status}: {}", String::from_utf8_lossy(&bytes)));
    }
    Ok(())
}

/// What the driver checks of an answer.
#[derive(serde::Deserialize)]
struct Answer {
    data: Option<serde::de::IgnoredAny>,
    errors: Option<serde::de::IgnoredAny>,
}

/// The gateway's counters per database from `/metrics`: SQL statements, and round trips
/// (PostgreSQL only).
async fn counters(
    client: &reqwest::Client,
    base: &str,
) -> Result<([u64; 3], Option<[u64; 3]>), String> {
    let text = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    let per_database = |metric: &str| -> Option<[u64; 3]> {
        let mut counts = [0u64; 3];
        for (i, db) in ["users", "academic", "projects"].iter().enumerate() {
            let prefix = format!("{metric}{{database=\"{db}\"}} ");
            counts[i] = text
                .lines()
                .find_map(|l| l.strip_prefix(&prefix))
                .and_then(|v| v.trim().parse().ok())?;
        }
        Some(counts)
    };
    let statements =
        per_database("gateway_sql_statements_total").ok_or("/metrics has no statement counts")?;
    Ok((
        statements,
        per_database("gateway_database_round_trips_total"),
    ))
}

/// `after - before` per request, as `total (users+academic+projects)`.
fn per_request(before: [u64; 3], after: [u64; 3], n: usize) -> String {
    let each: Vec<f64> = (0..3)
        .map(|i| (after[i] - before[i]) as f64 / n as f64)
        .collect();
    format!(
        "{:.1} ({:.1}+{:.1}+{:.1})",
        each.iter().sum::<f64>(),
        each[0],
        each[1],
        each[2]
    )
}

/// The CPU model and core count of this machine, as `/proc/cpuinfo` says.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or("unknown CPU", str::trim)
        .to_owned();
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    format!("{model}, {cores} cores")
}

fn peak_memory_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// SQL statements and round trips per request of `workload` (per database, from the
/// gateway's `/metrics`), over `n` requests sent one at a time after the same `n` as a
/// warm-up: two table cells.
async fn statements_per_request(
    client: &reqwest::Client,
    base: &str,
    workload: &Workload,
    dataset: &Dataset,
    n: usize,
) -> Result<String, String> {
    let url = format!("{base}/graphql");
    // The same n requests twice, counting the second time: what a request costs once
    // its caller's viewer is kept and its statements are prepared on the pooled
    // connections, as under load.
    let mut counted = Vec::new();
    for _ in 0..2 {
        let mut rng = StdRng::seed_from_u64(1);
        counted.push(counters(client, base).await?);
        for _ in 0..n {
            let (variables, token) = request(workload.name, dataset, &mut rng);
            send(client, &url, workload.query, variables, token.as_deref()).await?;
        }
    }
    let (before, after) = (counted[1], counters(client, base).await?);
    let trips = match (before.1, after.1) {
        (Some(before), Some(after)) => per_request(before, after, n),
        _ => "-".to_owned(),
    };
    Ok(format!("{} | {trips}", per_request(before.0, after.0, n)))
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let cli = Cli::parse();
    println!("machine: {}\n", machine());
    let dataset: Dataset = serde_json::from_str(
        &std::fs::read_to_string(&cli.dataset)
            .map_err(|e| format!("{}: {e} (run `api seed` first)", cli.dataset))?,
    )
    .map_err(|e| format!("{}: {e}", cli.dataset))?;
    let dataset = Arc::new(dataset);
    let base = cli.url.trim_end_matches('/').to_owned();
    let url = format!("{base}/graphql");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .tcp_nodelay(true)
        .build()
        .map_err(|e| e.to_string())?;
    println!(
        "| backend | workload | concurrency | requests/s | p50 ms | p90 ms | p99 ms | errors | statements/request (users+academic+projects) | round trips/request (users+academic+projects) | requests/s over {} runs (lowest–highest) |",
        cli.repeat
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---|---|---|");
    for name in &cli.workload {
        let workload = WORKLOADS
            .iter()
            .find(|w| w.name == name.as_str())
            .ok_or_else(|| format!("unknown workload {name}"))?;
        let per_request = if cli.statements > 0 {
            statements_per_request(&client, &base, workload, &dataset, cli.statements).await?
        } else {
            "- | -".to_owned()
        };
        for &concurrency in &cli.concurrency {
            let row = Row {
                workload,
                concurrency,
                per_request: &per_request,
            };
            measure_row(&cli, &client, &url, &dataset, row).await;
        }
    }
    if let Some(pid) = cli.server_pid {
        match peak_memory_mb(pid) {
            Some(mb) => println!("\nserver peak resident memory (VmHWM): {mb:.1} MB"),
            None => println!("\nserver peak resident memory: unreadable for pid {pid}"),
        }
    }
    Ok(())
}
