//! `/apps/<slug>/` as a reverse proxy: forwarded headers, hop-by-hop headers dropped,
//! streamed bodies, and WebSocket upgrades passed through to the app.

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
    the_body_reaches_the_app_whole(&d).await;
    a_websocket_passes_through(&d).await;
    d.app.stop().await;
}

async fn headers_are_forwarded_and_hop_by_hop_ones_dropped(d: &Deployer) {
    let response = d
        .app
        .client
        .get(d.app.url("/apps/echo-app/some/path?q=1"))
        .header("Connection", "keep-alive, X-Hop")
        .header("X-Hop", "must not reach the app")
        .header("X-Custom", "reaches the app")
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 200);
    assert!(
        response.headers().get("keep-alive").is_none(),
        "hop-by-hop headers of the app's response are dropped"
    );
    let echoed: Value = response.json().await.expect("json");
    let headers = &echoed["headers"];
    assert_eq!(echoed["path"], "/some/path?q=1");
    assert_eq!(headers["x-forwarded-prefix"], "/apps/echo-app");
    assert_eq!(headers["x-forwarded-proto"], "http");
    assert_eq!(headers["x-forwarded-for"], "127.0.0.1");
    assert_eq!(headers["x-forwarded-host"], d.app.addr.to_string());
    assert_eq!(headers["x-custom"], "reaches the app");
    assert!(headers.get("x-hop").is_none(), "{headers}");
}

async fn the_body_reaches_the_app_whole(d: &Deployer) {
    let body = vec![b'x'; 3 * 1024 * 1024];
    let posted: Value = d
        .app
        .client
        .post(d.app.url("/apps/echo-app/upload"))
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
    let url = format!("ws://{}/apps/echo-app/socket", d.app.addr);
    let (mut socket, response) = tokio_tungstenite::connect_async(url)
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
