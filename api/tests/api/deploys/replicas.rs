//! Two replicas on one PostgreSQL: a deploy queued on one runs on the other, a
//! subscriber on the first follows it (LISTEN/NOTIFY), a cancel on the first stops the
//! second's run at once, and the first's `/apps/<slug>/` reaches the app the second
//! started.

use std::time::Duration;

use sea_orm::EntityTrait;
use serde_json::{Value, json};

use super::{
    Deployer, Repo, is_root, next_payload,
    replica::{Binary, Replica},
    subscribe,
};
use crate::helpers::{Backend, backends};

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
    let followed = Repo::new(&[
        (
            "deploy.toml",
            "build = \"echo built on the other replica\"\nstart = \"exec python3 -m http.server $PORT --bind 127.0.0.1\"\n",
        ),
        ("index.html", "served by the other replica"),
    ]);
    let blocker_project = a.project("blocker-app", &blocker).await;
    let project = a.project("replica-app", &followed).await;
    let blocking = a.deploy(&blocker_project).await;

    // A's admin view shows B's worker, with B's replica id.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let worker = loop {
        let view = a
            .app
            .data_as(
                &a.admin,
                "{ workers { uuid replica job { id } } }",
                json!({}),
            )
            .await;
        if let Some(worker) = view["workers"].as_array().and_then(|w| w.first()).cloned() {
            break worker;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "B never claimed the job"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
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
    let mut updates: Vec<Value> = Vec::new();
    while let Some(update) = next_payload(&mut socket).await {
        updates.push(update["deploymentUpdates"].clone());
    }
    let progress: Vec<i64> = updates
        .iter()
        .filter_map(|u| u["progress"].as_i64())
        .filter(|p| *p > 0)
        .collect();
    assert_eq!(progress, vec![20, 40, 60, 80, 100], "{updates:?}");
    assert!(
        updates
            .iter()
            .flat_map(|u| super::lines(&u["lines"]))
            .any(|l| l == "built on the other replica"),
        "{updates:?}"
    );
    let (status, page) = a.get("/apps/replica-app/").await;
    assert_eq!(
        (status, page.contains("served by the other replica")),
        (200, true),
        "{page}"
    );
    b.stop().await;
    a.app.stop().await;
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
    let project_id: i32 = project.parse().expect("an id");
    // What a replica killed with -9 leaves: its app, in its own session, as the
    // project's user, recorded on the last successful deployment.
    let uid = a.uid_of(&project).to_string();
    let mut orphan = std::process::Command::new("setsid")
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
    let recorded = deploy::queue::record(
        db,
        &payload,
        1,
        entities::projects::enums::JobStatus::Succeeded,
        None,
    )
    .await
    .expect("recorded");
    let host = a
        .app
        .state
        .deploy
        .replica()
        .rsplitn(3, '-')
        .nth(2)
        .expect("a host")
        .to_owned();
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    entities::projects::deployment::Entity::update_many()
        .col_expr(
            entities::projects::deployment::Column::ProcessGroup,
            Expr::value(i32::try_from(orphan.id()).expect("a pid")),
        )
        .col_expr(
            entities::projects::deployment::Column::Replica,
            Expr::value(format!("{host}-999999999-dead01")),
        )
        .filter(entities::projects::deployment::Column::Id.eq(recorded.id))
        .exec(&**db)
        .await
        .expect("updated");
    deploy::queue::set_running(&**db, project_id, true)
        .await
        .expect("marked");

    // And a build it was running, found by its cgroup's name (`p<dead pid>.…`).
    let groups: Vec<std::path::PathBuf> = ["memory", "pids"]
        .iter()
        .map(|controller| {
            let own = std::fs::read_to_string("/proc/self/cgroup").expect("cgroups");
            let path = own
                .lines()
                .find_map(|l| {
                    let mut parts = l.splitn(3, ':').skip(1);
                    let names = parts.next()?;
                    names
                        .split(',')
                        .any(|n| n == *controller)
                        .then(|| parts.next())?
                })
                .unwrap_or("/")
                .trim_start_matches('/')
                .to_owned();
            std::path::Path::new("/sys/fs/cgroup")
                .join(controller)
                .join(path)
                .join("students-project")
                .join("p999999999.deadbeef-build-7")
        })
        .collect();
    let mut build = std::process::Command::new("sleep")
        .arg("600")
        .spawn()
        .expect("the orphan build starts");
    let cgroups = std::path::Path::new("/sys/fs/cgroup/pids/cgroup.procs").exists();
    if cgroups {
        for group in &groups {
            std::fs::create_dir_all(group).expect("a cgroup");
            std::fs::write(group.join("cgroup.procs"), build.id().to_string()).expect("joined");
        }
    }

    let b = Replica::of(&a, &[]).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    if cgroups {
        loop {
            if build.try_wait().expect("waits").is_some() {
                assert!(
                    groups.iter().all(|g| !g.exists()),
                    "the dead gateway's groups are removed"
                );
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the dead gateway's build still runs"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let _ = build.kill();
    let _ = build.wait();
    loop {
        if let Some(status) = orphan.try_wait().expect("waits") {
            assert!(!status.success(), "killed, not ended: {status:?}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the dead replica's app still runs"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let running = a
        .app
        .data_as(
            &a.owner,
            "query($p: ID!) { project(id: $p) { running } }",
            json!({ "p": project }),
        )
        .await;
    assert_eq!(
        running["project"]["running"], false,
        "the database matches the processes"
    );
    b.stop().await;
    a.app.stop().await;
}

#[tokio::test]
async fn a_replica_killed_with_9_loses_no_job_runs_none_twice_and_leaves_no_process() {
    if !backends().contains(&Backend::Postgres) || !is_root() {
        eprintln!("skipped: needs PostgreSQL (TEST_DATABASE_URL) and root (CI has both)");
        return;
    }
    let a = Deployer::spawn(
        Backend::Postgres,
        &["--deploy-max-workers", "2", "--deploy-lease-secs", "3"],
    )
    .await;
    // Replica X: the real binary, on the same databases and folders.
    let mut x = Binary::of(
        &a,
        &["--deploy-max-workers", "2", "--deploy-lease-secs", "3"],
    )
    .await;

    let mut repos = Vec::new();
    let mut jobs = Vec::new();
    for n in 0..30 {
        let repo = Repo::new(&[(
            "deploy.toml",
            "build = \"sleep 1\"\nstart = \"exec python3 -m http.server $PORT --bind 127.0.0.1\"\n",
        )]);
        let slug = format!("fleet-app-{n:02}");
        let project = a.project(&slug, &repo).await;
        jobs.push((project.clone(), a.deploy(&project).await, slug));
        repos.push(repo);
    }
    // Kill X as soon as it runs something.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let view = a
            .app
            .data_as(&a.admin, "{ workers { replica } }", json!({}))
            .await;
        let mine = a.app.state.deploy.replica();
        let on_x = view["workers"]
            .as_array()
            .is_some_and(|w| w.iter().any(|w| w["replica"] != mine));
        if on_x {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "X never ran a job");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    x.child.kill().expect("kill -9");
    x.child.wait().expect("reaped");
    let killed_at = chrono::Utc::now();

    let mut retried = 0;
    for (project, job, _) in &jobs {
        let done = a.wait(&job["id"], Duration::from_secs(240)).await;
        assert_eq!(done["status"], "SUCCEEDED", "{project}: {done}");
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
        if attempts.len() > 1 {
            retried += 1;
            let job_row = entities::projects::job::Entity::find_by_id(
                job["id"]
                    .as_str()
                    .and_then(|i| i.parse::<i32>().ok())
                    .expect("an id"),
            )
            .one(&*a.app.state.databases.projects)
            .await
            .expect("read")
            .expect("the job");
            // The last claim (the retry) came after the kill: never two runs at once.
            assert!(
                job_row.started_at.is_some_and(|at| at > killed_at),
                "{project}: retried at {:?}, X killed at {killed_at}",
                job_row.started_at
            );
        }
    }
    assert!(retried >= 1, "X's jobs were taken over");
    // No process of X's builds or apps is left: every project's uid runs processes
    // only if this replica routes its app.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let strays: Vec<&String> = jobs
            .iter()
            .filter(|(project, _, slug)| {
                a.app.state.deploy.route(slug).is_none()
                    && !super::processes_of(a.uid_of(project)).is_empty()
            })
            .map(|(project, _, _)| project)
            .collect();
        if strays.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "X's processes survive for projects {strays:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    a.app.stop().await;
}
