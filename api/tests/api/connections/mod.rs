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

mod drain;
mod readiness;
mod websocket;

/// `count` keep-alive connections that each got an answer, held open.
pub(super) async fn hold_connections(addr: std::net::SocketAddr, count: usize) -> Vec<TcpStream> {
    let mut held = Vec::new();
    for _ in 0..count {
        let mut stream = TcpStream::connect(addr).await.expect("connects");
        stream
            .write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("writes");
        let mut answer = [0u8; 512];
        assert!(stream.read(&mut answer).await.expect("answers") > 0);
        held.push(stream);
    }
    held
}

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
    // Not one byte.
    let mut silent = TcpStream::connect(app.addr).await.expect("connects");
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
        closed_within(&mut silent, Duration::from_secs(5)).await,
        "a connection that never sent a byte"
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
    let mut held = hold_connections(app.addr, 3).await;
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
