//! A build past its time limit is killed; logs keep only their newest lines.

use std::time::Duration;

use super::{Deployer, Repo, lines};
use crate::helpers::Backend;

const LIMIT: Duration = Duration::from_secs(90);

#[tokio::test]
async fn a_build_past_its_time_limit_is_killed_and_logs_keep_only_their_newest_lines() {
    let d = Deployer::spawn(
        Backend::Sqlite,
        &[
            "--deploy-build-timeout-secs",
            "3",
            "--deploy-log-max-lines",
            "10",
        ],
    )
    .await;
    let slow = Repo::new(&[(
        "deploy.toml",
        "build = \"echo stuck; sleep 120 & sleep 120\"\nstatic = \"s\"\n",
    )]);
    let chatty = Repo::new(&[
        ("deploy.toml", "build = \"seq 1 50\"\nstatic = \"s\"\n"),
        ("s/index.html", "ok"),
    ]);
    let slow_project = d.project("stuck-app", &slow).await;
    let chatty_project = d.project("chatty-app", &chatty).await;
    let slow_job = d.deploy(&slow_project).await;
    let chatty_job = d.deploy(&chatty_project).await;

    let failed = d.wait(&slow_job["id"], LIMIT).await;
    assert_eq!(failed["status"], "FAILED", "{failed}");
    let message = failed["message"].as_str().unwrap_or_default();
    assert!(message.contains("longer than 3 s"), "{message}");
    if super::is_root() {
        assert!(
            super::no_process_left(d.uid_of(&slow_project)).await,
            "the timed-out build's processes are gone"
        );
    }

    let done = d.wait(&chatty_job["id"], LIMIT).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    let build = lines(&done["deployment"]["logs"]);
    assert_eq!(build.len(), 10, "{build:?}");
    assert!(
        build.contains(&"50".to_owned()),
        "the newest lines stay: {build:?}"
    );
    assert!(
        !build.contains(&"1".to_owned()),
        "the oldest lines go: {build:?}"
    );
    d.app.stop().await;
}
