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

#[tokio::test]
async fn deleting_a_project_mid_deploy_cancels_the_deploy_and_leaves_nothing_of_it() {
    use entities::projects::{enums::JobStatus, job};
    use sea_orm::EntityTrait;

    let d = Deployer::spawn(crate::helpers::Backend::Sqlite, &[]).await;
    let repo = super::Repo::new(&[(
        "deploy.toml",
        "build = \"echo building; sleep 300\"\nstatic = \"s\"\n",
    )]);
    let project = d.project("doomed-app", &repo).await;
    let queued = d.deploy(&project).await;
    crate::helpers::eventually(LIMIT, "the build never started", || async {
        let now = d.job(&queued["id"]).await;
        let building = now["status"] == "RUNNING" && now["progress"].as_i64() >= Some(20);
        building.then_some(()).ok_or(now)
    })
    .await;
    let uid = d.uid_of(&project);
    d.delete_project(&project).await;
    let job_id: i32 = queued["id"]
        .as_str()
        .and_then(|i| i.parse().ok())
        .expect("an id");
    let ended = job::Entity::find_by_id(job_id)
        .one(&*d.app.state.databases.projects)
        .await
        .expect("read")
        .expect("the job stays, ended");
    assert_eq!(ended.status, JobStatus::Cancelled);
    if super::is_root() {
        assert!(
            super::no_process_left(uid).await,
            "the build's processes are gone"
        );
    }
    let folder = d.app.deploy_dir.path().join("deployments").join(&project);
    assert!(!folder.exists(), "{} is removed", folder.display());
    d.app.stop().await;
}
