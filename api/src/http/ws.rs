//! `GET /graphql/ws`: subscriptions (and queries) over graphql-transport-ws, bounded.
//! A browser page may open one only from an allowed origin (`CORS_ALLOWED_ORIGINS`, or
//! the gateway's own pages): cookies do not authenticate here, but a cross-site page
//! must not hold a connection in a signed-in user's name either. Messages are at most
//! `MAX_BODY_BYTES`; `connection_init` must come within `WS_INIT_TIMEOUT_SECS` (4408
//! after); at most `WS_MAX_SUBSCRIPTIONS` operations run at once (one more gets an
//! `error` message); the schema's limits apply to every operation as over HTTP; on
//! shutdown the socket gets a 1001 close frame; and when the token `connection_init`
//! carried expires, a 4403 one (a client signs in again on a new connection).

use std::{
    collections::HashSet,
    net::{IpAddr, SocketAddr},
    str::FromStr,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use async_graphql::http::WebSocketProtocols;
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::{
    extract::{
        ConnectInfo, State, WebSocketUpgrade,
        ws::{CloseFrame, Message, WebSocket},
    },
    http::{HeaderMap, StatusCode, header},
    response::Response,
};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_util::sync::PollSender;

use super::{
    HttpState,
    graphql::refusal,
    rate::{self, Caller, Limited, RateLimits},
};
use crate::{
    config::Config,
    error::Code,
    graphql,
    graphql::executor::Gateway,
    state::AppState,
    users::viewer::{Checked, Credentials},
};

const TRANSPORT_WS: &str = "graphql-transport-ws";
/// The WebSocket close code of a server going down (RFC 6455, 7.4.1).
const GOING_AWAY: u16 = 1001;
/// graphql-transport-ws: no `connection_init` in time.
const INIT_TIMEOUT: u16 = 4408;
/// graphql-transport-ws: `connection_init` refused (its credentials).
const FORBIDDEN: u16 = 4403;

/// What one connection may do.
#[derive(Clone, Copy)]
struct WsLimits {
    init_timeout: Duration,
    max_operations: usize,
}

pub async fn handler(
    State(http): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    // `GraphQLProtocol` takes the first protocol it knows; it must be the current one.
    let offered = headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let first_known = offered
        .split(',')
        .map(str::trim)
        .find(|p| WebSocketProtocols::from_str(p).is_ok());
    if first_known != Some(TRANSPORT_WS) {
        return refusal(
            StatusCode::BAD_REQUEST,
            Code::BadRequest,
            "only the graphql-transport-ws subprotocol is supported",
        );
    }
    let config = &http.state.config;
    if !origin_allowed(config, &headers) {
        return refusal(
            StatusCode::FORBIDDEN,
            Code::Forbidden,
            "this origin may not open WebSockets here (CORS_ALLOWED_ORIGINS)",
        );
    }
    let limits = WsLimits {
        init_timeout: Duration::from_secs(config.connections.ws_init_timeout_secs),
        max_operations: usize::from(config.connections.ws_max_subscriptions),
    };
    let max_message = usize::try_from(config.max_body_bytes).unwrap_or(usize::MAX);
    let trusted = &config.connections.trusted_proxies;
    let tracker = Arc::new(Tracker {
        rate: Some((
            http.rate.clone(),
            rate::client_address(peer.ip(), &headers, trusted),
        )),
        ..Tracker::default()
    });
    let (schema, state) = (http.schema.clone(), http.state.clone());
    upgrade
        .protocols([TRANSPORT_WS])
        .max_message_size(max_message)
        .max_frame_size(max_message)
        .on_upgrade(move |socket| session(socket, schema, state, protocol, limits, tracker))
}

/// No `Origin` (not a browser), an allowed one, or the gateway's own (its GraphiQL).
fn origin_allowed(config: &Config, headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        return true;
    };
    if config.any_origin() || config.cors_allowed_origins.iter().any(|o| o == origin) {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin
        .split_once("://")
        .map(|(_, rest)| rest.trim_end_matches('/'));
    host.is_some() && origin_host == host
}

async fn session(
    socket: WebSocket,
    schema: Gateway,
    state: AppState,
    protocol: GraphQLProtocol,
    limits: WsLimits,
    tracker: Arc<Tracker>,
) {
    let (mut sink, stream) = socket.split();
    let shutdown = state.shutdown.clone();
    let (out, outgoing) = tokio::sync::mpsc::channel::<Message>(64);

    // The client's messages, counted; they end when the gateway shuts down, and the
    // protocol then stops every operation.
    let input = {
        let (tracker, out) = (tracker.clone(), out.clone());
        stream
            .take_until(shutdown.clone().cancelled_owned())
            .filter_map(move |message| {
                let (tracker, out) = (tracker.clone(), out.clone());
                async move {
                    if let Ok(Message::Text(text)) = &message
                        && let Some(refused) = tracker.inbound(text, limits.max_operations)
                    {
                        let _ = out.send(Message::Text(refused.into())).await;
                        return None;
                    }
                    Some(message)
                }
            })
    };
    let init_tracker = tracker.clone();
    let run = GraphQLWebSocket::new_with_pair(PollSender::new(out), input, schema, protocol)
        .on_connection_init(move |payload| connection_init(state, init_tracker, payload))
        .serve();
    // Ends only if `connection_init` has not come in time.
    let late_init = async {
        tokio::time::sleep(limits.init_timeout).await;
        if tracker.initialised() {
            std::future::pending::<()>().await;
        }
    };
    let expired = token_expired(tracker.expiry.subscribe());
    let ended = tokio::select! {
        _ = async { tokio::join!(run, forward(outgoing, &mut sink, &tracker)) } => Ended::Closed,
        () = late_init => Ended::LateInit,
        () = expired => Ended::Expired,
    };
    if let Some(frame) = closing(ended, shutdown.is_cancelled()) {
        let _ = sink.send(Message::Close(Some(frame))).await;
    }
}

/// Resolves when the token `connection_init` carried expires (never without one).
async fn token_expired(mut expiry: tokio::sync::watch::Receiver<Option<tokio::time::Instant>>) {
    let at = expiry
        .wait_for(Option::is_some)
        .await
        .ok()
        .and_then(|at| *at);
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending::<()>().await,
    }
}

/// Why a session ended.
#[derive(Clone, Copy)]
enum Ended {
    /// The client closed, or the protocol ended it (shutdown included).
    Closed,
    LateInit,
    Expired,
}

/// The close frame a session ends with: 4408 when `connection_init` came too late,
/// 4403 when its token expired, 1001 when the gateway shuts down, none when the client
/// closed.
fn closing(ended: Ended, shutting_down: bool) -> Option<CloseFrame> {
    let (code, reason) = match ended {
        Ended::LateInit => (INIT_TIMEOUT, "Connection initialisation timeout"),
        Ended::Expired => (
            FORBIDDEN,
            "the access token expired: connect again with a fresh one",
        ),
        Ended::Closed if shutting_down => (GOING_AWAY, "the server is shutting down"),
        Ended::Closed => return None,
    };
    Some(CloseFrame {
        code,
        reason: reason.into(),
    })
}

/// `connection_init`: credentials that are present but invalid refuse the connection
/// (4403); valid ones are resolved afresh for each operation of the connection.
async fn connection_init(
    state: AppState,
    tracker: Arc<Tracker>,
    payload: serde_json::Value,
) -> async_graphql::Result<async_graphql::Data> {
    let checked = match Credentials::from_init_payload(&payload) {
        Ok(credentials) => Checked::resolve(&state, &credentials).await.map(|viewer| {
            *tracker.user() = viewer.user_id();
            tracker
                .expiry
                .send_replace(crate::authz::stream::expiry(&state, &credentials));
            credentials
        }),
        Err(reason) => Err(reason),
    };
    match checked {
        Ok(credentials) => Ok(graphql::request_data(&state, credentials, false)),
        Err(reason) => {
            tracker.refused.store(true, Ordering::SeqCst);
            Err(async_graphql::Error::new(reason))
        }
    }
}

/// Sends what the protocol writes, watching which operations end.
async fn forward(
    mut outgoing: tokio::sync::mpsc::Receiver<Message>,
    sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
    tracker: &Tracker,
) {
    while let Some(mut message) = outgoing.recv().await {
        match &mut message {
            Message::Text(text) => tracker.outbound(text),
            // async-graphql closes a refused init with 1002; graphql-transport-ws says
            // 4403.
            Message::Close(Some(frame)) if tracker.refused.load(Ordering::SeqCst) => {
                frame.code = FORBIDDEN;
            }
            _ => {}
        }
        if sink.send(message).await.is_err() {
            break;
        }
    }
}

/// What a connection has started: whether it said `connection_init`, and which
/// operations run; and the rate limits its mutations count against.
#[derive(Default)]
struct Tracker {
    initialised: AtomicBool,
    /// The `connection_init` was refused.
    refused: AtomicBool,
    running: Mutex<HashSet<String>>,
    /// The gateway's rate limits and the client's address (none in unit tests).
    rate: Option<(Arc<RateLimits>, IpAddr)>,
    /// Who signed in with `connection_init`, if anyone.
    user: Mutex<Option<i32>>,
    /// When the token `connection_init` carried expires.
    expiry: tokio::sync::watch::Sender<Option<tokio::time::Instant>>,
}

#[derive(serde::Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    id: Option<String>,
    payload: Option<serde_json::Value>,
}

/// A graphql-transport-ws `error` message for operation `id`.
fn operation_error(id: &str, code: Code, message: String) -> String {
    json!({ "id": id, "type": "error", "payload": [
        { "message": message, "extensions": { "code": code.as_str() } }
    ] })
    .to_string()
}

impl Tracker {
    fn initialised(&self) -> bool {
        self.initialised.load(Ordering::SeqCst)
    }

    fn running(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn user(&self) -> std::sync::MutexGuard<'_, Option<i32>> {
        self.user.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A mutation past its caller's rate limit, as over HTTP.
    fn rate_limited(&self, payload: Option<serde_json::Value>) -> Option<Limited> {
        let (limits, address) = self.rate.as_ref()?;
        let request: async_graphql::Request = serde_json::from_value(payload?).ok()?;
        let signs_in = rate::mutation_kind(&request)?;
        let caller = self.user().map_or(Caller::Address(*address), Caller::User);
        limits.mutation(caller, *address, signs_in).err()
    }

    /// A client message; `Some(error message)` when it starts one operation too many
    /// (it is then not passed on).
    fn inbound(&self, text: &str, max: usize) -> Option<String> {
        let envelope: Envelope = serde_json::from_str(text).ok()?;
        match (envelope.kind.as_str(), envelope.id) {
            ("connection_init", _) => self.initialised.store(true, Ordering::SeqCst),
            ("subscribe", Some(id)) => {
                if let Some(limited) = self.rate_limited(envelope.payload) {
                    return Some(operation_error(&id, Code::RateLimited, limited.message()));
                }
                let mut running = self.running();
                if !running.contains(&id) && running.len() >= max {
                    let message = format!(
                        "at most {max} operations may run at once on one connection \
                         (WS_MAX_SUBSCRIPTIONS); complete one first"
                    );
                    return Some(operation_error(&id, Code::Busy, message));
                }
                running.insert(id);
            }
            ("complete", Some(id)) => {
                self.running().remove(&id);
            }
            _ => {}
        }
        None
    }

    /// A server message: an operation that completed or failed no longer runs.
    fn outbound(&self, text: &str) {
        // Without the payload (an answer's data is not parsed).
        #[derive(serde::Deserialize)]
        struct Outbound {
            #[serde(rename = "type")]
            kind: String,
            id: Option<String>,
        }
        if let Ok(Outbound { kind, id: Some(id) }) = serde_json::from_str::<Outbound>(text)
            && (kind == "complete" || kind == "error")
        {
            self.running().remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_counted_until_either_side_completes_them() {
        let tracker = Tracker::default();
        let subscribe = |id: &str| format!(r#"{{"id":"{id}","type":"subscribe","payload":{{}}}}"#);
        assert!(!tracker.initialised());
        assert_eq!(tracker.inbound(r#"{"type":"connection_init"}"#, 2), None);
        assert!(tracker.initialised());
        assert_eq!(tracker.inbound(&subscribe("a"), 2), None);
        assert_eq!(tracker.inbound(&subscribe("b"), 2), None);
        let refused = tracker
            .inbound(&subscribe("c"), 2)
            .expect("a third is refused");
        assert!(
            refused.contains(r#""id":"c""#) && refused.contains("BUSY"),
            "{refused}"
        );
        tracker.outbound(r#"{"id":"a","type":"complete"}"#);
        assert_eq!(tracker.inbound(&subscribe("c"), 2), None);
        assert_eq!(tracker.inbound(r#"{"id":"b","type":"complete"}"#, 2), None);
        assert_eq!(tracker.inbound(&subscribe("d"), 2), None);
        assert!(tracker.inbound(&subscribe("e"), 2).is_some());
    }
}
