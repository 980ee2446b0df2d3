//! The deploy queue's own figures, on SQLite and PostgreSQL: enqueue-to-start latency on
//! an idle queue, and how many no-op jobs per second the queue claims and finishes with
//! 4 workers. Each figure comes with a baseline measured in the same run on the same
//! database (one write transaction's round trips), so runs on other machines compare as
//! ratios.
//!
//!   cargo run -p bench --release --bin deploy-queue -- [--postgres URL] [--jobs N]

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use chrono::Utc;
use clap::Parser;
use deploy::{
    Engine, EngineConfig, JobRunner, Payload,
    pipeline::{Done, JobContext, StepError},
    queue::{self, Claimed},
};
use entities::projects::{
    enums::{JobKind, JobStatus},
    job, project,
};
use hdrhistogram::Histogram;
use migration::{Domain, Verb};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, Database, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, Set, sea_query::Expr,
};
use tokio::sync::mpsc;

#[derive(Parser)]
#[command(name = "deploy-queue")]
struct Cli {
    /// A PostgreSQL server (its `postgres` database is used to create a scratch one).
    #[arg(
        long,
        env = "BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432"
    )]
    postgres: String,
    /// Options appended to the PostgreSQL URL.
    #[arg(
        long,
        env = "BENCH_POSTGRES_OPTIONS",
        default_value = "?sslmode=disable"
    )]
    postgres_options: String,
    /// Backends: sqlite, postgres.
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
    backend: Vec<String>,
    /// Jobs queued for the throughput run.
    #[arg(long, default_value_t = 2000)]
    jobs: usize,
    /// Jobs enqueued one at a time for the latency run.
    #[arg(long, default_value_t = 300)]
    samples: usize,
    /// Workers for the throughput run.
    #[arg(long, default_value_t = 4)]
    workers: usize,
}

/// Jobs whose replica "dies" in the recovery run.
const RECOVERIES: usize = 10;

/// Tells the bench when each job starts; does nothing else.
struct Signal(Mutex<mpsc::UnboundedSender<(i32, Instant)>>);

impl JobRunner for Signal {
    fn run(&self, job: &Claimed, _ctx: &JobContext) -> Result<Done, StepError> {
        if let Ok(tx) = self.0.lock() {
            let _ = tx.send((job.job.id, Instant::now()));
        }
        Ok(Done {
            endpoint: None,
            process: None,
            folder: None,
            message: "done".into(),
            activate: None,
        })
    }
}

async fn projects(db: &DatabaseConnection, n: usize) -> Vec<project::Model> {
    let now = Utc::now();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let model = project::ActiveModel {
            owner_id: Set(1),
            name: Set(format!("Project {i}")),
            slug: Set(format!("bench-{i:06}")),
            repository_url: Set(format!("https://git.example.edu/{i}.git")),
            container_port: Set(8080),
            static_path: Set(None),
            description: Set(String::new()),
            image_file_id: Set(None),
            running: Set(false),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await
        .expect("a project");
        out.push(model);
    }
    out
}

/// Write transactions per second, one after another (BEGIN, one UPDATE, COMMIT): what
/// one round-trip-bound write costs here, for the ratios.
async fn baseline(db: &DatabaseConnection, project: i32) -> f64 {
    let started = Instant::now();
    let mut done = 0u32;
    while started.elapsed() < Duration::from_secs(2) {
        let txn = sea_orm::TransactionTrait::begin(db).await.expect("begin");
        project::Entity::update_many()
            .col_expr(project::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(project::Column::Id.eq(project))
            .exec(&txn)
            .await
            .expect("update");
        txn.commit().await.expect("commit");
        done += 1;
    }
    f64::from(done) / started.elapsed().as_secs_f64()
}

fn config(workers: usize) -> EngineConfig {
    let mut config = EngineConfig::new(std::env::temp_dir().join("deploy-queue-bench"));
    config.max_workers = workers;
    config
}

/// A migrated projects database with the gateway's own SQLite settings (WAL,
/// synchronous NORMAL, a busy timeout).
async fn connect(url: &str) -> DatabaseConnection {
    migration::ensure_database(Domain::Projects, url)
        .await
        .expect("database");
    migration::run(Domain::Projects, url, Verb::Up)
        .await
        .expect("migrated");
    let mut options = sea_orm::ConnectOptions::new(url);
    options.max_connections(8).sqlx_logging(false);
    options.map_sqlx_sqlite_opts(|sqlite| {
        sqlite
            .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
    });
    Database::connect(options).await.expect("connects")
}

/// An engine whose runner reports each job it starts on the returned channel.
fn engine(db: &DatabaseConnection, workers: usize) -> (Engine, Started) {
    let (tx, rx) = mpsc::unbounded_channel();
    let engine = Engine::start_with_runner(
        config(workers),
        db.clone(),
        Arc::new(Signal(Mutex::new(tx))),
    );
    (engine, rx)
}

type Started = mpsc::UnboundedReceiver<(i32, Instant)>;

/// Latency on an idle queue: enqueue through the engine (which wakes the dispatcher),
/// wait for the job to start and end, then the next.
async fn latency(
    db: &DatabaseConnection,
    projects: &[project::Model],
    workers: usize,
) -> Histogram<u64> {
    let (engine, mut rx) = engine(db, workers);
    let mut latency = Histogram::<u64>::new(3).expect("histogram");
    for p in projects {
        let before = Instant::now();
        let (job, _) = engine.deploy(p, 1).await.expect("queued");
        let (started_id, at) = rx.recv().await.expect("a start");
        assert_eq!(started_id, job.id);
        latency
            .record(u64::try_from(at.duration_since(before).as_micros()).unwrap_or(u64::MAX))
            .ok();
        while job::Entity::find_by_id(job.id)
            .one(db)
            .await
            .ok()
            .flatten()
            .is_some_and(|j| j.status == JobStatus::Running)
        {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }
    engine.shutdown().await;
    latency
}

/// Throughput: queue every job first, then let a fresh engine drain them; seconds taken.
async fn drain(db: &DatabaseConnection, projects: &[project::Model], workers: usize) -> f64 {
    for p in projects {
        queue::enqueue(db, JobKind::Deploy, &Payload::of(p), 1)
            .await
            .expect("queued");
    }
    let started = Instant::now();
    let (engine, mut rx) = engine(db, workers);
    let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
    loop {
        let open = job::Entity::find()
            .filter(job::Column::Status.is_in([JobStatus::Pending, JobStatus::Running]))
            .count(db)
            .await
            .expect("count");
        if open == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    engine.shutdown().await;
    drop(engine);
    drain.abort();
    elapsed
}

/// Recovery: a replica claims a job and dies (its lease, 1 s, is never renewed); a live
/// engine takes it back at its next look (every poll interval, 2 s). Milliseconds from
/// the lease's expiry to the job running again, per run.
async fn recovery(
    db: &DatabaseConnection,
    projects: &[project::Model],
    workers: usize,
) -> Vec<f64> {
    let (engine, mut rx) = engine(db, workers);
    let mut recovery = Vec::new();
    for p in projects {
        let (job, _) = queue::enqueue(db, JobKind::Deploy, &Payload::of(p), 1)
            .await
            .expect("queued");
        // The engine may claim it first: then the dead replica claims nothing this round.
        let Some(_) = queue::claim(db, "dead-replica", Duration::from_secs(1))
            .await
            .expect("claims")
        else {
            let _ = rx.recv().await;
            continue;
        };
        let expires = Instant::now() + Duration::from_secs(1);
        loop {
            let (id, at) = rx.recv().await.expect("a start");
            if id == job.id {
                recovery.push(at.saturating_duration_since(expires).as_secs_f64() * 1000.0);
                break;
            }
        }
    }
    engine.shutdown().await;
    recovery
}

async fn run(backend: &str, url: &str, cli: &Cli) {
    let db = connect(url).await;
    let all = projects(&db, cli.samples + cli.jobs + 1 + RECOVERIES).await;
    let base = baseline(&db, all[0].id).await;
    let latency = latency(&db, &all[1..=cli.samples], cli.workers).await;
    let throughput_end = cli.samples + 1 + cli.jobs;
    let elapsed = drain(&db, &all[cli.samples + 1..throughput_end], cli.workers).await;
    let recovery = recovery(&db, &all[throughput_end..], cli.workers).await;
    let mean = recovery.iter().sum::<f64>() / recovery.len().max(1) as f64;
    let worst = recovery.iter().copied().fold(0.0, f64::max);
    let per_second = cli.jobs as f64 / elapsed;
    let ms = |q: f64| latency.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "| {backend} | {base:.0} | {:.2} | {:.2} | {:.2} | {per_second:.0} | {:.2} | {mean:.0} / {worst:.0} ({} runs) |",
        ms(0.5),
        ms(0.99),
        ms(1.0),
        per_second / base,
        recovery.len()
    );
    let _ = db.execute_unprepared("SELECT 1").await;
    db.close().await.ok();
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    println!(
        "| backend | baseline write tx/s | enqueue→start p50 ms | p99 ms | max ms | no-op jobs/s ({} workers) | jobs/s ÷ baseline tx/s | lease expiry→re-run mean / max ms |",
        cli.workers
    );
    println!("|---|---|---|---|---|---|---|---|");
    for backend in &cli.backend {
        match backend.as_str() {
            "sqlite" => {
                let dir = tempfile::tempdir().expect("a folder");
                run("SQLite", &Domain::Projects.default_url(dir.path()), &cli).await;
            }
            "postgres" => {
                let name = format!("bench_queue_{}", std::process::id());
                let server = cli.postgres.trim_end_matches('/');
                let url = format!("{server}/{name}{}", cli.postgres_options);
                run("PostgreSQL", &url, &cli).await;
                let admin = Database::connect(format!("{server}/postgres{}", cli.postgres_options))
                    .await
                    .expect("admin");
                let _ = admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await;
            }
            other => eprintln!("unknown backend {other}"),
        }
    }
}
