//! Apps survive their gateway: SIGTERM of the only gateway that runs apps (three, one a
//! static site), then the binary started again on the same data and folders: every app
//! answers again within the start timeout with no deploy or start by anyone, the static
//! site answered throughout, and no app runs twice.

use std::time::{Duration, Instant};

use serde_json::json;

use super::{Deployer, Repo, is_root, replica::Binary};
use crate::helpers::{Backend, backends, eventually};

const LIMIT: Duration = Duration::from_secs(90);
/// The tests' DEPLOY_START_TIMEOUT_SECS.
const START_TIMEOUT: Duration = Duration::from_secs(20);

fn app(body: &str) -> Repo {
    Repo::new(&[
        (
            "deploy.toml",
            "start = \"exec python3 -m http.server $PORT --bind 127.0.0.1\"\n",
        ),
        ("index.html", body),
    ])
}

/// The process groups the project's user runs processes in.
fn groups_of(uid: u32) -> Vec<i32> {
    let mut groups: Vec<i32> = super::processes_of(uid).iter().map(|(_, g)| *g).collect();
    groups.sort_unstable();
    groups.dedup();
    groups
}

#[tokio::test]
async fn apps_answer_again_after_their_only_gateway_restarts_with_no_one_starting_them() {
    if !backends().contains(&Backend::Postgres) || !is_root() {
        eprintln!("skipped: needs PostgreSQL (TEST_DATABASE_URL) and root (CI has both)");
        return;
    }
    // A (in the test) serves the API and runs nothing; X, the real binary, runs apps.
    let a = Deployer::spawn(Backend::Postgres, &["--deploy-max-workers", "0"]).await;
    let x_flags = [
        "--deploy-max-workers",
        "2",
        "--deploy-shutdown-grace-secs",
        "1",
    ];
    let x = Binary::of(&a, &x_flags).await;
    let repos = [
        app("the first app"),
        app("the second app"),
        Repo::new(&[
            ("deploy.toml", "static = \"public\"\n"),
            ("public/index.html", "the static site"),
        ]),
    ];
    let projects = three_deployed(&a, &repos).await;
    let ids: Vec<&str> = projects.iter().map(|(p, _, _)| p.as_str()).collect();
    let jobs_before = jobs(&a, &ids).await;

    // SIGTERM, as for an upgrade; X exits once its apps are stopped.
    terminated(x).await;
    down_but_wanted(&a, &projects).await;

    // The same binary again, on the same data: it starts what should run.
    let started = Instant::now();
    let _x2 = Binary::of(&a, &x_flags).await;
    for (_, slug, body) in &projects {
        eventually(START_TIMEOUT, "an app is not back", || async {
            let answer = a.get_app(slug, "/").await;
            (answer == (200, (*body).to_owned()))
                .then_some(())
                .ok_or(answer)
        })
        .await;
    }
    let back = started.elapsed();
    assert!(back < START_TIMEOUT, "back after {back:?}");
    only_the_gateways_starts(&a, &ids, &jobs_before).await;
    for (project, slug, _) in &projects[..2] {
        assert_eq!(groups_of(a.uid_of(project)).len(), 1, "{slug} runs once");
    }
    a.app.stop().await;
}

/// SIGTERM to `x`; returns once it exited.
async fn terminated(mut x: Binary) {
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &x.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    eventually(LIMIT, "X is still running", || {
        std::future::ready(x.child.try_wait().expect("wait").ok_or("running"))
    })
    .await;
}

/// Nobody deployed or started: the only jobs since `before` are the gateway's own
/// STARTs, one per app with a process.
async fn only_the_gateways_starts(a: &Deployer, ids: &[&str], before: &[(String, String)]) {
    let since: Vec<_> = jobs(a, ids)
        .await
        .into_iter()
        .filter(|j| !before.contains(j))
        .collect();
    assert_eq!(
        since.len(),
        2,
        "one START per app with a process: {since:?}"
    );
    assert!(since.iter().all(|(kind, _)| kind == "START"), "{since:?}");
}

/// The two apps and the static site, deployed; (project, slug, what `/` answers).
async fn three_deployed(
    a: &Deployer,
    repos: &[Repo; 3],
) -> Vec<(String, &'static str, &'static str)> {
    let mut projects = Vec::new();
    for ((slug, body), repo) in [
        ("first-app", "the first app"),
        ("second-app", "the second app"),
        ("static-site", "the static site"),
    ]
    .into_iter()
    .zip(repos)
    {
        let project = a.project(slug, repo).await;
        let done = a.wait(&a.deploy(&project).await["id"], LIMIT).await;
        assert_eq!(done["status"], "SUCCEEDED", "{done}");
        assert_eq!(a.get_app(slug, "/").await, (200, body.to_owned()));
        projects.push((project, slug, body));
    }
    projects
}

/// While no gateway runs apps: the two apps are down, still wanted, and the static
/// site is served.
async fn down_but_wanted(a: &Deployer, projects: &[(String, &str, &str)]) {
    for (project, slug, _) in &projects[..2] {
        assert!(
            groups_of(a.uid_of(project)).is_empty(),
            "{slug} stopped with X"
        );
        assert_ne!(
            a.get_app(slug, "/").await.0,
            200,
            "{slug} is down meanwhile"
        );
        assert!(a.running(project).await, "{slug} should still run");
    }
    assert_eq!(
        a.get_app("static-site", "/").await,
        (200, "the static site".to_owned()),
        "a static site needs no process"
    );
}

/// Every job of these projects, as (kind, id).
async fn jobs(a: &Deployer, projects: &[&str]) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for project in projects {
        let data = a
            .app
            .data_as(
                &a.admin,
                "query($p: ID!) { project(id: $p) { deployments(first: 50) { job { id kind } } } }",
                json!({ "p": project }),
            )
            .await;
        for d in data["project"]["deployments"]
            .as_array()
            .into_iter()
            .flatten()
        {
            found.push((
                d["job"]["kind"].as_str().unwrap_or_default().to_owned(),
                d["job"]["id"].as_str().unwrap_or_default().to_owned(),
            ));
        }
    }
    found
}
