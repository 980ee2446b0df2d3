//! graphql-transport-ws, and the fair share of turns each caller gets.

use super::*;

#[tokio::test]
async fn websocket_speaks_graphql_transport_ws() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut request = format!("ws://{}/graphql/ws", app.addr)
        .into_client_request()
        .expect("a request");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().expect("a header"),
    );
    let (mut socket, response) = tokio_tungstenite::connect_async(request)
        .await
        .expect("connected");
    assert_eq!(
        response.headers()["sec-websocket-protocol"],
        "graphql-transport-ws"
    );

    let send = |value: Value| Message::text(value.to_string());
    socket
        .send(send(json!({ "type": "connection_init", "payload": {} })))
        .await
        .expect("sent");
    assert_eq!(next_text(&mut socket).await["type"], "connection_ack");
    socket
        .send(send(
            json!({ "id": "1", "type": "subscribe", "payload": { "query": "{ roles { name } }" } }),
        ))
        .await
        .expect("sent");
    let next = next_text(&mut socket).await;
    assert_eq!(next["type"], "next");
    assert_eq!(next["payload"]["data"]["roles"][3]["name"], "SUPPORT");
    assert_eq!(next_text(&mut socket).await["type"], "complete");
}

/// The next text frame as JSON, skipping pings and pongs.
async fn next_text<S>(socket: &mut S) -> Value
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        match socket.next().await.expect("a message").expect("no error") {
            Message::Text(text) => return serde_json::from_str(&text).expect("json"),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_legacy_websocket_protocol_is_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut request = format!("ws://{}/graphql/ws", app.addr)
        .into_client_request()
        .expect("a request");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-ws".parse().expect("a header"),
    );
    assert!(tokio_tungstenite::connect_async(request).await.is_err());
}

#[tokio::test]
async fn websocket_operations_see_the_viewer_from_the_connection_init_payload() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (_, token) = app
        .user_with_role("ws@uni.edu", api::users::model::RoleName::Student)
        .await;
    let mut request = format!("ws://{}/graphql/ws", app.addr)
        .into_client_request()
        .expect("a request");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().expect("a header"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("connected");
    let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } });
    socket
        .send(Message::text(init.to_string()))
        .await
        .expect("sent");
    assert_eq!(next_text(&mut socket).await["type"], "connection_ack");
    let subscribe =
        json!({ "id": "me", "type": "subscribe", "payload": { "query": "{ me { email } }" } });
    socket
        .send(Message::text(subscribe.to_string()))
        .await
        .expect("sent");
    let next = next_text(&mut socket).await;
    assert_eq!(
        next["payload"]["data"]["me"]["email"], "ws@uni.edu",
        "{next}"
    );
}

/// Posts `query` as `token` on a task of its own; the task answers the status.
fn send_in_background(
    app: &TestApp,
    token: &str,
    query: &'static str,
) -> tokio::task::JoinHandle<u16> {
    let (client, url, token) = (app.client.clone(), app.url("/graphql"), token.to_owned());
    tokio::spawn(async move {
        let response = client
            .post(url)
            .bearer_auth(token)
            .json(&json!({ "query": query }))
            .send()
            .await
            .expect("answered");
        response.status().as_u16()
    })
}

#[tokio::test]
async fn one_caller_runs_at_most_its_share_at_once_and_others_still_get_a_turn() {
    // A table lock holds requests inside execution, where they can be counted; only
    // PostgreSQL has one to hold.
    if !crate::helpers::backends().contains(&Backend::Postgres) {
        return;
    }
    let app = TestApp::spawn_with(
        Backend::Postgres,
        &[
            "--max-concurrent-requests",
            "4",
            "--max-concurrent-requests-per-caller",
            "1",
        ],
    )
    .await;
    let (_, mallory) = app
        .user_with_role("mallory@uni.edu", api::users::model::RoleName::Student)
        .await;
    let lock = crate::helpers::TableLock::take(&app, migration::Domain::Academic, "subjects").await;
    let blocked = "{ subjects(first: 1) { totalCount } }";
    // One running and four waiting is her share (1 + 4 × 1).
    let sent: Vec<_> = (0..5)
        .map(|_| send_in_background(&app, &mallory, blocked))
        .collect();
    let mut seen = 0;
    for _ in 0..40 {
        seen = lock.waiters().await;
        if seen > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!((seen, lock.waiters().await), (1, 1), "one of her five runs");
    // A sixth is refused at once; another caller is answered meanwhile.
    let (status, body) = app.post_as(&mallory, blocked, json!({})).await;
    assert_eq!(
        (status.as_u16(), crate::helpers::first_code(&body)),
        (429, "RATE_LIMITED"),
        "{body}"
    );
    let (status, body) = app.post("{ roles { name } }", json!({})).await;
    assert_eq!(status, 200, "{body}");
    lock.release().await;
    for task in sent {
        assert_eq!(task.await.expect("joined"), 200, "hers all run in turn");
    }
}
