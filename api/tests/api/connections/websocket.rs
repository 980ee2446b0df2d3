//! WebSocket connections: init in time, bounded operations, the HTTP limits, origins, timeouts.

use super::*;

#[tokio::test]
async fn a_websocket_must_init_in_time_and_runs_a_bounded_number_of_operations() {
    let d = crate::deploys::Deployer::spawn(
        Backend::Sqlite,
        &["--ws-init-timeout-secs", "1", "--ws-max-subscriptions", "1"],
    )
    .await;
    // No connection_init: closed with 4408.
    let mut silent = ws(&d.app, None).await.expect("upgraded");
    assert_eq!(next(&mut silent).await, Err(Some(4408)));

    // One operation at a time: while a subscription runs, a second operation is refused
    // with an error and the connection stays usable.
    let repo = crate::deploys::Repo::new(&[("deploy.toml", crate::deploys::APP)]);
    let project = d.project("ws-limits-app", &repo).await;
    let mut socket = crate::deploys::subscribe(
        &d,
        &d.owner,
        "subscription($p: ID!) { projectDeployments(projectId: $p) { status } }",
        json!({ "p": project }),
    )
    .await;
    let second =
        json!({ "id": "2", "type": "subscribe", "payload": { "query": "{ __typename }" } });
    socket
        .send(Message::text(second.to_string()))
        .await
        .expect("sent");
    let refused = answer_to(&mut socket, "2").await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(
        refused["payload"][0]["extensions"]["code"], "BUSY",
        "{refused}"
    );
    // Completing the subscription frees the slot.
    socket
        .send(Message::text(
            json!({ "id": "1", "type": "complete" }).to_string(),
        ))
        .await
        .expect("sent");
    let third = json!({ "id": "3", "type": "subscribe", "payload": { "query": "{ __typename }" } });
    socket
        .send(Message::text(third.to_string()))
        .await
        .expect("sent");
    let answered = answer_to(&mut socket, "3").await;
    assert_eq!(answered["type"], "next", "{answered}");
    assert_eq!(answered["payload"]["data"]["__typename"], "Query");
    d.app.stop().await;
}

#[tokio::test]
async fn websocket_operations_have_the_http_limits_and_big_messages_close_the_socket() {
    let app = TestApp::spawn_with(Backend::Sqlite, &["--max-body-bytes", "65536"]).await;
    let mut socket = ws(&app, None).await.expect("upgraded");
    socket
        .send(Message::text(
            json!({ "type": "connection_init" }).to_string(),
        ))
        .await
        .expect("sent");
    assert_eq!(
        next(&mut socket).await.expect("ack")["type"],
        "connection_ack"
    );
    let roots = "__typename ".repeat(21);
    let subscribe =
        json!({ "id": "1", "type": "subscribe", "payload": { "query": format!("{{ {roots} }}") } });
    socket
        .send(Message::text(subscribe.to_string()))
        .await
        .expect("sent");
    let answer = next(&mut socket).await.expect("an answer");
    let errors = if answer["type"] == "error" {
        answer["payload"].clone()
    } else {
        answer["payload"]["errors"].clone()
    };
    assert_eq!(
        errors[0]["extensions"]["code"], "QUERY_TOO_COMPLEX",
        "{answer}"
    );

    let huge = "x".repeat(100_000);
    let _ = socket.send(Message::text(huge)).await;
    let ended = loop {
        match next(&mut socket).await {
            Ok(_) => continue,
            Err(code) => break Err::<Value, _>(code),
        }
    };
    assert!(
        matches!(ended, Err(Some(1009)) | Err(None)),
        "a message over MAX_BODY_BYTES ends the connection: {ended:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_cross_site_page_cannot_open_a_websocket() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        &["--cors-allowed-origins", "https://app.example.edu"],
    )
    .await;
    assert_eq!(
        ws(&app, Some("https://evil.example")).await.err(),
        Some(403)
    );
    assert!(ws(&app, Some("https://app.example.edu")).await.is_ok());
    assert!(ws(&app, None).await.is_ok(), "not a browser");
    let own = format!("http://{}", app.addr);
    assert!(
        ws(&app, Some(&own)).await.is_ok(),
        "the gateway's own GraphiQL"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_query_over_websocket_is_stopped_at_the_request_timeout() {
    // A table lock makes a query wait; only PostgreSQL has one to hold.
    if !crate::helpers::backends().contains(&Backend::Postgres) {
        return;
    }
    let app = TestApp::spawn_with(Backend::Postgres, &["--request-timeout-secs", "1"]).await;
    let (_, token) = app
        .user_with_role("waiting@uni.edu", api::users::model::RoleName::Student)
        .await;
    let lock = crate::helpers::TableLock::take(&app, migration::Domain::Academic, "subjects").await;

    let query = "{ subjects(first: 5) { totalCount } }";
    let mut socket = crate::deploys::subscribe_at(app.addr, &token, query, json!({})).await;
    let answer = answer_to(&mut socket, "1").await;
    let errors = if answer["type"] == "error" {
        answer["payload"].clone()
    } else {
        answer["payload"]["errors"].clone()
    };
    assert_eq!(errors[0]["extensions"]["code"], "BUSY", "{answer}");
    let message = errors[0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("REQUEST_TIMEOUT_SECS"), "{message}");

    // The lock gone, the same connection answers at once.
    lock.release().await;
    let again = json!({ "id": "2", "type": "subscribe", "payload": { "query": query } });
    socket
        .send(Message::text(again.to_string()))
        .await
        .expect("sent");
    let answer = answer_to(&mut socket, "2").await;
    assert_eq!(answer["type"], "next", "{answer}");
    assert!(
        answer["payload"]["data"]["subjects"]["totalCount"].is_number(),
        "{answer}"
    );
    app.stop().await;
}
