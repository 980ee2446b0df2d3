//! The background routines of running apps: statistics and liveness.

use std::time::Duration;

use entities::projects::statistic;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;

use super::{Deployer, Repo, Socket, next_payload, subscribe};
use crate::helpers::{Backend, eventually};

const LIMIT: Duration = Duration::from_secs(90);

#[tokio::test]
async fn sixty_samples_of_a_running_app_keep_exactly_the_newest_fifty() {
    let d = Deployer::spawn(Backend::Sqlite, &[]).await;
    let repo = Repo::new(&[(
        "deploy.toml",
        "start = \"exec python3 -m http.server $PORT --bind 127.0.0.1\"\n",
    )]);
    let project = d.project("sampled-app", &repo).await;
    let done = d.wait(&d.deploy(&project).await["id"], LIMIT).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    for _ in 0..60 {
        let written = d
            .app
            .state
            .deploy
            .sample_statistics()
            .await
            .expect("sampled");
        assert_eq!(written, 1);
    }
    let project_id: i32 = project.parse().expect("an id");
    let rows = statistic::Entity::find()
        .filter(statistic::Column::ProjectId.eq(project_id))
        .order_by_asc(statistic::Column::Id)
        .all(&*d.app.state.databases.projects)
        .await
        .expect("rows");
    assert_eq!(rows.len(), 50);
    let ids: Vec<i32> = rows.iter().map(|r| r.id).collect();
    assert_eq!(ids[0], ids[49] - 49, "the newest 50, none skipped: {ids:?}");
    assert!(rows.iter().all(|r| r.memory_used > 0 && r.memory_limit > 0));
    let usage = d
        .app
        .data_as(
            &d.owner,
            "query($p: ID!) { project(id: $p) { currentUsage { memoryUsed cpuPercent } statistics(last: 50) { memoryUsed } } }",
            json!({ "p": project }),
        )
        .await;
    assert!(usage["project"]["currentUsage"]["memoryUsed"].as_i64() > Some(1_000_000));
    assert_eq!(
        usage["project"]["statistics"].as_array().map(Vec::len),
        Some(50)
    );
    d.app.stop().await;
}

#[tokio::test]
async fn an_app_that_exits_on_its_own_is_marked_not_running_and_the_subscription_says_so() {
    let d = Deployer::spawn(Backend::Sqlite, &["--deploy-liveness-interval-secs", "1"]).await;
    let short_lived = r#"import http.server, os, threading, time
server = http.server.ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), http.server.SimpleHTTPRequestHandler)
threading.Thread(target=server.serve_forever, daemon=True).start()
time.sleep(3)
print('leaving', flush=True)
os._exit(3)
"#;
    let repo = Repo::new(&[
        ("deploy.toml", "start = \"exec python3 app.py\"\n"),
        ("app.py", short_lived),
    ]);
    let project = d.project("mortal-app", &repo).await;
    let mut socket = subscribe(
        &d,
        &d.owner,
        "subscription($p: ID!) { projectDeployments(projectId: $p) { status progress running message } }",
        json!({ "p": project }),
    )
    .await;
    let done = d.wait(&d.deploy(&project).await["id"], LIMIT).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    let mut seen = Vec::new();
    let died = loop {
        let update =
            next_payload(&mut socket).await.expect("the stream goes on")["projectDeployments"]
                .clone();
        seen.push(update.clone());
        if update["running"] == false {
            break update;
        }
    };
    assert!(
        died["message"]
            .as_str()
            .is_some_and(|m| m.contains("exited with code 3")),
        "{died}"
    );
    assert!(
        seen.iter().any(|u| u["running"] == true),
        "the start was reported too: {seen:?}"
    );
    let running = d
        .app
        .data_as(
            &d.owner,
            "query($p: ID!) { project(id: $p) { running publicUrl } }",
            json!({ "p": project }),
        )
        .await;
    assert_eq!(running["project"]["running"], false);
    let (status, _) = d.get_app("mortal-app", "/").await;
    assert_eq!(status, 503);
    d.app.stop().await;
}

/// The project's deployments, newest first: (kind of their job, status).
async fn deployments(d: &Deployer, project: &str) -> Vec<(String, String)> {
    let data = d
        .app
        .data_as(
            &d.owner,
            "query($p: ID!) { project(id: $p) { deployments(first: 100) { status job { kind } } } }",
            json!({ "p": project }),
        )
        .await;
    data["project"]["deployments"]
        .as_array()
        .expect("deployments")
        .iter()
        .map(|d| {
            (
                d["job"]["kind"].as_str().unwrap_or_default().to_owned(),
                d["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// Reads `projectDeployments` until an update says the app stopped running; returns it.
async fn until_not_running(socket: &mut super::Socket) -> serde_json::Value {
    loop {
        let update =
            next_payload(socket).await.expect("the stream goes on")["projectDeployments"].clone();
        if update["running"] == false {
            return update;
        }
    }
}

/// The app dies, saying it restarts in `wait` s as `crash` in a row, and a START of
/// the same build brings it back.
async fn restarted_after(
    d: &Deployer,
    project: &str,
    socket: &mut Socket,
    crash: usize,
    wait: u64,
) {
    let died = until_not_running(socket).await;
    let expected = format!("exited with code 3; restarting in {wait} s (crash {crash} in a row)");
    assert!(
        died["message"]
            .as_str()
            .is_some_and(|m| m.contains(&expected)),
        "crash {crash}: {died}"
    );
    let all = eventually(LIMIT, "no restart", || async {
        let all = deployments(d, project).await;
        let ended = all.len() == crash + 1 && all[0].1 != "PENDING" && all[0].1 != "RUNNING";
        if ended { Ok(all) } else { Err(all) }
    })
    .await;
    assert_eq!(
        all[0],
        ("START".to_owned(), "SUCCEEDED".to_owned()),
        "{all:?}"
    );
}

/// Serves for 1.5 s, then exits with code 3.
const CRASHING: &str = r#"import http.server, os, threading, time
server = http.server.ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), http.server.SimpleHTTPRequestHandler)
threading.Thread(target=server.serve_forever, daemon=True).start()
time.sleep(1.5)
os._exit(3)
"#;

#[tokio::test]
async fn a_crashing_app_is_restarted_after_a_doubling_wait_until_a_person_stops_it() {
    let restarts = ["--deploy-restart-on-crash", "true"];
    let every_second = [
        "--deploy-liveness-interval-secs",
        "1",
        "--deploy-restart-backoff-secs",
        "1",
    ];
    let d = Deployer::spawn(Backend::Sqlite, &[&restarts[..], &every_second].concat()).await;
    let repo = Repo::new(&[
        ("deploy.toml", "start = \"exec python3 app.py\"\n"),
        ("app.py", CRASHING),
    ]);
    let project = d.project("phoenix-app", &repo).await;
    let mut socket = subscribe(
        &d,
        &d.owner,
        "subscription($p: ID!) { projectDeployments(projectId: $p) { status running message } }",
        json!({ "p": project }),
    )
    .await;
    let done = d.wait(&d.deploy(&project).await["id"], LIMIT).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");

    // Crash 1: restarted after 1 s, by a START of the same build; crash 2: after 2 s.
    for (crash, wait) in [(1, 1), (2, 2)] {
        restarted_after(&d, &project, &mut socket, crash, wait).await;
    }

    // Crash 3 is followed by a stop during the wait: the restart is dropped.
    let died = until_not_running(&mut socket).await;
    assert!(
        died["message"]
            .as_str()
            .is_some_and(|m| m.contains("restarting in 4 s (crash 3 in a row)")),
        "{died}"
    );
    d.stop_project(&project).await;
    // Past the 4 s wait and two liveness rounds, nothing was queued.
    tokio::time::sleep(Duration::from_secs(7)).await;
    let all = deployments(&d, &project).await;
    assert_eq!(all.len(), 3, "a stopped app stays stopped: {all:?}");
    assert!(!d.running(&project).await);
    d.app.stop().await;
}
