//! What a static site publishes: never the repository's version-control folders.

use std::time::Duration;

use super::{Deployer, Repo};
use crate::helpers::Backend;

const LIMIT: Duration = Duration::from_secs(90);

#[tokio::test]
async fn a_static_folder_of_the_whole_repository_never_publishes_its_git_folder() {
    let d = Deployer::spawn(Backend::Sqlite, &[]).await;
    let repo = Repo::new(&[
        ("deploy.toml", "static = \".\"\n"),
        ("index.html", "the whole repository"),
    ]);
    let project = d.project("whole-repo", &repo).await;
    let done = d.wait(&d.deploy(&project).await["id"], LIMIT).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    assert_eq!(
        d.get_app("whole-repo", "/").await,
        (200, "the whole repository".to_owned())
    );
    for path in ["/.git/config", "/.git/HEAD", "/.git/", "/.git"] {
        let (status, body) = d.get_app("whole-repo", path).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert!(
            !body.contains("[core]") && !body.contains("refs/heads"),
            "{path}: {body}"
        );
    }
    d.app.stop().await;
}
