//! A project's own disk and memory-backed files: an app writing past DEPLOY_DISK_MB gets
//! "no space" while the gateway's uploads still work, its /dev/shm is its own (counted
//! against its memory, never the host's), and deleting the project removes its disk.

use std::{os::unix::fs::MetadataExt, time::Duration};

use super::{Deployer, Repo, is_root};
use crate::{
    helpers::Backend,
    projects::{PNG, upload},
};

const LIMIT: Duration = Duration::from_secs(90);

const FILL: &str = "dd if=/dev/zero of=$HOME/fill bs=1M count=100 2>&1 | grep -i space; \
dd if=/dev/zero of=/dev/shm/shm-fill bs=1M count=100 2>&1 | grep -i space; \
echo shm-marker > /dev/shm/disk-app-marker; echo FILLED; \
exec python3 -m http.server $PORT --bind 127.0.0.1";

#[tokio::test]
async fn an_app_past_its_disk_gets_no_space_and_the_gateway_keeps_writing() {
    if !is_root() {
        eprintln!("skipped: the user sandbox needs root (CI runs it as root)");
        return;
    }
    let flags = ["--deploy-disk-mb", "40", "--deploy-memory-mb", "64"];
    let d = Deployer::spawn(Backend::Sqlite, &flags).await;
    let spec = format!("start = \"{FILL}\"\n");
    let repo = Repo::new(&[("deploy.toml", spec.as_str())]);
    let project = d.project("disk-app", &repo).await;
    let job = d.deploy(&project).await;
    let done = d.wait(&job["id"], LIMIT).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    let log = d
        .runtime_log_with(&job["deployment"]["id"], |l| l == "FILLED", LIMIT)
        .await;
    let no_space = log
        .iter()
        .filter(|l| l.contains("No space left on device"))
        .count();
    assert_eq!(no_space, 2, "the disk and /dev/shm both ran out: {log:?}");

    let deployments = d.app.deploy_dir.path().join("deployments");
    let image = deployments.join("disks").join(format!("{project}.img"));
    let used = std::fs::metadata(&image).expect("the image").blocks() * 512;
    assert!(
        used <= 41 * 1024 * 1024,
        "the app took {used} bytes of the gateway's disk"
    );
    assert!(
        !std::path::Path::new("/dev/shm/disk-app-marker").exists(),
        "the app's /dev/shm is not the host's"
    );
    let response = upload(&d.app, &d.owner, "a.png", "image/png", PNG.to_vec()).await;
    assert_eq!(response.status(), 201, "the gateway's uploads still work");

    d.delete_project(&project).await;
    assert!(!image.exists(), "deleting the project removes its disk");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    let dir = deployments.join(&project).display().to_string();
    assert!(!mounts.contains(&dir), "its disk is unmounted");
    d.app.stop().await;
}
