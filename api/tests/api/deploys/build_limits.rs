//! A build past its time limit is killed; logs keep only their newest lines; a line of
//! 200 MB without a newline is cut while it is read, never held whole.

use std::time::Duration;

use super::{Deployer, Repo, lines, replica::Binary};
use crate::helpers::{Backend, backends};

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

/// `kB` of a `/proc/<pid>/status` field (`VmRSS`, `VmHWM`).
fn status_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .expect("the gateway's status")
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
        .unwrap_or_else(|| panic!("no {field} for {pid}"))
}

const HUGE_LINE: &str = "import sys
chunk = 'x' * (1 << 20)
for _ in range(200):
    sys.stdout.write(chunk)
sys.stdout.flush()
print()
print('after the line')
";

#[tokio::test]
async fn a_200_mb_line_leaves_the_gateways_memory_within_a_small_bound() {
    if !backends().contains(&Backend::Postgres) {
        eprintln!(
            "skipped: the gateway runs as its own process on PostgreSQL (TEST_DATABASE_URL; CI has it)"
        );
        return;
    }
    // The deploy runs in X, the real binary, whose peak memory this test reads; A (in
    // the test's process) serves the API and runs no deploys.
    let a = Deployer::spawn(Backend::Postgres, &["--deploy-max-workers", "0"]).await;
    let x = Binary::of(&a, &["--deploy-max-workers", "1"]).await;
    let pid = x.child.id();
    let repo = Repo::new(&[
        (
            "deploy.toml",
            "build = \"python3 line.py\"\nstart = \"exec python3 -m http.server $PORT --bind 127.0.0.1\"\n",
        ),
        ("line.py", HUGE_LINE),
    ]);
    let project = a.project("long-line-app", &repo).await;
    // Writing 5 to clear_refs resets the peak (VmHWM) to what is resident now.
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").expect("reset the peak");
    let before = status_kb(pid, "VmHWM");
    let done = a.wait(&a.deploy(&project).await["id"], LIMIT).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    let peak = status_kb(pid, "VmHWM");
    // The line is 204,800 kB; the gateway may grow by buffers, never by the line.
    assert!(
        peak < before + 48 * 1024,
        "the gateway went from {before} kB to a peak of {peak} kB"
    );
    let build = lines(&done["deployment"]["logs"]);
    let cut = build
        .iter()
        .find(|l| l.starts_with("xxxx"))
        .unwrap_or_else(|| {
            panic!(
                "the long line is logged: {:?}",
                build
                    .iter()
                    .map(|l| &l[..l.len().min(80)])
                    .collect::<Vec<_>>()
            )
        });
    assert!(cut.len() <= 4096, "{} bytes kept", cut.len());
    assert!(cut.ends_with("[line cut]"), "{}", &cut[cut.len() - 40..]);
    assert!(
        build.iter().any(|l| l == "after the line"),
        "the next line survives"
    );
    drop(x);
    a.app.stop().await;
}
