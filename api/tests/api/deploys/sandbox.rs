//! Student code is untrusted: a deployed app cannot read the gateway's secrets or
//! databases, sees none of its environment, runs as its project's user, and a fork loop
//! or a memory hog is stopped by its limits while the gateway keeps answering.

use std::{
    os::unix::fs::PermissionsExt,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use serde_json::{Value, json};

use super::{Deployer, Repo, is_root};
use crate::helpers::{Backend, eventually};

const LIMIT: Duration = Duration::from_secs(90);

/// Prints what the app can read and see, then serves.
const PROBE: &str = r#"for f in "$@"; do
  if cat "$f" > /dev/null 2>&1; then echo "READ $f"; else echo "DENIED $f"; fi
done
echo "UID $(id -u)"
env | sort | sed 's/^/ENV /'
exec python3 -m http.server "$PORT" --bind 127.0.0.1
"#;

#[tokio::test]
async fn a_deployed_app_reads_no_gateway_secret_or_database_and_sees_none_of_its_environment() {
    if !is_root() {
        eprintln!("skipped: the user sandbox needs root (CI runs it as root)");
        return;
    }
    let d = Deployer::spawn(Backend::Sqlite, &[]).await;
    let secrets = the_gateways_secrets(&d);
    let start = format!("start = \"sh probe.sh {}\"\n", secrets.join(" "));
    let repo = Repo::new(&[("deploy.toml", start.as_str()), ("probe.sh", PROBE)]);
    let project = d.project("probe-app", &repo).await;
    d.app
        .data_as(
            &d.owner,
            "mutation($p: ID!) { setEnvironmentVariable(projectId: $p, name: \"GREETING\", value: \"hola\") { name } }",
            json!({ "p": project }),
        )
        .await;
    let job = d.deploy(&project).await;
    let done = d.wait(&job["id"], LIMIT).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    let log = d
        .runtime_log_with(&job["deployment"]["id"], |l| l.starts_with("UID "), LIMIT)
        .await;
    for path in &secrets {
        assert!(
            log.contains(&format!("DENIED {path}")),
            "{path} must be unreadable: {log:?}"
        );
    }
    assert!(
        log.contains(&format!("UID {}", d.uid_of(&project))),
        "{log:?}"
    );
    only_the_apps_own_environment(&log);
    d.app.stop().await;
}

/// The gateway's key files and databases, which exist, in a DATA_DIR it keeps to itself.
fn the_gateways_secrets(d: &Deployer) -> Vec<String> {
    let data_dir = d.app.databases.data_dir();
    let secrets: Vec<String> = [
        "jwt_secret",
        "secrets_key",
        "students_project_users.sqlite",
        "students_project_projects.sqlite",
    ]
    .iter()
    .map(|name| data_dir.join(name).display().to_string())
    .collect();
    for path in &secrets {
        assert!(std::path::Path::new(path).exists(), "{path} exists");
    }
    let mode = std::fs::metadata(&data_dir)
        .expect("data dir")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700, "the gateway keeps DATA_DIR to itself");
    secrets
}

/// The probe's `ENV` lines name only what the platform gives an app, and the
/// project's own variable arrives.
fn only_the_apps_own_environment(log: &[String]) {
    let names: Vec<&str> = log
        .iter()
        .filter_map(|l| l.strip_prefix("ENV "))
        .filter_map(|l| l.split_once('=').map(|(n, _)| n))
        .collect();
    let allowed = [
        "APP_BASE_PATH",
        "APP_URL",
        "GREETING",
        "HOME",
        "HOST",
        "LANG",
        "PATH",
        "PORT",
        "PWD",
        "SHLVL",
        "_",
    ];
    let leaked: Vec<&&str> = names.iter().filter(|n| !allowed.contains(n)).collect();
    assert!(
        leaked.is_empty(),
        "gateway variables leak into the app: {leaked:?}"
    );
    assert!(
        log.contains(&"ENV GREETING=hola".to_owned()),
        "the project's variables arrive"
    );
}

const FORK: &str = r#"import os, time
refused = False
for _ in range(10000):
    try:
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
    except OSError as e:
        print('fork refused:', e, flush=True)
        refused = True
        break
print('forked freely' if not refused else 'stopped', flush=True)
"#;

const HOG: &str = r#"chunks = []
while True:
    chunks.append(b'x' * (16 * 1024 * 1024))
    print('holding', len(chunks) * 16, 'MiB', flush=True)
"#;

#[tokio::test]
async fn a_fork_loop_and_a_memory_hog_are_stopped_by_their_limits_while_the_gateway_answers() {
    if !is_root() {
        eprintln!("skipped: the user sandbox needs root (CI runs it as root)");
        return;
    }
    let limits = ["--deploy-max-processes", "24", "--deploy-memory-mb", "64"];
    let flags = [&limits[..], &["--deploy-start-timeout-secs", "5"]].concat();
    let d = Deployer::spawn(Backend::Sqlite, &flags).await;
    let start = |script: &str| format!("start = \"python3 {script}\"\n");
    let forker = Repo::new(&[("deploy.toml", &*start("fork.py")), ("fork.py", FORK)]);
    let hogger = Repo::new(&[("deploy.toml", &*start("hog.py")), ("hog.py", HOG)]);
    let fork_project = d.project("fork-app", &forker).await;
    let hog_project = d.project("hog-app", &hogger).await;

    let stop = Arc::new(AtomicBool::new(false));
    let watcher = tokio::spawn(watch_livez(
        d.app.client.clone(),
        d.app.url("/livez"),
        stop.clone(),
    ));
    let fork_job = d.deploy(&fork_project).await;
    let hog_job = d.deploy(&hog_project).await;
    let mut most_processes = 0;
    let ended = |j: &Value| !matches!(j["status"].as_str(), Some("PENDING" | "RUNNING"));
    let (deployer, ids) = (&d, (&fork_job["id"], &hog_job["id"]));
    let (fork_done, hog_done) = eventually(LIMIT, "jobs never ended", || {
        most_processes = most_processes.max(super::processes_of(d.uid_of(&fork_project)).len());
        async move {
            let (f, h) = (deployer.job(ids.0).await, deployer.job(ids.1).await);
            if ended(&f) && ended(&h) {
                Ok((f, h))
            } else {
                Err((f, h))
            }
        }
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    let (answers, failures) = watcher.await.expect("the watcher ends");
    assert_eq!(
        failures, 0,
        "the gateway stopped answering ({answers} answers)"
    );

    // Neither app ever answered on its port: both deploys fail, stopped by limits.
    assert_eq!(fork_done["status"], "FAILED", "{fork_done}");
    assert_eq!(hog_done["status"], "FAILED", "{hog_done}");
    forks_were_refused(&d, &fork_job, most_processes).await;
    the_hog_was_stopped(&d, &hog_job).await;
    assert!(super::no_process_left(d.uid_of(&fork_project)).await);
    assert!(super::no_process_left(d.uid_of(&hog_project)).await);
    d.app.stop().await;
}

/// Asks `/livez` every 20 ms until `stop`; (answers, failures).
pub(super) async fn watch_livez(
    client: reqwest::Client,
    url: String,
    stop: Arc<AtomicBool>,
) -> (u32, u32) {
    let mut failures = 0;
    let mut answers = 0;
    while !stop.load(Ordering::SeqCst) {
        match tokio::time::timeout(Duration::from_secs(2), client.get(&url).send()).await {
            Ok(Ok(r)) if r.status() == 200 => answers += 1,
            _ => failures += 1,
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (answers, failures)
}

async fn forks_were_refused(d: &Deployer, job: &Value, most_processes: usize) {
    let fork_log = d
        .runtime_log_with(
            &job["deployment"]["id"],
            |l| l.starts_with("fork refused"),
            LIMIT,
        )
        .await;
    assert!(
        fork_log.iter().any(|l| l.starts_with("fork refused")),
        "the process limit refused forks: {fork_log:?}"
    );
    assert!(
        most_processes <= 24,
        "{most_processes} processes ran at once"
    );
}

/// Out of address space (rlimit), or killed by the cgroup's OOM killer (the shell
/// reports 128 + 9), before it held much past its 64 MiB.
async fn the_hog_was_stopped(d: &Deployer, job: &Value) {
    let stopped =
        |l: &str| l.contains("MemoryError") || l.contains("signal 9") || l.contains("code 137");
    let hog_log = d
        .runtime_log_with(&job["deployment"]["id"], stopped, LIMIT)
        .await;
    let held: Vec<&String> = hog_log
        .iter()
        .filter(|l| l.starts_with("holding"))
        .collect();
    assert!(
        held.len() < 8,
        "the memory hog held {} chunks of 16 MiB past a 64 MiB limit: {hog_log:?}",
        held.len()
    );
    assert!(
        hog_log.iter().any(|l| stopped(l)),
        "the hog was stopped by the memory limit: {hog_log:?}"
    );
}
