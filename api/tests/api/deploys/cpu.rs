//! Three CPU-bound apps on a two-core machine: each is held to its DEPLOY_CPU_PERCENT
//! share of a core by its cgroup, and the gateway keeps answering throughout.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use super::{Deployer, Repo, is_root, processes_of};
use crate::helpers::Backend;

const LIMIT: Duration = Duration::from_secs(90);

const SPIN: &str = r#"import os, threading, http.server
def spin():
    while True:
        pass
for _ in range(2):
    threading.Thread(target=spin, daemon=True).start()
http.server.ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), http.server.SimpleHTTPRequestHandler).serve_forever()
"#;

/// CPU seconds (user + system) the processes of `uid` have used so far.
fn cpu_seconds(uid: u32) -> f64 {
    let ticks: u64 = processes_of(uid)
        .iter()
        .filter_map(|(pid, _)| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok())
        .filter_map(|stat| {
            // Fields after the command's closing parenthesis: utime is the 12th, stime the 13th.
            let rest = stat.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
        })
        .sum();
    ticks as f64 / 100.0
}

#[tokio::test]
async fn three_cpu_bound_apps_keep_to_their_share_and_the_gateway_answers() {
    if !is_root() {
        eprintln!("skipped: the user sandbox needs root (CI runs it as root)");
        return;
    }
    let d = Deployer::spawn(Backend::Sqlite, &["--deploy-cpu-percent", "20"]).await;
    let mut projects = Vec::new();
    for slug in ["spin-one", "spin-two", "spin-six"] {
        let repo = Repo::new(&[
            ("deploy.toml", "start = \"exec python3 spin.py\"\n"),
            ("spin.py", SPIN),
        ]);
        let project = d.project(slug, &repo).await;
        let done = d.wait(&d.deploy(&project).await["id"], LIMIT).await;
        assert_eq!(done["status"], "SUCCEEDED", "{done}");
        projects.push(project);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = tokio::spawn(super::sandbox::watch_livez(
        d.app.client.clone(),
        d.app.url("/livez"),
        stop.clone(),
    ));
    let uids: Vec<u32> = projects.iter().map(|p| d.uid_of(p)).collect();
    let before: Vec<f64> = uids.iter().map(|u| cpu_seconds(*u)).collect();
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let elapsed = started.elapsed().as_secs_f64();
    let used: Vec<f64> = uids
        .iter()
        .zip(&before)
        .map(|(u, b)| cpu_seconds(*u) - b)
        .collect();
    stop.store(true, Ordering::SeqCst);
    let (answers, failures) = watcher.await.expect("the watcher ends");
    for share in used.iter().map(|u| u / elapsed) {
        // Two spinning threads would take two cores; the quota is a fifth of one.
        assert!(share < 0.3, "an app used {share:.2} of a core: {used:?}");
    }
    assert_eq!(
        failures, 0,
        "the gateway stopped answering ({answers} answers)"
    );
    assert!(answers > 20, "{answers} answers in {elapsed:.1} s");
    d.app.stop().await;
}
