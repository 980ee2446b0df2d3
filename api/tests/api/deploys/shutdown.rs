//! SIGTERM to a replica (the real binary) while it runs a deploy: it stops claiming,
//! gives the deploy that outlives its grace back to the queue (another replica finishes
//! it), closes its subscriptions with a close frame, leaves no process of the build and
//! exits 0.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{
    Message,
    protocol::{CloseFrame, frame::coding::CloseCode},
};

use super::{
    Deployer, Repo, Socket, is_root,
    replica::{Binary, Replica},
    subscribe_at,
};
use crate::helpers::{Backend, backends, eventually};

const LIMIT: Duration = Duration::from_secs(90);

#[tokio::test]
async fn sigterm_during_a_deploy_hands_it_to_another_replica_closes_subscriptions_and_exits_0() {
    if !backends().contains(&Backend::Postgres) || !is_root() {
        eprintln!("skipped: needs PostgreSQL (TEST_DATABASE_URL) and root (CI has both)");
        return;
    }
    // A serves and runs no deploys; X runs them, with a grace of 1 s.
    let a = Deployer::spawn(Backend::Postgres, &["--deploy-max-workers", "0"]).await;
    let flags = ["--deploy-max-workers", "1", "--deploy-lease-secs", "3"];
    let mut x = Binary::of(
        &a,
        &[&flags[..], &["--deploy-shutdown-grace-secs", "1"]].concat(),
    )
    .await;
    let repo = Repo::new(&[(
        "deploy.toml",
        "build = \"sleep 4\"\nstart = \"exec python3 -m http.server $PORT --bind 127.0.0.1\"\n",
    )]);
    let project = a.project("handover-app", &repo).await;
    let job = a.deploy(&project).await;
    let mut socket = subscribe_at(
        x.addr,
        &a.owner,
        "subscription($d: ID!) { deploymentUpdates(deploymentId: $d) { status progress } }",
        json!({ "d": job["deployment"]["id"] }),
    )
    .await;
    // X fetched and is building.
    eventually(LIMIT, "X never ran the job", || async {
        let now = a.job(&job["id"]).await;
        let building = now["status"] == "RUNNING" && now["progress"].as_i64() >= Some(20);
        building.then_some(()).ok_or(now)
    })
    .await;

    let sent = std::process::Command::new("kill")
        .args(["-TERM", &x.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    // The subscriber is told the server is going away, with a close frame.
    let close = close_frame(&mut socket).await;
    assert_eq!(close.code, CloseCode::Away, "{close:?}");

    // X exits 0 after its grace, and gave the job back.
    let status = eventually(LIMIT, "X is still running", || {
        std::future::ready(x.child.try_wait().expect("wait").ok_or("running"))
    })
    .await;
    assert!(status.success(), "X exited with {status}");
    the_job_is_back_in_the_queue(&a, &job["id"], &project).await;

    // B takes it over and finishes it.
    let b = Replica::of(&a, &["--deploy-max-workers", "1"]).await;
    let done = a.wait(&job["id"], LIMIT).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    let x_id = format!("-{}-", x.child.id());
    one_attempt_on_each(&done, &x_id, b.state.deploy.replica());
    b.stop().await;
    a.app.stop().await;
}

/// The job's log shows attempt 1 on X and attempt 2 on B, nothing more.
fn one_attempt_on_each(done: &Value, x_id: &str, b_id: &str) {
    let attempts: Vec<String> = super::lines(&done["deployment"]["logs"])
        .into_iter()
        .filter(|l| l.starts_with("attempt "))
        .collect();
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert!(
        attempts[0].starts_with("attempt 1 on ") && attempts[0].contains(x_id),
        "{attempts:?}"
    );
    assert!(
        attempts[1].starts_with("attempt 2 on ") && attempts[1].contains(b_id),
        "{attempts:?}"
    );
}

/// The close frame the server sends on `socket`, skipping other messages.
async fn close_frame(socket: &mut Socket) -> CloseFrame {
    tokio::time::timeout(LIMIT, async {
        while let Some(message) = socket.next().await {
            if let Message::Close(frame) = message.expect("a frame") {
                return frame;
            }
        }
        panic!("the socket ended without a close frame");
    })
    .await
    .expect("closed in time")
    .expect("a close frame with a code")
}

/// The job is pending again, saying why, and no process of its build is left.
async fn the_job_is_back_in_the_queue(a: &Deployer, job: &Value, project: &str) {
    let back = a.job(job).await;
    assert_eq!(back["status"], "PENDING", "{back}");
    assert!(
        back["message"]
            .as_str()
            .is_some_and(|m| m.contains("shut down before the job ended")),
        "{back}"
    );
    assert!(
        super::no_process_left(a.uid_of(project)).await,
        "X's build is gone"
    );
}
