//! Following deploys live over graphql-transport-ws.

use std::time::Duration;

use serde_json::{Value, json};

use super::{Deployer, Repo, lines, next_payload, subscribe};
use crate::helpers::Backend;

const SUBSCRIPTION: &str = "subscription($d: ID!) { deploymentUpdates(deploymentId: $d) { status progress message lines { kind line } } }";

/// Subscribes as `token` and collects every `next` payload until `complete`.
async fn follow(d: &Deployer, token: &str, deployment: &Value) -> Vec<Value> {
    let mut socket = subscribe(d, token, SUBSCRIPTION, json!({ "d": deployment })).await;
    let mut updates = Vec::new();
    while let Some(payload) = next_payload(&mut socket).await {
        updates.push(payload["deploymentUpdates"].clone());
    }
    updates
}

/// Each step's progress in order (an update of new lines repeats its step's), and the
/// build's two lines by the end of the build step, each once.
fn every_step_with_its_lines(updates: &[Value]) {
    let mut progress: Vec<i64> = updates
        .iter()
        .filter(|u| u["status"] == "RUNNING" || u["status"] == "SUCCEEDED")
        .filter_map(|u| u["progress"].as_i64())
        .filter(|p| *p > 0)
        .collect();
    progress.dedup();
    assert_eq!(progress, vec![20, 40, 60, 80, 100], "{updates:?}");
    let built = updates
        .iter()
        .position(|u| u["progress"] == 40)
        .expect("the build step");
    let built_lines: Vec<String> = updates[..=built]
        .iter()
        .flat_map(|u| lines(&u["lines"]))
        .collect();
    for line in ["line one", "line two"] {
        assert_eq!(
            built_lines.iter().filter(|l| *l == line).count(),
            1,
            "{line} arrives once, by the build step's end: {built_lines:?}"
        );
    }
}

#[tokio::test]
async fn a_subscriber_follows_every_step_with_its_log_lines_and_a_late_one_gets_the_state() {
    let d = Deployer::spawn(Backend::Sqlite, &["--deploy-max-workers", "1"]).await;
    // A deploy that holds the only worker, so the followed one waits in the queue.
    let blocker = Repo::new(&[("deploy.toml", "build = \"sleep 60\"\nstatic = \"s\"\n")]);
    let followed = Repo::new(&[
        (
            "deploy.toml",
            "build = \"echo line one && echo line two\"\nstatic = \"site\"\n",
        ),
        ("site/index.html", "live"),
    ]);
    let blocker_project = d.project("blocker-app", &blocker).await;
    let project = d.project("live-app", &followed).await;
    let blocking = d.deploy(&blocker_project).await;
    let job = d.deploy(&project).await;
    let deployment = job["deployment"]["id"].clone();

    let following = follow(&d, &d.owner, &deployment);
    let release = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        d.cancel(&blocking["deployment"]["id"]).await;
    };
    let (updates, ()) = tokio::join!(following, release);

    assert_eq!(
        updates[0]["status"], "PENDING",
        "the current state comes first: {updates:?}"
    );
    every_step_with_its_lines(&updates);
    assert_eq!(updates.last().expect("updates")["status"], "SUCCEEDED");

    // A late subscriber: the current (final) state, then completion.
    let late = follow(&d, &d.owner, &deployment).await;
    assert_eq!(late.len(), 1, "{late:?}");
    assert_eq!(late[0]["status"], "SUCCEEDED");
    assert_eq!(late[0]["progress"], 100);
    // Not a member: the steps, never the lines.
    let outsider = follow(&d, &d.other, &deployment).await;
    assert!(
        outsider[0]["lines"]
            .as_array()
            .is_some_and(|l| l.is_empty())
    );
    d.app.stop().await;
}
