//! Fair turns: with 2 workers, student A queues 6 slow deploys, then student B one
//! quick one; B's starts as soon as a worker frees, before A's third; A's seventh is
//! refused with `LIMIT_REACHED` naming `DEPLOY_MAX_ACTIVE_PER_USER`.

use std::time::Duration;

use serde_json::{Value, json};

use super::{Deployer, Repo};
use crate::helpers::Backend;

const LIMIT: Duration = Duration::from_secs(120);

/// When a job was first claimed (RFC 3339, which orders as text within one zone).
async fn started_at(d: &Deployer, job: &Value) -> String {
    let found = d.wait(&job["id"], LIMIT).await;
    assert_eq!(found["status"], "SUCCEEDED", "{found}");
    let data = d
        .app
        .data_as(
            &d.admin,
            "query($j: ID!) { job(id: $j) { startedAt } }",
            json!({ "j": job["id"] }),
        )
        .await;
    data["job"]["startedAt"]
        .as_str()
        .expect("started")
        .to_owned()
}

fn slow() -> Repo {
    Repo::new(&[
        ("deploy.toml", "build = \"sleep 3\"\nstatic = \"s\"\n"),
        ("s/index.html", "slow"),
    ])
}

/// A's seventh deploy, refused at once, naming the cap.
async fn refused(d: &Deployer, project: &str) {
    let (_, body) = d
        .app
        .post_as(
            &d.owner,
            "mutation($p: ID!) { deployProject(projectId: $p) { id } }",
            json!({ "p": project }),
        )
        .await;
    let error = &body["errors"][0]["extensions"];
    assert_eq!(error["code"], "LIMIT_REACHED", "{body}");
    assert_eq!(error["limit"], "DEPLOY_MAX_ACTIVE_PER_USER", "{body}");
}

/// Student B's one quick deploy, of a project B alone works on; returns its job.
async fn b_deploys(d: &Deployer, quick: &Repo) -> Value {
    let b_project = d.project("quick-app", quick).await;
    let other_id = d.app.data_as(&d.other, "{ me { id } }", json!({})).await["me"]["id"].clone();
    d.app
        .data_as(
            &d.admin,
            "mutation($p: ID!, $u: ID!) { addCollaborator(projectId: $p, userId: $u) { id } }",
            json!({ "p": b_project, "u": other_id }),
        )
        .await;
    d.app
        .data_as(
            &d.other,
            "mutation($p: ID!) { deployProject(projectId: $p) { id } }",
            json!({ "p": b_project }),
        )
        .await["deployProject"]
        .clone()
}

#[tokio::test]
async fn one_students_queue_never_holds_anothers_deploy_past_one_build() {
    let flags = [
        "--deploy-max-workers",
        "2",
        "--deploy-max-active-per-user",
        "6",
    ];
    let d = Deployer::spawn(Backend::Sqlite, &flags).await;
    let repos: Vec<Repo> = (0..7).map(|_| slow()).collect();
    let mut a_jobs = Vec::new();
    for (n, repo) in repos.iter().enumerate() {
        let project = d.project(&format!("slow-app-{n}"), repo).await;
        if n < 6 {
            a_jobs.push(d.deploy(&project).await);
        } else {
            refused(&d, &project).await;
        }
    }
    let quick = Repo::new(&[
        ("deploy.toml", "static = \"s\"\n"),
        ("s/index.html", "quick"),
    ]);
    let b_job = b_deploys(&d, &quick).await;

    let b_started = started_at(&d, &b_job).await;
    let mut a_started = Vec::new();
    for job in &a_jobs {
        a_started.push(started_at(&d, job).await);
    }
    a_started.sort();
    assert!(
        b_started < a_started[2],
        "B's deploy started at {b_started}, after A's third ({:?})",
        &a_started[..3]
    );
    d.app.stop().await;
}
