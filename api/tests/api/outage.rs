//! A database that goes away: the test cuts the loopback proxy between the gateway and
//! PostgreSQL (never the shared server, which other tests use). A query answers
//! `UNAVAILABLE` within the acquire timeout, `/readyz` names the databases, and once the
//! proxy passes again requests succeed with no restart.

use std::time::{Duration, Instant};

use api::users::model::RoleName;
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, eventually},
    round_trips::databases_on_the_wire,
};

const QUERY: &str = "{ projects(first: 1) { edges { node { id } } } }";
/// The test's DATABASE_ACQUIRE_TIMEOUT_SECS.
const BOUND: Duration = Duration::from_secs(2);

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
}

#[tokio::test]
async fn an_unreachable_database_answers_unavailable_within_the_bound_and_comes_back() {
    let Some((wire, databases)) = databases_on_the_wire().await else {
        eprintln!("skipped: needs PostgreSQL (TEST_DATABASE_URL; CI has it)");
        return;
    };
    let operator = format!("127.0.0.1:{}", crate::production::free_port());
    let flags = [
        "--database-acquire-timeout-secs",
        "2",
        "--metrics-bind-addr",
        operator.as_str(),
    ];
    let app = TestApp::spawn_on(databases, &flags).await;
    let (_, token) = app
        .user_with_role("reader@uni.edu", RoleName::Student)
        .await;
    let (status, body) = app.post_as(&token, QUERY, json!({})).await;
    assert_eq!((status.as_u16(), body.get("errors")), (200, None), "{body}");

    wire.cut();
    for _ in 0..2 {
        let started = Instant::now();
        let (_, body) = app.post_as(&token, QUERY, json!({})).await;
        let took = started.elapsed();
        assert_eq!(code(&body), "UNAVAILABLE", "{body}");
        assert!(
            took < BOUND + Duration::from_secs(2),
            "answered after {took:?}"
        );
    }
    let ready = app
        .client
        .get(format!("http://{operator}/readyz"))
        .send()
        .await
        .expect("the operator address answers");
    assert_eq!(ready.status().as_u16(), 503);
    let ready: Value = ready.json().await.expect("json");
    assert_ne!(ready["checks"]["projects"], "ok", "{ready}");
    assert_ne!(ready["checks"]["users"], "ok", "{ready}");

    wire.restore();
    eventually(
        Duration::from_secs(15),
        "requests fail after the proxy passes again",
        || async {
            let (_, body) = app.post_as(&token, QUERY, json!({})).await;
            if body.get("errors").is_none() {
                Ok(())
            } else {
                Err(body)
            }
        },
    )
    .await;
    app.stop().await;
}
