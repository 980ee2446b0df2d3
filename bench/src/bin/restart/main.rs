//! Apps across gateway restarts (BENCHMARKS.md): deploys `--apps` tiny apps, then, for
//! each round, stops the gateway (SIGTERM as for an upgrade, or SIGKILL as in a crash),
//! starts the same binary again on the same data, and times from the new process's
//! start to every app answering through it. Medians of `--rounds`.
//!
//!   bash bench/restart.sh [rounds]

use std::{
    net::SocketAddr,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use clap::Parser;
use serde::Deserialize;

// The isolation benchmark's platform driver; this one does not stop or delete apps.
#[path = "../isolation/platform.rs"]
#[allow(
    dead_code,
    reason = "shared with the isolation benchmark, which uses all of it"
)]
mod platform;

use self::platform::Platform;

#[derive(Parser)]
#[command(name = "restart")]
struct Cli {
    /// The gateway's address (BIND_ADDR of the environment this runs in).
    #[arg(long, default_value = "127.0.0.1:18420")]
    addr: SocketAddr,
    /// The file `api seed` wrote.
    #[arg(long)]
    dataset: String,
    /// The gateway binary, started with this process's environment.
    #[arg(long, default_value = "target/release/api")]
    api_binary: PathBuf,
    /// The `tiny-app` binary the apps run.
    #[arg(long, default_value = "target/release/tiny-app")]
    app_binary: PathBuf,
    #[arg(long, default_value = "apps.localhost")]
    apps_domain: String,
    #[arg(long, default_value_t = 10)]
    apps: usize,
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

#[derive(Deserialize)]
struct Dataset {
    courses: (i32, i32),
    admin_token: String,
}

/// The gateway as a child process, reading its settings from the environment.
fn gateway(cli: &Cli) -> Result<Child, String> {
    Command::new(&cli.api_binary)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", cli.api_binary.display()))
}

/// The newest deployment of a project: its id and status.
async fn newest(platform: &Platform, project: &str) -> Result<(i64, String), String> {
    let data = platform
        .call(
            "query($p: ID!) { project(id: $p) { deployments(first: 1) { id status } } }",
            serde_json::json!({ "p": project }),
        )
        .await?;
    let newest = &data["project"]["deployments"][0];
    let id = newest["id"]
        .as_str()
        .and_then(|i| i.parse().ok())
        .unwrap_or(0);
    Ok((id, newest["status"].as_str().unwrap_or_default().to_owned()))
}

/// Waits until every app answers 200 through the gateway from an instance started
/// after `before` (each project's newest deployment then): an app a killed gateway left
/// running answers too, until the new one replaces it, and does not count.
async fn all_restarted(
    client: &reqwest::Client,
    platform: &Platform,
    cli: &Cli,
    apps: &[(String, String)],
    before: &[i64],
) -> Result<(), String> {
    let started = Instant::now();
    let mut left: Vec<usize> = (0..apps.len()).collect();
    while !left.is_empty() {
        if started.elapsed() > Duration::from_secs(120) {
            return Err(format!("{} apps not back after 120 s", left.len()));
        }
        let mut still = Vec::new();
        for i in left {
            let (slug, project) = &apps[i];
            let url = format!("http://{slug}.{}:{}/", cli.apps_domain, cli.addr.port());
            let fresh = matches!(newest(platform, project).await, Ok((id, status)) if id > before[i] && status == "SUCCEEDED");
            let up = fresh
                && client
                    .get(&url)
                    .timeout(Duration::from_secs(2))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
            if !up {
                still.push(i);
            }
        }
        left = still;
        if !left.is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(())
}

async fn ready(client: &reqwest::Client, cli: &Cli) -> Result<(), String> {
    for _ in 0..300 {
        let url = format!("http://{}/graphql?query=%7B__typename%7D", cli.addr);
        if client
            .get(&url)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err("the gateway did not start".into())
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

/// Stops the gateway with `signal` and waits for it to exit.
fn stop(child: &mut Child, signal: &str) -> Result<(), String> {
    let sent = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .map_err(|e| e.to_string())?;
    if !sent.success() {
        return Err(format!("kill {signal} failed"));
    }
    child.wait().map_err(|e| e.to_string()).map(drop)
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let cli = Cli::parse();
    let text =
        std::fs::read_to_string(&cli.dataset).map_err(|e| format!("{}: {e}", cli.dataset))?;
    let dataset: Dataset =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", cli.dataset))?;
    // `*.apps.localhost` names the gateway, as a browser resolves it.
    let mut builder = reqwest::Client::builder();
    let slugs: Vec<String> = (0..cli.apps).map(|n| format!("restart-app-{n}")).collect();
    for slug in &slugs {
        builder = builder.resolve(&format!("{slug}.{}", cli.apps_domain), cli.addr);
    }
    let client = builder.build().map_err(|e| e.to_string())?;
    let platform = Platform {
        client: client.clone(),
        graphql: format!("http://{}/graphql", cli.addr),
        token: dataset.admin_token.clone(),
        course: dataset.courses.0,
    };
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut child = gateway(&cli)?;
    ready(&client, &cli).await?;
    let mut apps = Vec::new();
    for slug in &slugs {
        let repo = platform::repo(dir.path(), slug, &cli.app_binary, "")?;
        let project = platform.project(slug, &repo).await?;
        platform.run(&project, false).await?;
        apps.push((slug.clone(), project));
    }
    println!(
        "{} apps deployed; each round stops the gateway and starts it again\n",
        cli.apps
    );
    println!("| stop | round | new process to every app answering from a new instance |");
    println!("|---|---|---|");
    for signal in ["-TERM", "-KILL"] {
        let mut times = Vec::new();
        for round in 1..=cli.rounds {
            let mut before = Vec::new();
            for (_, project) in &apps {
                before.push(newest(&platform, project).await?.0);
            }
            stop(&mut child, signal)?;
            child = gateway(&cli)?;
            let started = Instant::now();
            all_restarted(&client, &platform, &cli, &apps, &before).await?;
            let took = started.elapsed();
            println!("| {signal} | {round} | {:.2} s |", took.as_secs_f64());
            times.push(took);
        }
        println!(
            "| {signal} | median | **{:.2} s** |",
            median(times).as_secs_f64()
        );
    }
    stop(&mut child, "-TERM")?;
    Ok(())
}
