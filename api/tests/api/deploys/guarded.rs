//! A deploy's stream keeps its authorization for as long as it is open, and its build's
//! lines arrive while the build runs: a subscriber whose token expires, one deactivated
//! and a collaborator removed mid-deploy each get one error and no log line after it.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use super::{Deployer, Repo, Socket, subscribe};
use crate::helpers::Backend;
use api::users::model::RoleName;

const FOLLOW: &str = "subscription($d: ID!) { deploymentUpdates(deploymentId: $d) { status progress lines { line } } }";

/// A build printing a line every 0.3 s for a minute (only a test's end stops it).
fn ticking() -> Repo {
    Repo::new(&[
        (
            "deploy.toml",
            "build = \"for i in $(seq 1 200); do echo tick $i; sleep 0.3; done\"\nstatic = \"s\"\n",
        ),
        ("s/index.html", "ticked"),
    ])
}

/// What a stream sent, in order: the lines of each update, or the error that ended it.
enum Got {
    Lines(Vec<String>, Value),
    Refused(String),
    Complete,
}

/// The next message of the subscription (within `limit`), or `None` if nothing came.
async fn next(socket: &mut Socket, limit: Duration) -> Option<Got> {
    loop {
        let message = tokio::time::timeout(limit, socket.next())
            .await
            .ok()??
            .ok()?;
        let Message::Text(text) = message else {
            continue;
        };
        let body: Value = serde_json::from_str(&text).expect("json");
        match body["type"].as_str() {
            Some("connection_ack") => {}
            Some("next") if body["payload"].get("errors").is_some() => {
                let code = body["payload"]["errors"][0]["extensions"]["code"]
                    .as_str()
                    .unwrap_or_default();
                return Some(Got::Refused(code.to_owned()));
            }
            Some("error") => {
                let code = body["payload"][0]["extensions"]["code"]
                    .as_str()
                    .unwrap_or_default();
                return Some(Got::Refused(code.to_owned()));
            }
            Some("next") => {
                let update = body["payload"]["data"]["deploymentUpdates"].clone();
                let lines = super::lines(&update["lines"]);
                return Some(Got::Lines(lines, update));
            }
            Some("complete") => return Some(Got::Complete),
            _ => panic!("unexpected message {body}"),
        }
    }
}

/// Reads until a `tick` line came; panics after `limit`.
async fn until_ticking(socket: &mut Socket, limit: Duration) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match next(socket, left).await {
            Some(Got::Lines(lines, update)) if lines.iter().any(|l| l.starts_with("tick")) => {
                return update;
            }
            Some(Got::Lines(..)) => {}
            Some(Got::Refused(code)) => panic!("refused ({code}) before any line"),
            Some(Got::Complete) => panic!("completed before a tick line"),
            None => panic!("no tick line within {limit:?}"),
        }
    }
}

/// Reads until the stream's error; returns its code and how long it took. Lines before
/// it are fine; after it nothing but `complete` may come.
async fn refused_then_silent(socket: &mut Socket, limit: Duration) -> (String, Duration) {
    let started = Instant::now();
    let code = loop {
        let left = limit.saturating_sub(started.elapsed());
        match next(socket, left).await {
            Some(Got::Lines(..)) => {}
            Some(Got::Refused(code)) => break code,
            Some(Got::Complete) => panic!("completed without an error"),
            None => panic!("no error within {limit:?}"),
        }
    };
    let took = started.elapsed();
    // The build keeps printing; nothing of it reaches this subscriber.
    match next(socket, Duration::from_secs(3)).await {
        Some(Got::Lines(lines, update)) => panic!("sent after the error: {lines:?} {update}"),
        Some(Got::Refused(code)) => panic!("a second error: {code}"),
        // Completed, or silent.
        Some(Got::Complete) | None => {}
    }
    // Completed: nothing more on the connection either.
    if let Some(Got::Lines(lines, _)) = next(socket, Duration::from_secs(2)).await {
        panic!("sent after the end: {lines:?}");
    }
    (code, took)
}

/// A new student, a collaborator of `project`; returns their id and a fresh token.
async fn watcher(d: &Deployer, email: &str, project: &str) -> (i32, String) {
    let (id, token) = d.app.user_with_role(email, RoleName::Student).await;
    d.app
        .data_as(
            &d.admin,
            "mutation($p: ID!, $u: ID!) { addCollaborator(projectId: $p, userId: $u) { id } }",
            json!({ "p": project, "u": id.to_string() }),
        )
        .await;
    (id, token)
}

#[tokio::test]
async fn build_lines_reach_a_subscriber_while_the_build_runs() {
    let d = Deployer::spawn(Backend::Sqlite, &[]).await;
    let repo = ticking();
    let project = d.project("ticking-app", &repo).await;
    let job = d.deploy(&project).await;
    let mut socket = subscribe(
        &d,
        &d.owner,
        FOLLOW,
        json!({ "d": job["deployment"]["id"] }),
    )
    .await;
    let update = until_ticking(&mut socket, Duration::from_secs(30)).await;
    assert_eq!(update["status"], "RUNNING", "{update}");
    assert!(
        update["progress"].as_i64() < Some(40),
        "the lines came before the build step ended: {update}"
    );
    // And they keep coming, a batch at a time.
    let again = until_ticking(&mut socket, Duration::from_secs(5)).await;
    assert_eq!(again["status"], "RUNNING", "{again}");
    d.app.stop().await;
}

#[tokio::test]
async fn a_subscription_ends_when_its_token_expires() {
    let d = Deployer::spawn(Backend::Sqlite, &["--access-token-ttl-secs", "10"]).await;
    let repo = ticking();
    let project = d.project("expiring-app", &repo).await;
    let job = d.deploy(&project).await;
    let (_, token) = watcher(&d, "watcher@uni.edu", &project).await;
    let issued = Instant::now();
    let mut socket = subscribe(&d, &token, FOLLOW, json!({ "d": job["deployment"]["id"] })).await;
    until_ticking(&mut socket, Duration::from_secs(9)).await;
    let (code, _) = refused_then_silent(&mut socket, Duration::from_secs(20)).await;
    assert_eq!(code, "UNAUTHENTICATED");
    let lived = issued.elapsed();
    assert!(
        lived >= Duration::from_secs(9) && lived < Duration::from_secs(16),
        "ended {lived:?} after the token was issued (it lives 10 s)"
    );
    d.app.stop().await;
}

#[tokio::test]
async fn a_deactivated_subscriber_and_a_removed_collaborator_get_no_line_after_it() {
    let d = Deployer::spawn(Backend::Sqlite, &[]).await;
    let repo = ticking();
    let project = d.project("guarded-app", &repo).await;
    let job = d.deploy(&project).await;
    let deployment = json!({ "d": job["deployment"]["id"] });
    let (gone_id, gone) = watcher(&d, "gone@uni.edu", &project).await;
    let (removed_id, removed) = watcher(&d, "removed@uni.edu", &project).await;
    let mut gone_socket = subscribe(&d, &gone, FOLLOW, deployment.clone()).await;
    let mut removed_socket = subscribe(&d, &removed, FOLLOW, deployment).await;
    until_ticking(&mut gone_socket, Duration::from_secs(30)).await;
    until_ticking(&mut removed_socket, Duration::from_secs(30)).await;

    d.app
        .data_as(
            &d.admin,
            "mutation($u: ID!) { setUserActive(userId: $u, active: false) { id } }",
            json!({ "u": gone_id.to_string() }),
        )
        .await;
    let (code, took) = refused_then_silent(&mut gone_socket, Duration::from_secs(10)).await;
    assert_eq!(code, "UNAUTHENTICATED");
    assert!(took < Duration::from_secs(3), "ended {took:?} after");

    d.app
        .data_as(
            &d.admin,
            "mutation($p: ID!, $u: ID!) { removeCollaborator(projectId: $p, userId: $u) { id } }",
            json!({ "p": project, "u": removed_id.to_string() }),
        )
        .await;
    let (code, took) = refused_then_silent(&mut removed_socket, Duration::from_secs(10)).await;
    assert_eq!(code, "FORBIDDEN");
    assert!(took < Duration::from_secs(3), "ended {took:?} after");
    d.app.stop().await;
}

#[tokio::test]
async fn a_connection_is_closed_with_4403_when_its_token_expires() {
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

    let d = Deployer::spawn(Backend::Sqlite, &["--access-token-ttl-secs", "10"]).await;
    let (_, token) = d
        .app
        .user_with_role("brief@uni.edu", RoleName::Student)
        .await;
    let issued = Instant::now();
    // Any operation: the connection's own token is what expires.
    let mut socket = subscribe(
        &d,
        &token,
        "subscription { projectDeployments(projectId: \"1\") { status } }",
        json!({}),
    )
    .await;
    let close = loop {
        let message = tokio::time::timeout(Duration::from_secs(20), socket.next())
            .await
            .expect("closed in time")
            .expect("a frame")
            .expect("a message");
        if let Message::Close(frame) = message {
            break frame.expect("a close frame");
        }
    };
    assert_eq!(close.code, CloseCode::from(4403), "{close:?}");
    let lived = issued.elapsed();
    assert!(
        lived >= Duration::from_secs(9) && lived < Duration::from_secs(14),
        "closed {lived:?} after the token was issued (it lives 10 s)"
    );
    d.app.stop().await;
}
