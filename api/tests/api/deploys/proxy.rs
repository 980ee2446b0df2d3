//! An app at the root of its own host (`<slug>.apps.localhost`), through the gateway's
//! reverse proxy: no prefix, none of the gateway's routes on the app's host and no app
//! on the gateway's, forwarding headers the client cannot forge, no `Authorization`
//! passed on, cookies kept to the app's host, hop-by-hop headers dropped, streamed
//! bodies, and WebSocket upgrades passed through.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use super::{Deployer, Repo};
use crate::helpers::Backend;

/// Echoes request headers and bodies as JSON, and speaks just enough WebSocket to
/// echo one text frame.
const ECHO: &str = r#"import base64, hashlib, json, os, struct
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Echo(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def reply(self, body):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.send_header('Keep-Alive', 'timeout=5')
        self.send_header('Set-Cookie', 'sid=abc; Domain=apps.localhost; Path=/; HttpOnly')
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.headers.get('Upgrade', '').lower() == 'websocket':
            return self.websocket()
        self.reply({'path': self.path, 'headers': {k.lower(): v for k, v in self.headers.items()}})

    def do_POST(self):
        length = int(self.headers.get('Content-Length', '0'))
        self.reply({'path': self.path, 'length': len(self.rfile.read(length))})

    def websocket(self):
        key = self.headers['Sec-WebSocket-Key']
        accept = base64.b64encode(hashlib.sha1((key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').encode()).digest()).decode()
        self.send_response(101)
        self.send_header('Upgrade', 'websocket')
        self.send_header('Connection', 'Upgrade')
        self.send_header('Sec-WebSocket-Accept', accept)
        self.end_headers()
        self.wfile.flush()
        head = self.rfile.read(2)
        length = head[1] & 0x7f
        mask = self.rfile.read(4)
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(self.rfile.read(length)))
        reply = b'echo: ' + payload
        self.wfile.write(bytes([0x81, len(reply)]) + reply)
        self.wfile.flush()
        self.close_connection = True

ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), Echo).serve_forever()
"#;

#[tokio::test]
async fn the_proxy_forwards_headers_streams_bodies_and_passes_websockets_through() {
    let d = Deployer::spawn(Backend::Sqlite, &[]).await;
    let repo = Repo::new(&[
        ("deploy.toml", "start = \"exec python3 echo.py\"\n"),
        ("echo.py", ECHO),
    ]);
    let project = d.project("echo-app", &repo).await;
    let done = d
        .wait(&d.deploy(&project).await["id"], Duration::from_secs(90))
        .await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");

    headers_are_forwarded_and_hop_by_hop_ones_dropped(&d).await;
    the_gateway_and_the_app_keep_to_their_own_hosts(&d).await;
    the_body_reaches_the_app_whole(&d).await;
    a_websocket_passes_through(&d).await;
    d.app.stop().await;
}

async fn headers_are_forwarded_and_hop_by_hop_ones_dropped(d: &Deployer) {
    let response = d
        .app
        .client
        .get(d.app.app_url("echo-app", "/some/path?q=1"))
        .header("Connection", "keep-alive, X-Hop")
        .header("X-Hop", "must not reach the app")
        .header("X-Custom", "reaches the app")
        .header("Authorization", "Bearer the-admins-token")
        .header("X-Forwarded-For", "203.0.113.66")
        .header("Forwarded", "for=203.0.113.66;proto=https")
        .header("X-Real-IP", "203.0.113.66")
        .header("X-Forwarded-Proto", "https")
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 200);
    assert!(
        response.headers().get("keep-alive").is_none(),
        "hop-by-hop headers of the app's response are dropped"
    );
    assert_eq!(
        response.headers()["set-cookie"],
        "sid=abc; Path=/; HttpOnly",
        "an app's cookie loses its Domain: it stays on the app's host"
    );
    let echoed: Value = response.json().await.expect("json");
    let headers = &echoed["headers"];
    let host = format!("echo-app.apps.localhost:{}", d.app.addr.port());
    assert_eq!(echoed["path"], "/some/path?q=1", "no prefix is stripped");
    assert!(headers.get("authorization").is_none(), "{headers}");
    assert!(headers.get("x-forwarded-prefix").is_none(), "{headers}");
    assert_eq!(headers["x-forwarded-proto"], "http");
    assert_eq!(headers["x-forwarded-for"], "127.0.0.1");
    assert_eq!(headers["x-real-ip"], "127.0.0.1");
    assert_eq!(
        headers["forwarded"],
        format!("for=127.0.0.1;host=\"{host}\";proto=http").as_str()
    );
    assert_eq!(headers["x-forwarded-host"], host.as_str());
    assert_eq!(headers["x-custom"], "reaches the app");
    assert!(headers.get("x-hop").is_none(), "{headers}");
}

async fn the_gateway_and_the_app_keep_to_their_own_hosts(d: &Deployer) {
    // The app's host has no /graphql, GraphiQL or /files of the gateway's: the app's own.
    for path in ["/graphql", "/", "/files/1"] {
        let echoed: Value = d
            .app
            .client
            .get(d.app.app_url("echo-app", path))
            .send()
            .await
            .expect("answers")
            .json()
            .await
            .expect("the app's json");
        assert_eq!(echoed["path"], path, "the app answers {path} on its host");
    }
    // The gateway's host serves no app: /apps/<slug>/... moves to the app's address.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    let moved = no_redirects
        .get(d.app.url("/apps/echo-app/some/path?q=1"))
        .send()
        .await
        .expect("answers");
    assert_eq!(moved.status(), 308);
    assert_eq!(
        moved.headers()["location"],
        d.app.app_url("echo-app", "/some/path?q=1").as_str()
    );
    let project: Value = d
        .app
        .data_as(
            &d.owner,
            "{ projects(first: 5) { nodes { slug publicUrl } } }",
            serde_json::json!({}),
        )
        .await;
    let node = &project["projects"]["nodes"][0];
    assert_eq!(node["publicUrl"], d.app.app_url("echo-app", "/").as_str());
}

async fn the_body_reaches_the_app_whole(d: &Deployer) {
    let body = vec![b'x'; 3 * 1024 * 1024];
    let posted: Value = d
        .app
        .client
        .post(d.app.app_url("echo-app", "/upload"))
        .body(body)
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("json");
    assert_eq!(
        posted["length"],
        3 * 1024 * 1024,
        "the body reaches the app whole"
    );
}

async fn a_websocket_passes_through(d: &Deployer) {
    // The app's host name, on a connection to the gateway (*.localhost is loopback).
    let url = format!("ws://echo-app.apps.localhost:{}/socket", d.app.addr.port());
    let stream = tokio::net::TcpStream::connect(d.app.addr)
        .await
        .expect("connected");
    let (mut socket, response) = tokio_tungstenite::client_async(url, stream)
        .await
        .expect("the upgrade goes through");
    assert_eq!(response.status(), 101);
    socket
        .send(Message::Text("hello".into()))
        .await
        .expect("sent");
    let reply = tokio::time::timeout(Duration::from_secs(5), socket.next())
        .await
        .expect("a reply in time")
        .expect("a frame")
        .expect("a message");
    assert_eq!(reply, Message::Text("echo: hello".into()));
}
