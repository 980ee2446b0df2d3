//! Two replicas on one PostgreSQL: a deploy queued on one runs on the other, a
//! subscriber on the first follows it (LISTEN/NOTIFY), a cancel on the first stops the
//! second's run at once, and the first's `/apps/<slug>/` reaches the app the second
//! started.

use std::{path::PathBuf, process::Child, time::Duration};

use sea_orm::EntityTrait;
use serde_json::{Value, json};

use super::{
    Deployer, Repo, Socket, is_root, next_payload,
    replica::{Binary, Replica},
    subscribe,
};
use crate::helpers::{Backend, backends, eventually};

#[tokio::test]
async fn a_deploy_queued_on_one_replica_runs_on_the_other_and_is_followed_and_served_from_the_first()
 {
    if !backends().contains(&Backend::Postgres) {
        eprintln!("skipped: replicas share a PostgreSQL database (set TEST_DATABASE_URL)");
        return;
    }
    // A serves and runs no deploys; B runs them, one at a time.
    let a = Deployer::spawn(Backend::Postgres, &["--deploy-max-workers", "0"]).await;
    let b = Replica::of(
        &a,
        &["--deploy-max-workers", "1", "--deploy-lease-secs", "3"],
    )
    .await;
    let blocker = Repo::new(&[("deploy.toml", "build = \"sleep 60\"\nstatic = \"s\"\n")]);
    let followed = Repo::new(&FOLLOWED);
    let blocker_project = a.project("blocker-app", &blocker).await;
    let project = a.project("replica-app", &followed).await;
    let blocking = a.deploy(&blocker_project).await;

    // A's admin view shows B's worker, with B's replica id.
    let worker = eventually(Duration::from_secs(30), "B never claimed the job", || {
        first_worker(&a)
    })
    .await;
    assert_eq!(worker["replica"], b.state.deploy.replica());
    assert_eq!(worker["job"]["id"], blocking["id"]);
    assert!(
        worker["uuid"].is_null(),
        "another replica's worker uuid is not known here"
    );

    let job = a.deploy(&project).await;
    let mut socket = subscribe(
        &a,
        &a.owner,
        "subscription($d: ID!) { deploymentUpdates(deploymentId: $d) { status progress lines { line } } }",
        json!({ "d": job["deployment"]["id"] }),
    )
    .await;
    let first =
        next_payload(&mut socket).await.expect("the current state")["deploymentUpdates"].clone();
    assert_eq!(first["status"], "PENDING");
    // Cancelled on A, stopped on B at once (NOTIFY), which then takes the next job.
    a.cancel(&blocking["deployment"]["id"]).await;
    assert_followed_to_the_end(&mut socket, "built on the other replica").await;
    let (status, page) = a.get_app("replica-app", "/").await;
    assert_eq!(
        (status, page.contains("served by the other replica")),
        (200, true),
        "{page}"
    );
    b.stop().await;
    a.app.stop().await;
}

const FOLLOWED: [(&str, &str); 2] = [
    (
        "deploy.toml",
        "build = \"echo built on the other replica\"\nstart = \"exec python3 -m http.server $PORT --bind 127.0.0.1\"\n",
    ),
    ("index.html", "served by the other replica"),
];

/// The first worker in the admin's view of `a`, once there is one.
async fn first_worker(a: &Deployer) -> Result<Value, &'static str> {
    let view = a
        .app
        .data_as(
            &a.admin,
            "{ workers { uuid replica job { id } } }",
            json!({}),
        )
        .await;
    view["workers"]
        .as_array()
        .and_then(|w| w.first())
        .cloned()
        .ok_or("no worker yet")
}

/// Every step's progress comes through until the socket closes, and the build's
/// `line` among the log lines (which arrive as they are written, across replicas).
async fn assert_followed_to_the_end(socket: &mut Socket, line: &str) {
    let mut updates: Vec<Value> = Vec::new();
    while let Some(update) = next_payload(socket).await {
        updates.push(update["deploymentUpdates"].clone());
    }
    let mut progress: Vec<i64> = updates
        .iter()
        .filter_map(|u| u["progress"].as_i64())
        .filter(|p| *p > 0)
        .collect();
    // Updates of new lines repeat their step's progress.
    progress.dedup();
    assert_eq!(progress, vec![20, 40, 60, 80, 100], "{updates:?}");
    assert!(
        updates
            .iter()
            .flat_map(|u| super::lines(&u["lines"]))
            .any(|l| l == line),
        "{updates:?}"
    );
}

#[tokio::test]
async fn a_replica_starting_after_a_crash_stops_the_apps_a_dead_one_left_and_says_so() {
    if !is_root() {
        eprintln!("skipped: apps run as their project's user only under root (CI runs it as root)");
        return;
    }
    let a = Deployer::spawn(Backend::Sqlite, &["--deploy-max-workers", "0"]).await;
    let repo = Repo::new(&[("deploy.toml", "static = \"s\"\n")]);
    let project = a.project("orphan-app", &repo).await;
    let mut orphan = left_running_by_a_dead_replica(&a, &project, &repo).await;
    let (mut build, groups) = a_build_left_in_a_dead_replicas_groups();

    let b = Replica::of(&a, &[]).await;
    let within = Duration::from_secs(10);
    if !groups.is_empty() {
        eventually(within, "the dead gateway's build still runs", || {
            std::future::ready(build.try_wait().expect("waits").ok_or("running"))
        })
        .await;
        assert!(
            groups.iter().all(|g| !g.exists()),
            "the dead gateway's groups are removed"
        );
    }
    let _ = build.kill();
    let _ = build.wait();
    let status = eventually(within, "the dead replica's app still runs", || {
        std::future::ready(orphan.try_wait().expect("waits").ok_or("running"))
    })
    .await;
    assert!(!status.success(), "killed, not ended: {status:?}");
    // It should still run, so B starts it again from its build; this one's build folder
    // is gone (the test never built it), the START fails, and the record says stopped.
    eventually(within, "the record still says it runs", || async {
        if a.running(&project).await {
            Err("running")
        } else {
            Ok(())
        }
    })
    .await;
    b.stop().await;
    a.app.stop().await;
}

/// What a replica killed with -9 leaves: its app, in its own session, as the project's
/// user, recorded on the last successful deployment under a replica id that is dead.
async fn left_running_by_a_dead_replica(a: &Deployer, project: &str, repo: &Repo) -> Child {
    use entities::projects::deployment::{Column, Entity};
    use sea_orm::{ColumnTrait, QueryFilter, sea_query::Expr};

    let project_id: i32 = project.parse().expect("an id");
    let uid = a.uid_of(project).to_string();
    let orphan = std::process::Command::new("setsid")
        .args([
            "setpriv",
            &format!("--reuid={uid}"),
            &format!("--regid={uid}"),
            "--clear-groups",
            "sleep",
            "600",
        ])
        .spawn()
        .expect("the orphan starts");
    let db = &a.app.state.databases.projects;
    let payload = deploy::Payload {
        project_id,
        slug: "orphan-app".into(),
        repository_url: repo.path().display().to_string(),
        container_port: 8080,
        static_path: None,
        source_deployment: None,
    };
    let succeeded = entities::projects::enums::JobStatus::Succeeded;
    let recorded = deploy::queue::record(db, &payload, 1, succeeded, None)
        .await
        .expect("recorded");
    let replica = a.app.state.deploy.replica();
    let host = replica.rsplitn(3, '-').nth(2).expect("a host");
    Entity::update_many()
        .col_expr(
            Column::ProcessGroup,
            Expr::value(i32::try_from(orphan.id()).expect("a pid")),
        )
        .col_expr(
            Column::Replica,
            Expr::value(format!("{host}-999999999-dead01")),
        )
        .filter(Column::Id.eq(recorded.id))
        .exec(&**db)
        .await
        .expect("updated");
    place(db, project_id, recorded.id).await;
    orphan
}

/// The project's record names that deployment's instance as the one serving.
async fn place(db: &sea_orm::DatabaseConnection, project_id: i32, deployment_id: i32) {
    use entities::projects::project::{Column, Entity};
    use sea_orm::{ColumnTrait, QueryFilter, sea_query::Expr};

    Entity::update_many()
        .col_expr(Column::Running, Expr::value(true))
        .col_expr(Column::ServingDeploymentId, Expr::value(deployment_id))
        .col_expr(Column::ServingFolder, Expr::value(deployment_id))
        .filter(Column::Id.eq(project_id))
        .exec(db)
        .await
        .expect("placed");
}

/// A build the dead replica was running, found by its cgroup's name
/// (`p<dead pid>.…`); the groups are empty where cgroups v1 are not writable.
fn a_build_left_in_a_dead_replicas_groups() -> (Child, Vec<PathBuf>) {
    let build = std::process::Command::new("sleep")
        .arg("600")
        .spawn()
        .expect("the orphan build starts");
    if !std::path::Path::new("/sys/fs/cgroup/pids/cgroup.procs").exists() {
        return (build, Vec::new());
    }
    let groups: Vec<PathBuf> = ["memory", "pids"]
        .iter()
        .map(|controller| {
            own_group(controller)
                .join("students-project")
                .join("p999999999.deadbeef-build-7")
        })
        .collect();
    for group in &groups {
        std::fs::create_dir_all(group).expect("a cgroup");
        std::fs::write(group.join("cgroup.procs"), build.id().to_string()).expect("joined");
    }
    (build, groups)
}

/// This process's cgroup (v1) under `controller`.
fn own_group(controller: &str) -> PathBuf {
    let own = std::fs::read_to_string("/proc/self/cgroup").expect("cgroups");
    let path = own
        .lines()
        .find_map(|l| {
            let mut parts = l.splitn(3, ':').skip(1);
            let names = parts.next()?;
            names
                .split(',')
                .any(|n| n == controller)
                .then(|| parts.next())?
        })
        .unwrap_or("/")
        .trim_start_matches('/');
    std::path::Path::new("/sys/fs/cgroup")
        .join(controller)
        .join(path)
}

#[tokio::test]
async fn a_replica_killed_with_9_loses_no_job_runs_none_twice_and_leaves_no_process() {
    if !backends().contains(&Backend::Postgres) || !is_root() {
        eprintln!("skipped: needs PostgreSQL (TEST_DATABASE_URL) and root (CI has both)");
        return;
    }
    let flags = ["--deploy-max-workers", "2", "--deploy-lease-secs", "3"];
    let a = Deployer::spawn(Backend::Postgres, &flags).await;
    // Replica X: the real binary, on the same databases and folders.
    let mut x = Binary::of(&a, &flags).await;
    let (_repos, jobs) = a_fleet_of_deploys(&a, 30).await;
    // Kill X as soon as it runs something.
    eventually(Duration::from_secs(60), "X never ran a job", || {
        runs_on_another_replica(&a)
    })
    .await;
    x.child.kill().expect("kill -9");
    x.child.wait().expect("reaped");
    let killed_at = chrono::Utc::now();

    let mut retried = 0;
    for (project, job, _) in &jobs {
        let done = a.wait(&job["id"], Duration::from_secs(240)).await;
        assert_eq!(done["status"], "SUCCEEDED", "{project}: {done}");
        if ran_once_at_a_time(&a, project, &done, killed_at).await {
            retried += 1;
        }
    }
    assert!(retried >= 1, "X's jobs were taken over");
    // No process of X's builds or apps is left: every project's uid runs processes
    // only if this replica routes its app.
    eventually(Duration::from_secs(20), "X's processes survive", || {
        let strays: Vec<&String> = jobs
            .iter()
            .filter(|(project, _, slug)| {
                a.app.state.deploy.route(slug).is_none()
                    && !super::processes_of(a.uid_of(project)).is_empty()
            })
            .map(|(project, _, _)| project)
            .collect();
        std::future::ready(if strays.is_empty() {
            Ok(())
        } else {
            Err(strays)
        })
    })
    .await;
    a.app.stop().await;
}

/// `n` projects deploying a one-second build, each queued: (project, job, slug).
async fn a_fleet_of_deploys(a: &Deployer, n: usize) -> (Vec<Repo>, Vec<(String, Value, String)>) {
    let mut repos = Vec::new();
    let mut jobs = Vec::new();
    for n in 0..n {
        let repo = Repo::new(&[(
            "deploy.toml",
            "build = \"sleep 1\"\nstart = \"exec python3 -m http.server $PORT --bind 127.0.0.1\"\n",
        )]);
        let slug = format!("fleet-app-{n:02}");
        let project = a.project(&slug, &repo).await;
        jobs.push((project.clone(), a.deploy(&project).await, slug));
        repos.push(repo);
    }
    (repos, jobs)
}

async fn runs_on_another_replica(a: &Deployer) -> Result<(), &'static str> {
    let view = a
        .app
        .data_as(&a.admin, "{ workers { replica } }", json!({}))
        .await;
    let mine = a.app.state.deploy.replica();
    let on_x = view["workers"]
        .as_array()
        .is_some_and(|w| w.iter().any(|w| w["replica"] != mine));
    on_x.then_some(()).ok_or("only this replica runs jobs")
}

/// Checks that a finished job's attempts match its log and that a retry was claimed
/// only after X was killed (never two runs at once); whether it was retried.
async fn ran_once_at_a_time(
    a: &Deployer,
    project: &str,
    done: &Value,
    killed_at: chrono::DateTime<chrono::Utc>,
) -> bool {
    let attempts: Vec<String> = super::lines(&done["deployment"]["logs"])
        .into_iter()
        .filter(|l| l.starts_with("attempt "))
        .collect();
    // Tokens grow with every attempt; a second one only after X was killed.
    assert_eq!(
        attempts.len() as i64,
        done["attempts"].as_i64().unwrap_or(0),
        "{attempts:?}"
    );
    if attempts.len() < 2 {
        return false;
    }
    let id = done["id"].as_str().and_then(|i| i.parse::<i32>().ok());
    let job_row = entities::projects::job::Entity::find_by_id(id.expect("an id"))
        .one(&*a.app.state.databases.projects)
        .await
        .expect("read")
        .expect("the job");
    assert!(
        job_row.started_at.is_some_and(|at| at > killed_at),
        "{project}: retried at {:?}, X killed at {killed_at}",
        job_row.started_at
    );
    true
}
