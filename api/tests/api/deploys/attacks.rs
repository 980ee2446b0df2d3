//! What a student could try with nothing but their own repository, tried: swapping the
//! published static folder for a link to the gateway's DATA_DIR while it is published
//! and served (in a loop, over several deploys), naming root's home as the repository,
//! and reaching public addresses from an app where egress is off.

use std::{collections::BTreeSet, path::Path, time::Duration};

use serde_json::Value;

use super::{Deployer, Repo, is_root};
use crate::helpers::Backend;

const LIMIT: Duration = Duration::from_secs(90);

/// Serves on $PORT while a thread swaps `public` for a link to DATA_DIR and back every
/// 25 ms, from before the publish step until the app is stopped.
const SWAPPER: &str = r#"import os, sys, threading, time, http.server
data_dir = sys.argv[1]
def swap():
    while True:
        try:
            time.sleep(0.02)
            os.rename('public', 'public.real')
            os.symlink(data_dir, 'public')
            time.sleep(0.005)
            os.remove('public')
            os.rename('public.real', 'public')
        except OSError:
            pass
threading.Thread(target=swap, daemon=True).start()
http.server.ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), http.server.SimpleHTTPRequestHandler).serve_forever()
"#;

fn listing(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                // SQLite's own side files come and go with the gateway's writes.
                .filter(|name| !name.ends_with("-wal") && !name.ends_with("-shm"))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn an_app_swapping_its_static_folder_for_a_link_to_data_dir_gets_nothing_of_it() {
    if !is_root() {
        eprintln!("skipped: the user sandbox needs root (CI runs it as root)");
        return;
    }
    let d = Deployer::spawn(Backend::Sqlite, &[]).await;
    let data_dir = d.app.databases.data_dir();
    let secret = std::fs::read(data_dir.join("jwt_secret")).expect("the gateway's secret");
    let before = listing(&data_dir);
    let spec = format!(
        "start = \"exec python3 swap.py {}\"\nstatic = \"public\"\n",
        data_dir.display()
    );
    let repo = Repo::new(&[
        ("deploy.toml", spec.as_str()),
        ("swap.py", SWAPPER),
        ("public/index.html", "<h1>mine</h1>"),
        ("public/student-marker.txt", "a student's file"),
    ]);
    let project = d.project("swap-app", &repo).await;
    let mut served = 0;
    for round in 0..5 {
        let done = d.wait(&d.deploy(&project).await["id"], LIMIT).await;
        let status = done["status"].as_str().unwrap_or_default();
        assert!(
            matches!(status, "SUCCEEDED" | "FAILED"),
            "round {round}: {done}"
        );
        served += usize::from(status == "SUCCEEDED");
        for name in ["jwt_secret", "secrets_key", "students_project_users.sqlite"] {
            for _ in 0..20 {
                let bytes = d
                    .app
                    .client
                    .get(d.app.app_url("swap-app", &format!("/{name}")))
                    .send()
                    .await
                    .expect("answers")
                    .bytes()
                    .await
                    .unwrap_or_default();
                assert!(
                    !contains(&bytes, &secret) && !bytes.starts_with(b"SQLite format"),
                    "round {round}: /{name} gave the gateway's data away"
                );
            }
        }
    }
    assert!(served > 0, "at least one deploy published and served");
    assert_eq!(
        listing(&data_dir),
        before,
        "no student file appeared in DATA_DIR"
    );
    every_published_file_is_the_gateways(&d, &project);
    d.app.stop().await;
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// The published copies: regular files and folders only, all root's.
fn every_published_file_is_the_gateways(d: &Deployer, project: &str) {
    use std::os::unix::fs::MetadataExt;
    let root = d
        .app
        .deploy_dir
        .path()
        .join("deployments/published")
        .join(project);
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let meta = std::fs::symlink_metadata(entry.path()).expect("metadata");
            assert_eq!(meta.uid(), 0, "{} is root's", entry.path().display());
            assert!(
                meta.is_file() || meta.is_dir(),
                "{} is a file or a folder",
                entry.path().display()
            );
            if meta.is_dir() {
                stack.push(entry.path());
            }
        }
    }
}

#[tokio::test]
async fn a_repository_in_roots_home_is_refused_and_an_app_without_egress_has_no_public_route() {
    if !is_root() {
        eprintln!("skipped: the user sandbox needs root (CI runs it as root)");
        return;
    }
    let d = Deployer::spawn(Backend::Sqlite, &["--deploy-app-egress", "none"]).await;
    let home = tempfile::tempdir_in("/root").expect("a folder in root's home");
    let secret = Repo::new(&[("deploy.toml", "start = \"true\"\n")]);
    let hidden = home.path().join("repo");
    std::fs::rename(secret.path(), &hidden).expect("moved into /root");
    let project = d
        .project_at("root-repo", &hidden.display().to_string())
        .await;
    let done = d.wait(&d.deploy(&project).await["id"], LIMIT).await;
    assert_eq!(done["status"], "FAILED", "{done}");
    assert!(
        done["message"]
            .as_str()
            .is_some_and(|m| m.contains("never shows")),
        "{done}"
    );

    let probe = "start = \"ip route get 9.9.9.9 || echo NO-PUBLIC-ROUTE; exec python3 -m http.server $PORT --bind 127.0.0.1\"\nbuild = \"ip route get 9.9.9.9 && echo BUILD-HAS-A-ROUTE\"\n";
    let repo = Repo::new(&[("deploy.toml", probe)]);
    let project = d.project("no-egress", &repo).await;
    let job = d.deploy(&project).await;
    let done = d.wait(&job["id"], LIMIT).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    let build: Vec<String> = super::lines(&done["deployment"]["logs"]);
    assert!(build.iter().any(|l| l == "BUILD-HAS-A-ROUTE"), "{build:?}");
    let runtime = d
        .runtime_log_with(&job["deployment"]["id"], |l| l == "NO-PUBLIC-ROUTE", LIMIT)
        .await;
    assert!(
        runtime.iter().any(|l| l == "NO-PUBLIC-ROUTE"),
        "{runtime:?}"
    );
    let view: Value = d
        .app
        .data_as(
            &d.admin,
            "{ deployQueue { sandbox } }",
            serde_json::json!({}),
        )
        .await;
    assert!(
        view["deployQueue"]["sandbox"]
            .as_str()
            .is_some_and(|s| s.contains("apps without public egress")),
        "{view}"
    );
    d.app.stop().await;
}
