//! Following a deploy over graphql-transport-ws, as a client does.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{Message, client::IntoClientRequest},
};

use super::Deployer;

pub type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a graphql-transport-ws connection as `token` and starts one subscription.
pub async fn subscribe(d: &Deployer, token: &str, query: &str, variables: Value) -> Socket {
    subscribe_at(d.app.addr, token, query, variables).await
}

/// [`subscribe`] on the gateway at `addr`.
pub async fn subscribe_at(
    addr: std::net::SocketAddr,
    token: &str,
    query: &str,
    variables: Value,
) -> Socket {
    let mut request = format!("ws://{addr}/graphql/ws")
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
    let subscribe = json!({ "id": "1", "type": "subscribe", "payload": { "query": query, "variables": variables } });
    socket
        .send(Message::text(subscribe.to_string()))
        .await
        .expect("sent");
    socket
}

/// The next `next` payload's data, or `None` at `complete`.
pub async fn next_payload(socket: &mut Socket) -> Option<Value> {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(90), socket.next())
            .await
            .expect("a message in time")
            .expect("the socket stays open")
            .expect("a frame");
        let Message::Text(text) = message else {
            continue;
        };
        let body: Value = serde_json::from_str(&text).expect("json");
        match body["type"].as_str() {
            Some("connection_ack") => {}
            Some("next") => {
                assert!(body["payload"].get("errors").is_none(), "{body}");
                return Some(body["payload"]["data"].clone());
            }
            Some("complete") => return None,
            _ => panic!("unexpected message {body}"),
        }
    }
}
