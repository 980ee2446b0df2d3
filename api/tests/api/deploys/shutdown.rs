//! SIGTERM to a replica (the real binary) while it runs a deploy: it stops claiming,
//! gives the deploy that outlives its grace back to the queue (another replica finishes
//! it), closes its subscriptions with a close frame, leaves no process of the build and
//! exits 0.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::{Message, protocol::frame::coding::CloseCode};

use super::{
    Deployer, Repo, is_root,
    replica::{Binary, Replica},
    subscribe_at,
};
use crate::helpers::{Backend, backends};

const LIMIT: Duration = Duration::from_secs(90);

#[tokio::test]
async fn sigterm_during_a_deploy_hands_it_to_another_replica_closes_subscriptions_and_exits_0() {
    if !backends().contains(&Backend::Postgres) || !is_root() {
        eprintln!("skipped: needs PostgreSQL (TEST_DATABASE_URL) and root (CI has both)");
        return;
    }
    // A serves and runs no deploys; X runs them, with a grace of 1 s.
    let a = Deployer::spawn(Backend::Postgres, &["--deploy-max-workers", "0"]).await;
    let mut x = Binary::of(
        &a,
        &[
            "--deploy-max-workers",
            "1",
            "--deploy-lease-secs",
            "3",
            "--deploy-shutdown-grace-secs",
            "1",
        ],
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
    let deadline = Instant::now() + LIMIT;
    loop {
        let now = a.job(&job["id"]).await;
        if now["status"] == "RUNNING" && now["progress"].as_i64() >= Some(20) {
            break;
        }
        assert!(Instant::now() < deadline, "X never ran the job: {now}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let sent = std::process::Command::new("kill")
        .args(["-TERM", &x.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());

    // The subscriber is told the server is going away, with a close frame.
    let close = tokio::time::timeout(LIMIT, async {
        while let Some(message) = socket.next().await {
            match message.expect("a frame") {
                Message::Close(frame) => return frame,
                _ => continue,
            }
        }
        panic!("the socket ended without a close frame");
    })
    .await
    .expect("closed in time")
    .expect("a close frame with a code");
    assert_eq!(close.code, CloseCode::Away, "{close:?}");

    // X exits 0 after its grace, and gave the job back.
    let deadline = Instant::now() + LIMIT;
    let status = loop {
        if let Some(status) = x.child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "X is still running");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "X exited with {status}");
    let back = a.job(&job["id"]).await;
    assert_eq!(back["status"], "PENDING", "{back}");
    assert!(
        back["message"]
            .as_str()
            .is_some_and(|m| m.contains("shut down before the job ended")),
        "{back}"
    );
    assert!(
        super::no_process_left(a.uid_of(&project)).await,
        "X's build is gone"
    );

    // B takes it over and finishes it.
    let b = Replica::of(&a, &["--deploy-max-workers", "1"]).await;
    let done = a.wait(&job["id"], LIMIT).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    let attempts: Vec<String> = super::lines(&done["deployment"]["logs"])
        .into_iter()
        .filter(|l| l.starts_with("attempt "))
        .collect();
    let x_id = format!("-{}-", x.child.id());
    let b_id = b.state.deploy.replica();
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert!(
        attempts[0].starts_with("attempt 1 on ") && attempts[0].contains(&x_id),
        "{attempts:?}"
    );
    assert!(
        attempts[1].starts_with("attempt 2 on ") && attempts[1].contains(b_id),
        "{attempts:?}"
    );
    b.stop().await;
    a.app.stop().await;
}
