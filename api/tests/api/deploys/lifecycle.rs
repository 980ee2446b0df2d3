//! A deployed project's life after its deploy: stopped, started again from its last
//! build (the same commit, without fetching), deleted.

use std::time::Duration;

use serde_json::json;

use super::Deployer;

const LIMIT: Duration = Duration::from_secs(90);

/// Stopped, the app is gone; started again from the last build (without fetching) it
/// serves v2; deleting the project stops it and removes its folders.
pub async fn stop_start_and_delete(d: &Deployer, project: &str) {
    d.stop_project(project).await;
    let (status, page) = d.get_app("hello-app", "/").await;
    assert_eq!(status, 503, "{page}");
    if super::is_root() {
        assert!(
            super::no_process_left(d.uid_of(project)).await,
            "stopping leaves no process"
        );
    }
    let job = d
        .app
        .data_as(
            &d.owner,
            "mutation($p: ID!) { startProject(projectId: $p) { id kind } }",
            json!({ "p": project }),
        )
        .await["startProject"]
        .clone();
    assert_eq!(job["kind"], "START");
    let done = d.wait(&job["id"], LIMIT).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    let (_, page) = d.get_app("hello-app", "/").await;
    assert!(page.contains("hello from v2"), "{page}");
    // The START runs the commit its build fetched, and says so.
    let built = d
        .app
        .data_as(
            &d.owner,
            "query($p: ID!) { project(id: $p) { deployments(first: 2) { commit job { kind } } } }",
            json!({ "p": project }),
        )
        .await;
    let [started, build] = &built["project"]["deployments"].as_array().expect("a list")[..] else {
        panic!("two deployments: {built}");
    };
    assert_eq!(started["job"]["kind"], "START");
    assert!(build["commit"].is_string(), "{built}");
    assert_eq!(started["commit"], build["commit"], "{built}");

    d.delete_project(project).await;
    let (status, _) = d.get_app("hello-app", "/").await;
    assert_eq!(status, 503);
    let folder = d.app.deploy_dir.path().join("deployments").join(project);
    assert!(!folder.exists(), "{} is removed", folder.display());
}
