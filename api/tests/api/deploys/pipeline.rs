//! The pipeline end to end: deploy, redeploy with no failed request, stop, failed
//! builds, cancel, the worker bound and conflicts.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use serde_json::json;

use super::{APP, Deployer, Repo, lines, processes_in_groups, processes_of};
use crate::helpers::{Backend, backends, eventually, first_code};

const LIMIT: Duration = Duration::from_secs(90);

fn app_files(version: &str) -> Vec<(&'static str, String)> {
    vec![
        ("deploy.toml", APP.to_owned()),
        ("index.html", format!("<h1>hello from {version}</h1>")),
        ("public/style.css", format!("body {{ color: {version}; }}")),
    ]
}

fn borrowed<'a>(files: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    files.iter().map(|(n, c)| (*n, c.as_str())).collect()
}

#[tokio::test]
async fn a_project_deploys_redeploys_without_a_failed_request_and_stops() {
    for backend in backends() {
        let d = Deployer::spawn(backend, &[]).await;
        let repo = Repo::new(&borrowed(&app_files("v1")));
        let project = d.project("hello-app", &repo).await;
        the_first_deploy_serves_v1(&d, &repo, &project, backend).await;
        a_redeploy_fails_no_request(&d, &repo, &project).await;
        super::lifecycle::stop_start_and_delete(&d, &project).await;
        d.app.stop().await;
    }
}

/// The commit `HEAD` names in `repo`, short.
fn head_commit(repo: &Repo) -> String {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(repo.path())
        .output()
        .expect("git");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

async fn the_first_deploy_serves_v1(d: &Deployer, repo: &Repo, project: &str, backend: Backend) {
    let job = d.deploy(project).await;
    assert_eq!(job["status"], "PENDING", "{job}");
    let done = d.wait(&job["id"], LIMIT).await;
    assert_eq!(done["status"], "SUCCEEDED", "{backend:?}: {done}");
    assert_eq!(done["progress"], 100);
    assert_eq!(
        done["message"],
        format!("serving at {}", d.app.app_url("hello-app", "/")).as_str()
    );
    assert_eq!(done["deployment"]["commit"], head_commit(repo).as_str());
    assert_eq!(done["deployment"]["successful"], true);
    let build = lines(&done["deployment"]["logs"]);
    assert!(
        build.iter().any(|l| l == "building the app"),
        "the BUILD log holds the build's output: {build:?}"
    );
    let (status, page) = d.get_app("hello-app", "/").await;
    assert_eq!(
        (status, page.contains("hello from v1")),
        (200, true),
        "{page}"
    );
    let (status, css) = d.get_app("hello-app", "/style.css").await;
    assert_eq!((status, css.as_str()), (200, "body { color: v1; }"));
    let (status, made) = d.get_app("hello-app", "/generated/made.txt").await;
    assert_eq!(
        (status, made.trim()),
        (200, "made"),
        "the app serves what its build made"
    );
    let (status, _) = d.get("/apps/hello-app").await;
    assert_eq!(
        status, 200,
        "the gateway's /apps/<slug> redirects to the app's own host"
    );
    assert!(d.running(project).await);
}

/// A redeploy while a client polls: no request fails during the switch.
async fn a_redeploy_fails_no_request(d: &Deployer, repo: &Repo, project: &str) {
    repo.commit(&borrowed(&app_files("v2")), "second");
    let stop = Arc::new(AtomicBool::new(false));
    let poller = tokio::spawn(poll(
        d.app.client.clone(),
        d.app.app_url("hello-app", "/"),
        stop.clone(),
    ));
    let job = d.deploy(project).await;
    let done = d.wait(&job["id"], LIMIT).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    // Past the old instance's drain.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::SeqCst);
    let (served, failures) = poller.await.expect("the poller ends");
    assert!(
        failures.is_empty(),
        "requests failed during the switch: {failures:?}"
    );
    assert!(served > 10, "the poller ran throughout ({served} requests)");
    let (_, page) = d.get_app("hello-app", "/").await;
    assert!(page.contains("hello from v2"), "{page}");
}

/// GETs `url` every 10 ms until `stop`: (served, failures).
async fn poll(client: reqwest::Client, url: String, stop: Arc<AtomicBool>) -> (u32, Vec<String>) {
    let mut failures = Vec::new();
    let mut served = 0;
    while !stop.load(Ordering::SeqCst) {
        match client.get(&url).send().await {
            Ok(r) if r.status() == 200 => served += 1,
            Ok(r) => failures.push(r.status().to_string()),
            Err(e) => failures.push(e.to_string()),
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    (served, failures)
}

#[tokio::test]
async fn a_failing_build_fails_with_its_output_and_the_previous_instance_keeps_serving() {
    let d = Deployer::spawn(Backend::Sqlite, &[]).await;
    let repo = Repo::new(&borrowed(&app_files("v1")));
    let project = d.project("sturdy-app", &repo).await;
    let done = d.wait(&d.deploy(&project).await["id"], LIMIT).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");

    repo.commit(
        &[("deploy.toml", "build = \"echo about to fail; exit 3\"\nstart = \"exec python3 -m http.server $PORT\"\n")],
        "broken",
    );
    let failed = d.wait(&d.deploy(&project).await["id"], LIMIT).await;
    assert_eq!(failed["status"], "FAILED", "{failed}");
    assert_eq!(failed["deployment"]["successful"], false);
    let message = failed["message"].as_str().unwrap_or_default();
    assert!(message.contains("exited with code 3"), "{message}");
    let build = lines(&failed["deployment"]["logs"]);
    assert!(build.iter().any(|l| l == "about to fail"), "{build:?}");
    let (status, page) = d.get_app("sturdy-app", "/").await;
    assert_eq!((status, page.contains("hello from v1")), (200, true));
    d.app.stop().await;
}

#[tokio::test]
async fn cancelling_a_slow_build_ends_cancelled_and_leaves_no_process_of_it() {
    let d = Deployer::spawn(Backend::Sqlite, &[]).await;
    let repo = Repo::new(&[(
        "deploy.toml",
        "build = \"echo slow build; sleep 300 & sleep 300\"\nstart = \"exec python3 -m http.server $PORT\"\n",
    )]);
    let project = d.project("slow-app", &repo).await;
    let job = d.deploy(&project).await;
    let deployment = job["deployment"]["id"].clone();
    // Wait until the build runs (its line is in the log).
    eventually(LIMIT, "the build never started", || async {
        let now = d.job(&job["id"]).await;
        let started = lines(&now["deployment"]["logs"])
            .iter()
            .any(|l| l == "slow build");
        started.then_some(()).ok_or(now)
    })
    .await;
    let groups: Vec<i32> = if super::is_root() {
        let groups: Vec<i32> = processes_of(d.uid_of(&project))
            .iter()
            .map(|(_, g)| *g)
            .collect();
        assert!(!groups.is_empty(), "the build runs as the project's user");
        groups
    } else {
        Vec::new()
    };
    let cancelled = d.cancel(&deployment).await;
    assert_eq!(cancelled["status"], "CANCELLED");
    let ended = d.wait(&job["id"], LIMIT).await;
    assert_eq!(ended["status"], "CANCELLED", "{ended}");
    let within = Duration::from_secs(10);
    eventually(within, "processes of the cancelled build survive", || {
        let left = processes_in_groups(&groups);
        std::future::ready(if left.is_empty() { Ok(()) } else { Err(left) })
    })
    .await;
    let (_, again) = d
        .app
        .post_as(
            &d.owner,
            "mutation($d: ID!) { cancelDeployment(id: $d) { status } }",
            json!({ "d": deployment }),
        )
        .await;
    assert_eq!(
        first_code(&again),
        "CONFLICT",
        "an ended deployment cannot be cancelled: {again}"
    );
    d.app.stop().await;
}

#[tokio::test]
async fn twenty_deploys_with_three_workers_never_run_more_than_three_at_once_and_start_oldest_first()
 {
    for backend in backends() {
        let d = Deployer::spawn(backend, &["--deploy-max-workers", "3"]).await;
        let mut repos = Vec::new();
        let mut jobs = Vec::new();
        for n in 0..20 {
            let repo = Repo::new(&[
                ("deploy.toml", "build = \"sleep 0.3\"\nstatic = \"site\"\n"),
                ("site/index.html", "static site"),
            ]);
            let project = d.project(&format!("batch-app-{n:02}"), &repo).await;
            repos.push(repo);
            jobs.push(d.deploy(&project).await["id"].clone());
        }
        for job in &jobs {
            let done = d.wait(job, LIMIT).await;
            assert_eq!(done["status"], "SUCCEEDED", "{backend:?}: {done}");
        }
        let manager = d.app.state.deploy.manager();
        assert!(
            manager.high_water() <= 3,
            "{} ran at once",
            manager.high_water()
        );
        assert!(manager.high_water() >= 2, "the workers ran side by side");
        let started = manager.started_jobs();
        let created: Vec<i32> = jobs
            .iter()
            .map(|j| j.as_str().and_then(|s| s.parse().ok()).expect("a job id"))
            .collect();
        assert_eq!(started, created, "jobs start oldest first");
        let (status, page) = d.get_app("batch-app-07", "/").await;
        assert_eq!((status, page.as_str()), (200, "static site"));
        d.app.stop().await;
    }
}

#[tokio::test]
async fn deploying_twice_at_once_gives_exactly_one_conflict() {
    for backend in backends() {
        let d = Deployer::spawn(backend, &[]).await;
        let repo = Repo::new(&[(
            "deploy.toml",
            "build = \"sleep 60\"\nstart = \"exec python3 -m http.server $PORT\"\n",
        )]);
        let project = d.project("twice-app", &repo).await;
        let call = || {
            d.app.post_as(
                &d.owner,
                "mutation($p: ID!) { deployProject(projectId: $p) { id deployment { id } } }",
                json!({ "p": project }),
            )
        };
        let (a, b) = tokio::join!(call(), call());
        let codes: Vec<&str> = [&a.1, &b.1].iter().map(|body| first_code(body)).collect();
        let ok: Vec<_> = [&a.1, &b.1]
            .into_iter()
            .filter(|b| b.get("errors").is_none())
            .collect();
        assert_eq!(ok.len(), 1, "{backend:?}: {a:?} {b:?}");
        assert!(codes.contains(&"CONFLICT"), "{codes:?}");
        let deployment = ok[0]["data"]["deployProject"]["deployment"]["id"].clone();
        d.cancel(&deployment).await;
        d.app.stop().await;
    }
}

#[tokio::test]
async fn logs_and_the_admin_views_are_for_members_and_admins() {
    let d = Deployer::spawn(Backend::Sqlite, &[]).await;
    let repo = Repo::new(&[
        ("deploy.toml", "build = \"sleep 60\"\nstatic = \"s\"\n"),
        ("s/a", "a"),
    ]);
    let project = d.project("private-app", &repo).await;
    let job = d.deploy(&project).await;
    let deployment = job["deployment"]["id"].clone();
    let (_, body) = d
        .app
        .post_as(
            &d.other,
            "query($d: ID!) { deployment(id: $d) { status logs(kind: BUILD) { line } } }",
            json!({ "d": deployment }),
        )
        .await;
    assert_eq!(first_code(&body), "FORBIDDEN", "{body}");
    assert!(body["data"]["deployment"].is_null() || body["data"]["deployment"]["logs"].is_null());
    let (_, body) = d
        .app
        .post_as(&d.owner, "{ workers { uuid } }", json!({}))
        .await;
    assert_eq!(first_code(&body), "FORBIDDEN");
    // The admin sees the worker running the job and the queue's slots.
    let deadline = std::time::Instant::now() + LIMIT;
    loop {
        let view = d
            .app
            .data_as(&d.admin, "{ workers { uuid job { id } project { slug } } deployQueue { pending slotsUsed slotsFree maxWorkers sandbox } }", json!({}))
            .await;
        if view["workers"].as_array().is_some_and(|w| !w.is_empty()) {
            assert_eq!(view["workers"][0]["job"]["id"], job["id"]);
            assert_eq!(view["workers"][0]["project"]["slug"], "private-app");
            assert_eq!(view["deployQueue"]["slotsUsed"], 1);
            assert_eq!(view["deployQueue"]["slotsFree"], 1);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no worker: {view}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    d.cancel(&deployment).await;
    d.app.stop().await;
}

#[tokio::test]
async fn the_docker_runtime_deploys_a_dockerfile_where_an_engine_runs() {
    if !deploy::runtime::docker::available() {
        eprintln!(
            "skipped: no Docker engine answers `docker info` here; the docker runtime's \
             command lines are unit-tested in the deploy crate"
        );
        return;
    }
    let d = Deployer::spawn(Backend::Sqlite, &["--deploy-runtime", "docker"]).await;
    let repo = Repo::new(&[
        (
            "Dockerfile",
            "FROM python:3-alpine\nWORKDIR /app\nCOPY . .\nCMD python3 -m http.server 8080\n",
        ),
        ("index.html", "hello from a container"),
    ]);
    let project = d.project("docker-app", &repo).await;
    let done = d
        .wait(&d.deploy(&project).await["id"], Duration::from_secs(600))
        .await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    let (status, page) = d.get_app("docker-app", "/").await;
    assert_eq!(
        (status, page.contains("hello from a container")),
        (200, true)
    );
    d.app.stop().await;
}
