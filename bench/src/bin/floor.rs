//! The database floor (issue 14): the data of Q1, Q2 and Q3 read with raw SQL and the
//! fewest statements the three databases allow (projects first, with everything it
//! holds about the projects in one statement; then academic for the course ids; then
//! users for every user id), on pools like the gateway's (8 connections per database),
//! at the same concurrency, for the same time, with ids drawn the same way. No HTTP, no
//! GraphQL, no authorization, no JSON answer: a workload's requests/s in the gateway
//! over this floor's is the share of the database-bound ceiling the gateway reaches.
//!   floor --dataset FILE [--workload q1,q2,q3] [--concurrency 32] [--duration 10]
//! Reads USERS_DATABASE_URL, ACADEMIC_DATABASE_URL and PROJECTS_DATABASE_URL, as the
//! gateway does (bench/env.sh sets them).

use std::{
    sync::{
        Arc, LazyLock,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use clap::Parser;
use hdrhistogram::Histogram;
use rand::{Rng, SeedableRng, rngs::StdRng};
use sea_orm::sqlx::{PgPool, Row, postgres::PgPoolOptions};

#[derive(Parser)]
struct Cli {
    /// The dataset file `api seed` wrote (its project ids).
    #[arg(long)]
    dataset: String,
    #[arg(long, value_delimiter = ',', default_value = "q1,q2,q3")]
    workload: Vec<String>,
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Seconds per workload.
    #[arg(long, default_value_t = 10)]
    duration: u64,
}

#[derive(serde::Deserialize)]
struct Dataset {
    projects: (i32, i32),
}

struct Pools {
    users: PgPool,
    academic: PgPool,
    projects: PgPool,
}

/// The projects of Q1 and Q2 with their owner, average, collaborator ids, course ids
/// and tags, as the gateway's project read has them.
const PROJECTS: &str = "SELECT p.id, p.name, p.slug, p.owner_id, \
    (SELECT CAST(avg(r.stars) AS DOUBLE PRECISION) FROM ratings r WHERE r.project_id = p.id) AS average, \
    (SELECT string_agg(CAST(c.user_id AS TEXT), ',' ORDER BY c.id) FROM collaborators c WHERE c.project_id = p.id) AS collaborators, \
    (SELECT string_agg(CAST(pc.course_id AS TEXT), ',' ORDER BY pc.id) FROM project_courses pc WHERE pc.project_id = p.id) AS courses, \
    (SELECT CAST(json_agg(json_build_array(t.name, tt.name) ORDER BY t.id) AS TEXT) FROM project_tags pt \
       JOIN tags t ON t.id = pt.tag_id JOIN tag_types tt ON tt.id = t.type_id WHERE pt.project_id = p.id) AS tags \
    FROM projects p";

const COURSES: &str = "SELECT c.id, c.group_name, c.teacher_id, s.code, s.name FROM courses c \
    JOIN subjects s ON s.id = c.subject_id WHERE c.id = ANY($1)";

const USERS: &str = "SELECT id, username, first_name FROM users WHERE id = ANY($1)";

const DEPLOYMENTS: &str = "SELECT d.id, CAST(d.status AS TEXT) AS status, d.successful, d.commit, \
    d.created_at, d.triggered_by FROM deployments d \
    WHERE d.project_id = $1 AND EXISTS (SELECT 1 FROM projects p WHERE p.id = $1) \
    ORDER BY d.created_at DESC, d.id DESC LIMIT 20";

/// Q1's statement: one project by id.
static ONE: LazyLock<String> = LazyLock::new(|| format!("{PROJECTS} WHERE p.id = $1"));

/// Q2's statement: 50 projects after a cursor (one more, to tell whether more follow),
/// each with the total count.
static PAGE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT * FROM ({PROJECTS} WHERE p.id > $1 ORDER BY p.id LIMIT 51) page, \
         (SELECT count(*) AS total FROM projects) counted"
    )
});

type Failure = sea_orm::sqlx::Error;

fn ids(text: Option<String>) -> impl Iterator<Item = i32> {
    text.unwrap_or_default()
        .split(',')
        .filter_map(|id| id.parse().ok())
        .collect::<Vec<_>>()
        .into_iter()
}

/// Q1 (`page` 1, one project by id) or Q2 (50 projects after a cursor, with the count).
async fn projects(pools: &Pools, sql: &'static str, key: i32) -> Result<usize, Failure> {
    let rows = sea_orm::sqlx::query(sql)
        .bind(key)
        .fetch_all(&pools.projects)
        .await?;
    let (mut course_ids, mut user_ids) = (Vec::new(), Vec::new());
    for row in &rows {
        let _: (String, String, Option<f64>, Option<String>) = (
            row.try_get("name")?,
            row.try_get("slug")?,
            row.try_get("average")?,
            row.try_get("tags")?,
        );
        user_ids.push(row.try_get::<i32, _>("owner_id")?);
        user_ids.extend(ids(row.try_get("collaborators")?));
        course_ids.extend(ids(row.try_get("courses")?));
    }
    let courses = sea_orm::sqlx::query(COURSES)
        .bind(&course_ids)
        .fetch_all(&pools.academic)
        .await?;
    for course in &courses {
        let _: (String, String, String) = (
            course.try_get("group_name")?,
            course.try_get("code")?,
            course.try_get("name")?,
        );
        user_ids.push(course.try_get::<i32, _>("teacher_id")?);
    }
    read_users(pools, user_ids).await?;
    Ok(rows.len())
}

/// The users behind `user_ids`, in one statement, decoded.
async fn read_users(pools: &Pools, mut user_ids: Vec<i32>) -> Result<(), Failure> {
    user_ids.sort_unstable();
    user_ids.dedup();
    let users = sea_orm::sqlx::query(USERS)
        .bind(&user_ids)
        .fetch_all(&pools.users)
        .await?;
    for user in &users {
        let _: (String, String) = (user.try_get("username")?, user.try_get("first_name")?);
    }
    Ok(())
}

/// Q3: one project's 20 newest deployments and who triggered them.
async fn deployments(pools: &Pools, project: i32) -> Result<usize, Failure> {
    let rows = sea_orm::sqlx::query(DEPLOYMENTS)
        .bind(project)
        .fetch_all(&pools.projects)
        .await?;
    let mut user_ids = Vec::new();
    for row in &rows {
        let _: (String, bool, Option<String>, chrono::DateTime<chrono::Utc>) = (
            row.try_get("status")?,
            row.try_get("successful")?,
            row.try_get("commit")?,
            row.try_get("created_at")?,
        );
        user_ids.push(row.try_get::<i32, _>("triggered_by")?);
    }
    read_users(pools, user_ids).await?;
    Ok(rows.len())
}

/// One request of `workload`, its ids drawn as the driver draws them.
async fn one(
    pools: &Pools,
    workload: &str,
    dataset: &Dataset,
    rng: &mut StdRng,
) -> Result<usize, Failure> {
    let (first, last) = dataset.projects;
    match workload {
        "q1" => projects(pools, &ONE, rng.random_range(first..=last)).await,
        "q2" => {
            let after = rng.random_range(first..=(last - 50).max(first)) - 1;
            projects(pools, &PAGE, after).await
        }
        "q3" => deployments(pools, rng.random_range(first..=last)).await,
        other => panic!("the floor has no workload {other} (q1, q2, q3)"),
    }
}

/// Runs `workload` at `concurrency` for `duration`: requests/s, p50 and p99 in ms.
async fn measure(
    pools: Arc<Pools>,
    dataset: Arc<Dataset>,
    workload: &'static str,
    concurrency: usize,
    duration: Duration,
) -> (f64, f64, f64) {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|worker| {
            let (pools, dataset, stop) = (pools.clone(), dataset.clone(), stop.clone());
            tokio::spawn(async move {
                let mut rng = StdRng::seed_from_u64(worker as u64 * 7919 + 17);
                let mut histogram =
                    Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds");
                while !stop.load(Ordering::Relaxed) {
                    let sent = Instant::now();
                    one(&pools, workload, &dataset, &mut rng)
                        .await
                        .expect("the floor's statements run");
                    let _ = histogram.record(sent.elapsed().as_micros() as u64);
                }
                histogram
            })
        })
        .collect();
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds");
    for task in tasks {
        let _ = all.add(task.await.expect("a worker"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let ms = |q: f64| all.value_at_quantile(q) as f64 / 1000.0;
    (all.len() as f64 / elapsed, ms(0.5), ms(0.99))
}

async fn pool(variable: &str) -> PgPool {
    let url = std::env::var(variable).unwrap_or_else(|_| panic!("{variable} is not set"));
    PgPoolOptions::new()
        .max_connections(8)
        .connect(&url)
        .await
        .unwrap_or_else(|e| panic!("{variable}: {e}"))
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let text = std::fs::read_to_string(&cli.dataset).expect("the dataset file");
    let dataset: Arc<Dataset> = Arc::new(serde_json::from_str(&text).expect("a dataset"));
    let pools = Arc::new(Pools {
        users: pool("USERS_DATABASE_URL").await,
        academic: pool("ACADEMIC_DATABASE_URL").await,
        projects: pool("PROJECTS_DATABASE_URL").await,
    });
    println!("| floor | workload | concurrency | requests/s | p50 ms | p99 ms |");
    println!("|---|---|---:|---:|---:|---:|");
    for name in &cli.workload {
        let workload: &'static str = match name.as_str() {
            "q1" => "q1",
            "q2" => "q2",
            "q3" => "q3",
            other => panic!("the floor has no workload {other} (q1, q2, q3)"),
        };
        // Warm-up: every pooled connection prepares its statements.
        let warm = Duration::from_secs(1);
        measure(
            pools.clone(),
            dataset.clone(),
            workload,
            cli.concurrency,
            warm,
        )
        .await;
        let duration = Duration::from_secs(cli.duration);
        let (rps, p50, p99) = measure(
            pools.clone(),
            dataset.clone(),
            workload,
            cli.concurrency,
            duration,
        )
        .await;
        println!(
            "| floor | {workload} | {} | {rps:.0} | {p50:.2} | {p99:.2} |",
            cli.concurrency
        );
    }
}
