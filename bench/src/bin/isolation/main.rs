//! Isolation under load, in one sitting (BENCHMARKS.md):
//! 1. Q1's throughput and p99 while three CPU-bound student apps run, as a ratio to Q1
//!    with the same apps stopped, rounds alternating (target ≥ 0.7);
//! 2. the proxy's overhead on a small static answer: an app's `GET /` through the
//!    gateway (at the app's own host) ÷ straight to the app's forwarded loopback port,
//!    rounds alternating (target ≥ 0.5).
//!
//!   bash bench/isolation.sh [seconds]

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use clap::Parser;
use rand::{Rng, rngs::StdRng};
use serde::Deserialize;
use serde_json::json;

mod load;
mod platform;

use self::{
    load::{Check, MakeRequest, Outcome},
    platform::Platform,
};

#[derive(Parser)]
#[command(name = "isolation")]
struct Cli {
    /// The gateway's base URL.
    #[arg(long, default_value = "http://127.0.0.1:18410")]
    url: String,
    /// The file `api seed` wrote.
    #[arg(long)]
    dataset: String,
    /// The gateway's APPS_DOMAIN.
    #[arg(long, default_value = "apps.localhost")]
    apps_domain: String,
    /// The `tiny-app` binary the student apps run.
    #[arg(long, default_value = "target/release/tiny-app")]
    app_binary: PathBuf,
    /// Seconds of each measured run.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Unmeasured seconds before each run.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Rounds of each pair (baseline, then measured); the median of each is reported.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Q1 requests in flight.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Requests in flight against the app.
    #[arg(long, default_value_t = 32)]
    proxy_concurrency: usize,
    /// CPU-bound apps, and the busy threads of each.
    #[arg(long, default_value_t = 3)]
    spinning: usize,
    #[arg(long, default_value_t = 4)]
    spin_threads: usize,
    /// Skip the CPU-bound phase (measure the proxy only).
    #[arg(long)]
    proxy_only: bool,
}

#[derive(Deserialize)]
struct Dataset {
    projects: (i32, i32),
    courses: (i32, i32),
    student_tokens: Vec<String>,
    admin_token: String,
}

const Q1: &str = include_str!("../../../workloads/q1.graphql");

fn no_errors(body: &str) -> bool {
    body.starts_with("{\"data\"") && !body.contains("\"errors\"")
}

fn tiny_answer(body: &str) -> bool {
    body == "hello from a student app\n"
}

struct Sitting {
    cli: Cli,
    client: reqwest::Client,
}

impl Sitting {
    /// A warm-up (unmeasured), then a measured run, of `make`'s requests sent by `client`.
    async fn measure(
        &self,
        client: &reqwest::Client,
        make: &MakeRequest,
        check: Check,
        concurrency: usize,
    ) -> Outcome {
        let secs = Duration::from_secs_f64;
        if self.cli.warmup > 0.0 {
            load::run(client, concurrency, secs(self.cli.warmup), make, check).await;
        }
        let outcome = load::run(client, concurrency, secs(self.cli.duration), make, check).await;
        if let Some(error) = &outcome.first_error {
            eprintln!("first error: {error}");
        }
        outcome
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Prints a row per run, then the medians and their ratios.
fn report(what: &str, baseline: &str, measured: &str, pairs: &[(Outcome, Outcome)]) {
    println!("\n{what}\n");
    println!("| round | run | requests/s | p50 ms | p99 ms | errors |");
    println!("|---|---|---|---|---|---|");
    for (round, (a, b)) in pairs.iter().enumerate() {
        for (name, o) in [(baseline, a), (measured, b)] {
            println!(
                "| {} | {name} | {:.0} | {:.2} | {:.2} | {} |",
                round + 1,
                o.rate,
                o.p50,
                o.p99,
                o.errors
            );
        }
    }
    let of = |pick: fn(&(Outcome, Outcome)) -> f64| median(pairs.iter().map(pick).collect());
    let (rate_a, rate_b) = (of(|p| p.0.rate), of(|p| p.1.rate));
    let (p99_a, p99_b) = (of(|p| p.0.p99), of(|p| p.1.p99));
    println!(
        "\nmedians: {baseline} {rate_a:.0} requests/s, p99 {p99_a:.2} ms; {measured} {rate_b:.0} requests/s, p99 {p99_b:.2} ms"
    );
    println!(
        "ratio {measured} ÷ {baseline}: throughput {:.2}, p99 (baseline ÷ measured, higher is better) {:.2}",
        rate_b / rate_a,
        p99_a / p99_b
    );
}

/// Q1 with the CPU-bound apps stopped, then running, `repeat` times.
async fn cpu_bound(
    s: &Sitting,
    platform: &Platform,
    dataset: Arc<Dataset>,
    dir: &std::path::Path,
) -> Result<Vec<(Outcome, Outcome)>, String> {
    let cli = &s.cli;
    let args = format!("--spin {}", cli.spin_threads);
    let mut projects = Vec::new();
    for n in 0..cli.spinning {
        let slug = format!("spin-{n}");
        let repo = platform::repo(dir, &slug, &cli.app_binary, &args)?;
        let project = platform.project(&slug, &repo).await?;
        platform.run(&project, false).await?;
        platform.stop(&project).await?;
        projects.push(project);
    }
    let url = format!("{}/graphql", cli.url);
    let make: MakeRequest = Arc::new(move |client: &reqwest::Client, rng: &mut StdRng| {
        let id = rng.random_range(dataset.projects.0..=dataset.projects.1);
        let token = &dataset.student_tokens[rng.random_range(0..dataset.student_tokens.len())];
        client
            .post(&url)
            .bearer_auth(token)
            .json(&json!({ "query": Q1, "variables": { "id": id.to_string() } }))
    });
    let mut pairs = Vec::new();
    for _ in 0..cli.repeat {
        let alone = s
            .measure(&s.client, &make, no_errors, cli.concurrency)
            .await;
        for project in &projects {
            platform.run(project, true).await?;
        }
        let beside = s
            .measure(&s.client, &make, no_errors, cli.concurrency)
            .await;
        for project in &projects {
            platform.stop(project).await?;
        }
        pairs.push((alone, beside));
    }
    for project in &projects {
        platform.delete(project).await?;
    }
    Ok(pairs)
}

/// The measured app's slug (5 to 30 characters, as every slug).
const SLUG: &str = "tiny-app";

/// An app's `GET /` straight to its forwarded port, then through the gateway.
async fn proxy(
    s: &Sitting,
    platform: &Platform,
    dir: &std::path::Path,
) -> Result<Vec<(Outcome, Outcome)>, String> {
    let cli = &s.cli;
    let before = platform::forwarded_ports();
    let repo = platform::repo(dir, SLUG, &cli.app_binary, "")?;
    let project = platform.project(SLUG, &repo).await?;
    platform.run(&project, false).await?;
    let after = platform::forwarded_ports();
    let fresh: Vec<u16> = after.into_iter().filter(|p| !before.contains(p)).collect();
    let [port] = fresh[..] else {
        return Err(format!("expected one new forwarded port, found {fresh:?}"));
    };
    let gateway: SocketAddr = cli
        .url
        .trim_start_matches("http://")
        .parse()
        .map_err(|e| format!("--url {}: {e}", cli.url))?;
    let host = format!("{SLUG}.{}", cli.apps_domain);
    let direct_url = format!("http://127.0.0.1:{port}/");
    let direct: MakeRequest = Arc::new(move |client, _| client.get(&direct_url));
    let proxied_url = format!("http://{host}:{}/", gateway.port());
    let proxied: MakeRequest = Arc::new(move |client, _| client.get(&proxied_url));
    // The proxied requests name the app's host; it resolves to the gateway.
    let through = reqwest::Client::builder()
        .resolve(&host, gateway)
        .build()
        .map_err(|e| e.to_string())?;
    let mut pairs = Vec::new();
    for _ in 0..cli.repeat {
        let straight = s
            .measure(&s.client, &direct, tiny_answer, cli.proxy_concurrency)
            .await;
        let proxied = s
            .measure(&through, &proxied, tiny_answer, cli.proxy_concurrency)
            .await;
        pairs.push((straight, proxied));
    }
    platform.delete(&project).await?;
    Ok(pairs)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    format!("{cpu}, {cores} cores")
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let cli = Cli::parse();
    let text =
        std::fs::read_to_string(&cli.dataset).map_err(|e| format!("{}: {e}", cli.dataset))?;
    let dataset: Arc<Dataset> =
        Arc::new(serde_json::from_str(&text).map_err(|e| format!("{}: {e}", cli.dataset))?);
    let s = Sitting {
        cli,
        client: reqwest::Client::new(),
    };
    let platform = Platform {
        client: s.client.clone(),
        graphql: format!("{}/graphql", s.cli.url),
        token: dataset.admin_token.clone(),
        course: dataset.courses.0,
    };
    let dir = tempfile::tempdir().map_err(|e| format!("a temporary folder: {e}"))?;
    println!("machine: {}", machine());
    if !s.cli.proxy_only {
        let pairs = cpu_bound(&s, &platform, dataset.clone(), dir.path()).await?;
        let what = format!(
            "Q1, {} in flight; beside {} apps each spinning {} threads (DEPLOY_CPU_PERCENT as the gateway was started)",
            s.cli.concurrency, s.cli.spinning, s.cli.spin_threads
        );
        report(&what, "alone", "beside", &pairs);
    }
    let pairs = proxy(&s, &platform, dir.path()).await?;
    let what = format!(
        "an app's GET / (25 bytes), {} in flight: straight to its forwarded port, then through the gateway",
        s.cli.proxy_concurrency
    );
    report(&what, "straight", "proxied", &pairs);
    Ok(())
}
