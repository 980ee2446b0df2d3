//! The engine without processes: the queue's claims and fencing tokens, the worker
//! bound, claim order and panics, on SQLite and (with TEST_DATABASE_URL) PostgreSQL.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use chrono::Utc;
use deploy::{
    Engine, EngineConfig, EngineError, JobRunner, Payload,
    pipeline::{Done, JobContext, StepError},
    queue::{self, Claimed},
};
use entities::projects::{
    deployment,
    enums::{JobKind, JobStatus},
    job, project,
};
use migration::{Domain, Verb};
use sea_orm::{ActiveModelTrait, Database, DatabaseConnection, EntityTrait, QueryFilter, Set};

mod prune;
mod shutdown;

/// A fresh projects database: a SQLite file, or a PostgreSQL database dropped at the end.
struct TestDb {
    conn: DatabaseConnection,
    _dir: tempfile::TempDir,
    postgres: Option<(String, String)>,
}

impl TestDb {
    async fn all() -> Vec<TestDb> {
        let mut dbs = vec![TestDb::sqlite().await];
        match std::env::var("TEST_DATABASE_URL") {
            Ok(server) => dbs.push(TestDb::postgres(&server).await),
            Err(_) if std::env::var("CI").is_ok_and(|v| v == "true") => {
                panic!("CI=true but TEST_DATABASE_URL is not set")
            }
            Err(_) => {}
        }
        dbs
    }

    async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("a folder");
        let url = Domain::Projects.default_url(dir.path());
        Self::open(url, dir, None).await
    }

    async fn postgres(server: &str) -> TestDb {
        let name = format!(
            "t_deploy_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let url = format!("{}/{name}", server.trim_end_matches('/'));
        let dir = tempfile::tempdir().expect("a folder");
        Self::open(url, dir, Some((server.to_owned(), name))).await
    }

    async fn open(
        url: String,
        dir: tempfile::TempDir,
        postgres: Option<(String, String)>,
    ) -> TestDb {
        migration::ensure_database(Domain::Projects, &url)
            .await
            .expect("database");
        migration::run(Domain::Projects, &url, Verb::Up)
            .await
            .expect("migrated");
        let conn = Database::connect(&url).await.expect("connects");
        TestDb {
            conn,
            _dir: dir,
            postgres,
        }
    }

    async fn drop(self) {
        self.conn.close().await.ok();
        if let Some((server, name)) = self.postgres {
            let admin = Database::connect(format!("{}/postgres", server.trim_end_matches('/')))
                .await
                .expect("admin connection");
            sea_orm::ConnectionTrait::execute_unprepared(
                &admin,
                &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            )
            .await
            .expect("dropped");
        }
    }
}

async fn project(db: &DatabaseConnection, n: usize) -> project::Model {
    let now = Utc::now();
    project::ActiveModel {
        owner_id: Set(1),
        name: Set(format!("Project {n}")),
        slug: Set(format!("project-{n:03}")),
        repository_url: Set(format!("https://git.example.edu/p{n}.git")),
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
    .expect("a project")
}

fn config(max_workers: usize) -> EngineConfig {
    let mut config = EngineConfig::new(std::env::temp_dir().join("deploy-engine-tests"));
    config.max_workers = max_workers;
    config.poll_interval = Duration::from_millis(200);
    config.shutdown_grace = Duration::from_millis(200);
    config
}

/// Sleeps a little, counting how many run at once; panics for one slug.
struct Recorder {
    running: AtomicUsize,
    most: AtomicUsize,
}

impl JobRunner for Recorder {
    fn run(&self, job: &Claimed, _ctx: &JobContext) -> Result<Done, StepError> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(40));
        self.running.fetch_sub(1, Ordering::SeqCst);
        if job.payload.slug == "project-000" {
            panic!("a runner bug");
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

async fn wait_ended(db: &DatabaseConnection, ids: &[i32]) -> Vec<job::Model> {
    for _ in 0..600 {
        let jobs: Vec<job::Model> = job::Entity::find().all(db).await.expect("jobs");
        let ended = ids.iter().all(|id| {
            jobs.iter().any(|j| {
                j.id == *id && !matches!(j.status, JobStatus::Pending | JobStatus::Running)
            })
        });
        if ended {
            return jobs;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("jobs did not end");
}

#[tokio::test]
async fn twenty_jobs_on_three_workers_run_oldest_first_and_a_panic_fails_only_its_job() {
    for db in TestDb::all().await {
        let conn = db.conn.clone();
        let mut ids = Vec::new();
        for n in 0..20 {
            let p = project(&conn, n).await;
            let (job, _) = queue::enqueue(&conn, JobKind::Deploy, &Payload::of(&p), 1)
                .await
                .expect("queued");
            ids.push(job.id);
        }
        let runner = Arc::new(Recorder {
            running: AtomicUsize::new(0),
            most: AtomicUsize::new(0),
        });
        let engine = Engine::start_with_runner(config(3), conn.clone(), runner.clone());
        let jobs = wait_ended(&conn, &ids).await;
        assert!(runner.most.load(Ordering::SeqCst) <= 3);
        assert!(engine.manager().high_water() <= 3);
        assert_eq!(engine.manager().started_jobs(), ids, "oldest first");
        let first = jobs.iter().find(|j| j.id == ids[0]).expect("the first job");
        assert_eq!(first.status, JobStatus::Failed);
        assert!(first.message.contains("a runner bug"), "{}", first.message);
        for job in jobs.iter().filter(|j| j.id != ids[0]) {
            assert_eq!(job.status, JobStatus::Succeeded, "{job:?}");
            assert_eq!(job.progress, 100);
        }
        let deployments = deployment::Entity::find().all(&conn).await.expect("rows");
        assert!(
            deployments
                .iter()
                .all(|d| d.successful == (d.job_id != ids[0]))
        );
        // Every slot came back.
        assert!(engine.manager().running().is_empty());
        engine.shutdown().await;
        db.drop().await;
    }
}

/// Progress and the end written under a lease that was given up are `LeaseLost`.
async fn the_old_holders_writes_are_refused(conn: &DatabaseConnection, lease: &queue::Lease) {
    let late = queue::progress(conn, lease, 40, "built", Duration::from_secs(30)).await;
    assert!(matches!(late, Err(EngineError::LeaseLost)), "{late:?}");
    let late_end = queue::finish(
        conn,
        lease,
        &queue::Outcome {
            status: JobStatus::Succeeded,
            message: "late".into(),
            endpoint: None,
            app: None,
            project_running: Some(true),
            folder: None,
        },
    )
    .await;
    assert!(matches!(late_end, Err(EngineError::LeaseLost)));
}

#[tokio::test]
async fn a_write_with_a_stale_fencing_token_is_refused() {
    for db in TestDb::all().await {
        let conn = db.conn.clone();
        let p = project(&conn, 1).await;
        queue::enqueue(&conn, JobKind::Deploy, &Payload::of(&p), 1)
            .await
            .expect("queued");
        let first = queue::claim(&conn, "replica-a", Duration::from_secs(30))
            .await
            .expect("claims")
            .expect("a job");
        assert!(
            queue::claim(&conn, "replica-b", Duration::from_secs(30))
                .await
                .expect("claims")
                .is_none(),
            "a claimed job is not claimed twice"
        );
        queue::progress(&conn, &first.lease, 20, "fetched", Duration::from_secs(30))
            .await
            .expect("the holder writes");
        // The lease is given up and the job claimed again (as a rescuer would).
        queue::release(&conn, &first.lease, "queued again")
            .await
            .expect("released");
        let second = queue::claim(&conn, "replica-b", Duration::from_secs(30))
            .await
            .expect("claims")
            .expect("the job again");
        assert!(second.lease.token > first.lease.token, "the token grows");
        assert_eq!(second.job.attempts, 2);
        the_old_holders_writes_are_refused(&conn, &first.lease).await;
        let row = job::Entity::find_by_id(first.job.id)
            .one(&conn)
            .await
            .expect("read")
            .expect("the job");
        // Given back at progress 0, claimed again; the stale 40 and SUCCEEDED were refused.
        assert_eq!((row.status, row.progress), (JobStatus::Running, 0));
        assert_eq!(row.lease_owner.as_deref(), Some("replica-b"));
        // A cancel moves the token on too: the current holder's writes stop.
        let dep = second.deployment.id;
        queue::cancel(&conn, dep).await.expect("cancelled");
        let after = queue::renew(&conn, &second.lease, Duration::from_secs(30)).await;
        assert!(matches!(after, Err(EngineError::LeaseLost)));
        db.drop().await;
    }
}

#[tokio::test]
async fn a_second_active_deploy_of_a_project_is_a_conflict() {
    for db in TestDb::all().await {
        let conn = db.conn.clone();
        let p = project(&conn, 1).await;
        let payload = Payload::of(&p);
        let (a, b) = tokio::join!(
            queue::enqueue(&conn, JobKind::Deploy, &payload, 1),
            queue::enqueue(&conn, JobKind::Deploy, &payload, 1)
        );
        let conflicts = [&a, &b]
            .iter()
            .filter(|r| matches!(r, Err(EngineError::Conflict(_))))
            .count();
        assert_eq!(
            (a.is_ok() as usize + b.is_ok() as usize, conflicts),
            (1, 1),
            "{a:?} {b:?}"
        );
        db.drop().await;
    }
}

#[tokio::test]
async fn a_job_whose_server_died_is_run_again_and_fails_after_its_last_attempt() {
    for db in TestDb::all().await {
        let conn = db.conn.clone();
        let retried = project(&conn, 1).await;
        let exhausted = project(&conn, 2).await;
        for p in [&retried, &exhausted] {
            queue::enqueue(&conn, JobKind::Deploy, &Payload::of(p), 1)
                .await
                .expect("queued");
        }
        // A server claims both with a short lease, then dies (never renews).
        let first = queue::claim(&conn, "dead-replica", Duration::from_millis(300))
            .await
            .expect("claims")
            .expect("a job");
        let second = queue::claim(&conn, "dead-replica", Duration::from_millis(300))
            .await
            .expect("claims")
            .expect("a job");
        // The second has used its attempts already.
        job::Entity::update_many()
            .col_expr(job::Column::Attempts, sea_orm::sea_query::Expr::value(3))
            .filter(sea_orm::ColumnTrait::eq(&job::Column::Id, second.job.id))
            .exec(&conn)
            .await
            .expect("updated");
        let runner = Arc::new(Recorder {
            running: AtomicUsize::new(0),
            most: AtomicUsize::new(0),
        });
        let engine = Engine::start_with_runner(config(2), conn.clone(), runner);
        let jobs = wait_ended(&conn, &[first.job.id, second.job.id]).await;
        let again = jobs.iter().find(|j| j.id == first.job.id).expect("first");
        assert_eq!(
            (again.status, again.attempts),
            (JobStatus::Succeeded, 2),
            "{again:?}"
        );
        assert!(again.lease_token > first.lease.token);
        let gave_up = jobs.iter().find(|j| j.id == second.job.id).expect("second");
        assert_eq!(gave_up.status, JobStatus::Failed, "{gave_up:?}");
        assert!(
            gave_up.message.contains("gave up after 3 attempts"),
            "{}",
            gave_up.message
        );
        let late = queue::progress(&conn, &first.lease, 40, "late", Duration::from_secs(30)).await;
        assert!(
            matches!(late, Err(EngineError::LeaseLost)),
            "the dead server's writes are refused"
        );
        engine.shutdown().await;
        db.drop().await;
    }
}
