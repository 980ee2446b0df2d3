//! One truth: two replicas on one PostgreSQL route every request by the project's
//! record, whichever replica started the instance and whichever changed it. Pollers on
//! both replicas watch the app throughout a deploy on A, a redeploy on B, a stop on A,
//! a start on B and a delete on A, then a new project on the freed slug: no answer ever
//! comes from an instance other than the current one, and the deleted project's app is
//! reached from neither.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use sea_orm::EntityTrait;
use serde_json::{Value, json};

use super::{Deployer, Repo, is_root, replica::Replica};
use crate::helpers::{Backend, backends, eventually, graphql_client};

const LIMIT: Duration = Duration::from_secs(90);
const SLUG: &str = "truth-app";

fn version(v: &str) -> [(&'static str, String); 2] {
    [
        (
            "deploy.toml",
            "start = \"exec python3 -m http.server $PORT --bind 127.0.0.1\"\n".to_owned(),
        ),
        ("index.html", format!("version {v}")),
    ]
}

/// One answer a poller saw: when its request was sent, from which replica, what came.
struct Seen {
    sent: Instant,
    replica: &'static str,
    status: u16,
    body: String,
}

type Log = Arc<Mutex<Vec<Seen>>>;

fn poll(
    replica: &'static str,
    addr: SocketAddr,
    done: Arc<AtomicBool>,
    log: Log,
) -> tokio::task::JoinHandle<()> {
    let client = graphql_client();
    let url = format!("http://{SLUG}.apps.localhost:{}/", addr.port());
    tokio::spawn(async move {
        while !done.load(Ordering::Relaxed) {
            let sent = Instant::now();
            let answer = client
                .get(&url)
                .timeout(Duration::from_secs(5))
                .send()
                .await;
            let (status, body) = match answer {
                Ok(response) => {
                    let status = response.status().as_u16();
                    (status, response.text().await.unwrap_or_default())
                }
                Err(error) => (0, error.to_string()),
            };
            log.lock().expect("the log").push(Seen {
                sent,
                replica,
                status,
                body,
            });
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
}

/// A GraphQL call as `token` on the replica at `addr`; returns `data`.
async fn call(addr: SocketAddr, token: &str, query: &str, variables: Value) -> Value {
    let body: Value = graphql_client()
        .post(format!("http://{addr}/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .expect("the replica answers")
        .json()
        .await
        .expect("JSON");
    assert!(body.get("errors").is_none(), "{body}");
    body["data"].clone()
}

/// Deploys (or starts) through the replica at `addr` and waits for success; returns when.
async fn deployed(d: &Deployer, addr: SocketAddr, mutation: &str, project: &str) -> Instant {
    let job = call(
        addr,
        &d.owner,
        &format!("mutation($p: ID!) {{ job: {mutation}(projectId: $p) {{ id }} }}"),
        json!({ "p": project }),
    )
    .await["job"]["id"]
        .clone();
    let done = d.wait(&job, LIMIT).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    let at = Instant::now();
    let id: i32 = done["deployment"]["id"]
        .as_str()
        .and_then(|i| i.parse().ok())
        .expect("an id");
    let ran = entities::projects::deployment::Entity::find_by_id(id)
        .one(&*d.app.state.databases.projects)
        .await
        .expect("read")
        .and_then(|found| found.replica);
    eprintln!("{mutation} through {addr}: the instance runs on {ran:?}");
    at
}

/// Every answer whose request was sent after `from` (and before `to`) passes `ok`.
fn all_after(
    log: &Log,
    from: Instant,
    to: Option<Instant>,
    what: &str,
    ok: impl Fn(&Seen) -> bool,
) {
    let log = log.lock().expect("the log");
    let window: Vec<&Seen> = log
        .iter()
        .filter(|s| s.sent > from && to.is_none_or(|to| s.sent < to))
        .collect();
    let wrong: Vec<String> = window
        .iter()
        .filter(|s| !ok(s))
        .map(|s| {
            format!(
                "{} {} {:?}",
                s.replica,
                s.status,
                &s.body[..s.body.len().min(60)]
            )
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "{what}: {} of {} answers wrong, e.g. {:?}",
        wrong.len(),
        window.len(),
        &wrong[..wrong.len().min(5)]
    );
    for replica in ["A", "B"] {
        assert!(
            window.iter().any(|s| s.replica == replica),
            "{what}: no answer from {replica} in the window"
        );
    }
}

#[tokio::test]
async fn two_replicas_serve_only_the_current_instance_through_deploys_stops_starts_and_a_delete() {
    if !backends().contains(&Backend::Postgres) || !is_root() {
        eprintln!(
            "skipped: replicas share a PostgreSQL database (TEST_DATABASE_URL), and apps need root"
        );
        return;
    }
    let a = Deployer::spawn(Backend::Postgres, &["--deploy-max-workers", "1"]).await;
    let b = Replica::of(&a, &["--deploy-max-workers", "1"]).await;
    let (a_addr, b_addr) = (a.app.addr, b.addr);
    let v1 = version("1");
    let repo = Repo::new(&v1.iter().map(|(p, c)| (*p, c.as_str())).collect::<Vec<_>>());
    let project = a.project(SLUG, &repo).await;
    let log: Log = Arc::default();
    let done = Arc::new(AtomicBool::new(false));
    let pollers = [
        poll("A", a_addr, done.clone(), log.clone()),
        poll("B", b_addr, done.clone(), log.clone()),
    ];

    let uid = a.uid_of(&project);
    let marks = the_steps(&a, b_addr, &repo, &project).await;
    done.store(true, Ordering::Relaxed);
    for poller in pollers {
        poller.await.expect("the poller");
    }

    every_answer_was_current(&log, &marks);
    // Neither replica keeps a process of the deleted project.
    eventually(
        Duration::from_secs(15),
        "the deleted project's app still runs",
        || {
            std::future::ready(if super::processes_of(uid).is_empty() {
                Ok(())
            } else {
                Err(super::processes_of(uid))
            })
        },
    )
    .await;
    b.stop().await;
    a.app.stop().await;
}

/// Deploy v1 through A, v2 through B, stop through A, start through B, delete through
/// A, then deploy a new project on the freed slug through B; when each was asked for
/// and seen done.
async fn the_steps(a: &Deployer, b_addr: SocketAddr, repo: &Repo, project: &str) -> Marks {
    let t1 = deployed(a, a.app.addr, "deployProject", project).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let v2 = version("2");
    repo.commit(
        &v2.iter().map(|(p, c)| (*p, c.as_str())).collect::<Vec<_>>(),
        "v2",
    );
    let asked_v2 = Instant::now();
    let t2 = deployed(a, b_addr, "deployProject", project).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let asked_stop = Instant::now();
    let stop = "mutation($p: ID!) { stopProject(projectId: $p) { running } }";
    call(a.app.addr, &a.owner, stop, json!({ "p": project })).await;
    let stopped = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let asked_start = Instant::now();
    let t4 = deployed(a, b_addr, "startProject", project).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Deleted through A; another student's project takes the slug.
    let asked_delete = Instant::now();
    a.delete_project(project).await;
    let deleted = Instant::now();
    let fresh_repo = Repo::new(&[
        (
            "deploy.toml",
            "start = \"exec python3 -m http.server $PORT --bind 127.0.0.1\"\n",
        ),
        ("index.html", "the new owner's app"),
    ]);
    let fresh = a.project(SLUG, &fresh_repo).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let t5 = deployed(a, b_addr, "deployProject", &fresh).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    Marks {
        t1,
        asked_v2,
        t2,
        asked_stop,
        stopped,
        asked_start,
        t4,
        asked_delete,
        deleted,
        t5,
    }
}

/// When each step of the test was asked for and seen done.
struct Marks {
    t1: Instant,
    asked_v2: Instant,
    t2: Instant,
    asked_stop: Instant,
    stopped: Instant,
    asked_start: Instant,
    t4: Instant,
    asked_delete: Instant,
    deleted: Instant,
    t5: Instant,
}

/// Between the steps, every answer came from the instance the record named then.
fn every_answer_was_current(log: &Log, m: &Marks) {
    let is = |v: &'static str| move |s: &Seen| s.status == 200 && s.body == format!("version {v}");
    all_after(
        log,
        m.t1,
        Some(m.asked_v2),
        "v1 deployed through A",
        is("1"),
    );
    all_after(
        log,
        m.t2,
        Some(m.asked_stop),
        "v2 deployed through B",
        is("2"),
    );
    all_after(
        log,
        m.stopped,
        Some(m.asked_start),
        "m.stopped through A",
        |s| s.status == 503,
    );
    all_after(
        log,
        m.t4,
        Some(m.asked_delete),
        "started through B",
        is("2"),
    );
    all_after(log, m.deleted, None, "m.deleted through A", |s| {
        !s.body.contains("version")
    });
    all_after(log, m.t5, None, "the slug's new project", |s| {
        s.status == 200 && s.body == "the new owner's app"
    });
}
