//! Connections are bounded: a slow or idle client is closed after the header timeout, at
//! most MAX_CONNECTIONS are open at once (one more is closed at once, and the gateway
//! keeps answering), WebSockets follow the same rules plus their own (connection_init in
//! time, message size, operations per connection, allowed origins), and a shutdown does
//! not wait for a slow client past its grace.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

use crate::helpers::{Backend, TestApp};

/// Waits until the server closes `stream` (EOF or reset); false if it is still open
/// after `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn a_slow_or_idle_client_is_closed_after_the_header_timeout() {
    let app = TestApp::spawn_with(Backend::Sqlite, &["--header-read-timeout-secs", "1"]).await;
    // Half a request head, then nothing.
    let mut slow = TcpStream::connect(app.addr).await.expect("connects");
    slow.write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("writes");
    // A complete request, then an idle keep-alive connection.
    let mut idle = TcpStream::connect(app.addr).await.expect("connects");
    idle.write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("writes");
    let mut answer = [0u8; 512];
    let n = idle.read(&mut answer).await.expect("an answer");
    assert!(
        String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer[..n])
    );
    assert!(
        closed_within(&mut slow, Duration::from_secs(10)).await,
        "slow head"
    );
    assert!(
        closed_within(&mut idle, Duration::from_secs(10)).await,
        "idle keep-alive"
    );
    app.stop().await;
}

#[tokio::test]
async fn past_max_connections_a_new_one_is_closed_at_once_and_the_gateway_still_answers() {
    let app = TestApp::spawn_with(Backend::Sqlite, &["--max-connections", "3"]).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut stream = TcpStream::connect(app.addr).await.expect("connects");
        stream
            .write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("writes");
        let mut answer = [0u8; 512];
        assert!(stream.read(&mut answer).await.expect("answers") > 0);
        held.push(stream);
    }
    let mut fourth = TcpStream::connect(app.addr)
        .await
        .expect("the kernel accepts");
    assert!(
        closed_within(&mut fourth, Duration::from_secs(5)).await,
        "the fourth connection is closed, not left waiting"
    );
    // A slot frees: the gateway answers again.
    drop(held.pop());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(response) = app.client.get(app.url("/livez")).send().await
            && response.status() == 200
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never answered again"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.stop().await;
}

#[tokio::test]
async fn livez_answers_while_two_thousand_idle_connections_are_open() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut idle = Vec::new();
    for _ in 0..2000 {
        idle.push(TcpStream::connect(app.addr).await.expect("connects"));
    }
    let response = app
        .client
        .get(app.url("/livez"))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 200);
    drop(idle);
    app.stop().await;
}

async fn ws(app: &TestApp, origin: Option<&str>) -> Result<crate::deploys::Socket, u16> {
    let mut request = format!("ws://{}/graphql/ws", app.addr)
        .into_client_request()
        .expect("a request");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().expect("a header"),
    );
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", origin.parse().expect("a header"));
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(other) => panic!("{other}"),
    }
}

/// The next text message as JSON, or the close frame's code.
async fn next(socket: &mut crate::deploys::Socket) -> Result<Value, Option<u16>> {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(20), socket.next())
            .await
            .expect("a message in time");
        match message {
            Some(Ok(Message::Text(text))) => return Ok(serde_json::from_str(&text).expect("json")),
            Some(Ok(Message::Close(frame))) => return Err(frame.map(|f| u16::from(f.code))),
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return Err(None),
        }
    }
}

/// The next message about operation `id`, skipping the others.
pub(crate) async fn answer_to(socket: &mut crate::deploys::Socket, id: &str) -> Value {
    loop {
        let message = next(socket).await.expect("a message, not a close");
        if message["id"] == id {
            return message;
        }
    }
}

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
async fn a_shutdown_does_not_wait_for_a_slow_client_past_its_grace() {
    let app = TestApp::spawn_with(Backend::Sqlite, &["--shutdown-grace-secs", "1"]).await;
    // A request whose body never finishes arriving.
    let mut slow = TcpStream::connect(app.addr).await.expect("connects");
    slow.write_all(
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"query\":",
    )
    .await
    .expect("writes");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stopped = tokio::time::timeout(Duration::from_secs(15), app.stop()).await;
    assert!(stopped.is_ok(), "the server exited despite the slow client");
}

#[tokio::test]
async fn an_upload_that_stalls_halfway_times_out_and_leaves_no_file_behind() {
    let app = TestApp::spawn_with(Backend::Sqlite, &["--request-timeout-secs", "1"]).await;
    let (_, token) = app
        .user_with_role("uploader@uni.edu", api::users::model::RoleName::Student)
        .await;
    let files = app.databases.data_dir().join("files");
    let stored = || {
        std::fs::read_dir(&files)
            .map(|entries| entries.flatten().count())
            .unwrap_or(0)
    };
    let boundary = "cutoff";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\
         Content-Type: image/png\r\n\r\n"
    );
    let mut stream = TcpStream::connect(app.addr).await.expect("connects");
    let request = format!(
        "POST /files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: 1000000\r\n\r\n{head}"
    );
    stream.write_all(request.as_bytes()).await.expect("writes");
    // Half a megabyte of the promised million, then nothing: the request times out.
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.resize(500_000, 0);
    stream.write_all(&png).await.expect("writes");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while stored() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the upload never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while stored() > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "a cut-off upload left {} files",
            stored()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut answer = vec![0u8; 1024];
    let n = stream.read(&mut answer).await.unwrap_or(0);
    assert!(
        String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&answer[..n])
    );
    drop(stream);
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

#[tokio::test]
async fn while_it_drains_the_gateway_refuses_new_work_and_its_probes_say_not_ready() {
    // A table lock keeps one request in flight; only PostgreSQL has one to hold.
    if !crate::helpers::backends().contains(&Backend::Postgres) {
        return;
    }
    let operator = format!("127.0.0.1:{}", crate::production::free_port());
    let app = TestApp::spawn_with(
        Backend::Postgres,
        &[
            "--metrics-bind-addr",
            &operator,
            "--shutdown-grace-secs",
            "30",
        ],
    )
    .await;
    let prober = app.client.clone();
    let probe = |path: &str| {
        let (client, url) = (prober.clone(), format!("http://{operator}{path}"));
        async move { client.get(url).send().await.map(|r| r.status().as_u16()) }
    };
    assert_eq!(probe("/readyz").await.ok(), Some(200));

    let lock = crate::helpers::TableLock::take(&app, migration::Domain::Academic, "subjects").await;
    let in_flight = {
        let (client, url) = (app.client.clone(), app.url("/graphql"));
        tokio::spawn(async move {
            let response = client
                .post(url)
                .json(&json!({ "query": "{ subjects(first: 1) { totalCount } }" }))
                .send()
                .await
                .expect("answered");
            (
                response.status().as_u16(),
                response.text().await.unwrap_or_default(),
            )
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.state.shutdown.cancel();

    // Draining: no new connection on the main address, probes say not ready (and alive).
    let mut refused = false;
    for _ in 0..50 {
        if TcpStream::connect(app.addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(refused, "the main listener closes at once");
    assert_eq!(probe("/readyz").await.ok(), Some(503));
    assert_eq!(probe("/livez").await.ok(), Some(200));
    assert!(
        !in_flight.is_finished(),
        "the request in flight is still running"
    );

    // The request in flight finishes; then the process is done, probes included.
    lock.release().await;
    let (status, body) = in_flight.await.expect("the request task");
    assert_eq!(status, 200, "{body}");
    app.stop().await;
    assert!(
        probe("/livez").await.is_err(),
        "the operator address closes last"
    );
}
