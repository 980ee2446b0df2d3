//! `/apps/<slug>/…`: the deployed apps, reached through the gateway itself (no web
//! server configuration is edited). A path naming a file of the app's published static
//! folder is served from it; everything else is reverse-proxied to the app on loopback
//! with hyper's client: bodies streamed both ways, hop-by-hop headers dropped,
//! `X-Forwarded-For/-Proto/-Host/-Prefix` set, WebSocket upgrades passed through. A
//! project that is not running gets a 503 page; an app that does not answer, a 502.

use std::{net::SocketAddr, time::Duration};

use axum::{
    Router,
    body::Body,
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header},
    response::{IntoResponse, Response},
    routing::any,
};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::{TokioExecutor, TokioIo},
};
use tower::ServiceExt;
use tower_http::services::ServeDir;

#[derive(Clone)]
pub struct AppsState {
    engine: deploy::Engine,
    client: Client<HttpConnector, Body>,
    timeout: Duration,
}

pub fn router(engine: deploy::Engine, timeout: Duration) -> Router {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(Duration::from_secs(5)));
    let client = Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .build(connector);
    Router::new()
        .route("/apps/{*path}", any(handle))
        .with_state(AppsState {
            engine,
            client,
            timeout,
        })
}

/// Headers that describe one connection, never forwarded (RFC 9110 §7.6.1).
const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

fn page(status: StatusCode, title: &str, detail: &str) -> Response {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1><p>{detail}</p></body></html>"
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

/// Where the app of `slug` runs: on this replica, or on another of this host.
async fn route_of(apps: &AppsState, slug: &str) -> Option<deploy::Route> {
    match apps.engine.route(slug) {
        Some(route) => Some(route),
        None => apps
            .engine
            .remote_route(slug)
            .await
            .unwrap_or_else(|error| {
                tracing::warn!(%error, slug, "cannot look up an app's route");
                None
            }),
    }
}

async fn handle(State(apps): State<AppsState>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let Some(after) = path.strip_prefix("/apps/") else {
        return page(StatusCode::NOT_FOUND, "Not found", "No such app.");
    };
    let (slug, rest) = match after.split_once('/') {
        Some((slug, rest)) => (slug.to_owned(), rest.to_owned()),
        None => {
            // `/apps/<slug>` → `/apps/<slug>/`, so the app's relative links resolve.
            let query = request
                .uri()
                .query()
                .map(|q| format!("?{q}"))
                .unwrap_or_default();
            let location = format!("/apps/{after}/{query}");
            return (
                StatusCode::PERMANENT_REDIRECT,
                [(header::LOCATION, location)],
            )
                .into_response();
        }
    };
    let Some(route) = route_of(&apps, &slug).await else {
        return page(
            StatusCode::SERVICE_UNAVAILABLE,
            "App not running",
            "This project's app is stopped or not deployed yet.",
        );
    };
    let query = request.uri().query().map(|q| format!("?{q}"));
    let local = format!("/{rest}{}", query.clone().unwrap_or_default());
    let request = if let Some(dir) = &route.static_dir
        && matches!(*request.method(), Method::GET | Method::HEAD)
    {
        let method = request.method().clone();
        let headers = request.headers().clone();
        match serve_static(dir, method, &headers, &local).await {
            Ok(response) if response.status() != StatusCode::NOT_FOUND => return response,
            Ok(response) if route.addr.is_none() => return response,
            _ => request,
        }
    } else {
        request
    };
    let Some(addr) = route.addr else {
        return page(StatusCode::NOT_FOUND, "Not found", "No such file.");
    };
    proxy(&apps, request, addr, &slug, &local).await
}

/// The static file for `local`, if the published folder has it.
async fn serve_static(
    dir: &std::path::Path,
    method: Method,
    headers: &HeaderMap,
    local: &str,
) -> Result<Response, StatusCode> {
    let uri: Uri = local.parse().map_err(|_| StatusCode::BAD_REQUEST)?;
    let mut probe = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::empty())
        .map_err(|_| StatusCode::BAD_REQUEST)?;
    for name in [
        header::IF_MODIFIED_SINCE,
        header::IF_NONE_MATCH,
        header::RANGE,
        header::ACCEPT_ENCODING,
    ] {
        if let Some(value) = headers.get(&name) {
            probe.headers_mut().insert(name, value.clone());
        }
    }
    let response = ServeDir::new(dir)
        .append_index_html_on_directories(true)
        .oneshot(probe)
        .await
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    Ok(response.map(Body::new))
}

/// Removes hop-by-hop headers, and those the `Connection` header names.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in HOP_BY_HOP.iter().chain(named.iter()) {
        headers.remove(name);
    }
}

/// The protocol a client asks to switch to (`Connection: upgrade` + `Upgrade`).
fn upgrade_of(headers: &HeaderMap) -> Option<HeaderValue> {
    let asks = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
        });
    asks.then(|| headers.get(header::UPGRADE).cloned())
        .flatten()
}

/// The request's headers as the app sees them: hop-by-hop headers dropped, the client
/// and the public prefix in `X-Forwarded-*`, the app's own address as `Host`, and the
/// upgrade the client asked for (if any) asked again.
fn forwarded_headers(
    parts: &mut axum::http::request::Parts,
    addr: SocketAddr,
    slug: &str,
    upgrade: Option<&HeaderValue>,
) {
    let client_ip = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip().to_string());
    let original_host = parts.headers.get(header::HOST).cloned();
    strip_hop_by_hop(&mut parts.headers);
    let headers = &mut parts.headers;
    if let Some(ip) = client_ip {
        let forwarded = match headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
            Some(earlier) => format!("{earlier}, {ip}"),
            None => ip,
        };
        if let Ok(value) = HeaderValue::from_str(&forwarded) {
            headers.insert("x-forwarded-for", value);
        }
    }
    headers.insert("x-forwarded-proto", HeaderValue::from_static("http"));
    if let Some(host) = original_host {
        headers.insert("x-forwarded-host", host);
    }
    if let Ok(prefix) = HeaderValue::from_str(&format!("/apps/{slug}")) {
        headers.insert("x-forwarded-prefix", prefix);
    }
    if let Ok(host) = HeaderValue::from_str(&addr.to_string()) {
        headers.insert(header::HOST, host);
    }
    if let Some(protocol) = upgrade {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, protocol.clone());
    }
}

/// Joins the client's and the app's upgraded connections (a WebSocket through the
/// proxy) once both sides have switched.
fn splice(
    client_upgrade: hyper::upgrade::OnUpgrade,
    response: &mut hyper::Response<hyper::body::Incoming>,
    slug: &str,
) {
    let app_upgrade = hyper::upgrade::on(response);
    let slug = slug.to_owned();
    tokio::spawn(async move {
        match tokio::try_join!(client_upgrade, app_upgrade) {
            Ok((client, app)) => {
                let mut client = TokioIo::new(client);
                let mut app = TokioIo::new(app);
                let _ = tokio::io::copy_bidirectional(&mut client, &mut app).await;
            }
            Err(error) => tracing::info!(%error, slug, "websocket upgrade failed"),
        }
    });
}

async fn proxy(
    apps: &AppsState,
    request: Request,
    addr: SocketAddr,
    slug: &str,
    local: &str,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let client_upgrade = parts.extensions.remove::<hyper::upgrade::OnUpgrade>();
    let upgrade = upgrade_of(&parts.headers);
    forwarded_headers(&mut parts, addr, slug, upgrade.as_ref());
    parts.uri = match format!("http://{addr}{local}").parse() {
        Ok(uri) => uri,
        Err(_) => return page(StatusCode::BAD_REQUEST, "Bad request", "Unusable path."),
    };
    let upstream = Request::from_parts(parts, body);
    let mut response = match tokio::time::timeout(apps.timeout, apps.client.request(upstream)).await
    {
        Ok(Ok(response)) => response,
        Ok(Err(error)) => {
            tracing::info!(%error, slug, "app did not answer");
            return page(
                StatusCode::BAD_GATEWAY,
                "App not answering",
                "The app is deployed but does not answer right now.",
            );
        }
        Err(_) => {
            return page(
                StatusCode::GATEWAY_TIMEOUT,
                "App too slow",
                "The app did not answer in time.",
            );
        }
    };
    if response.status() == StatusCode::SWITCHING_PROTOCOLS
        && let (Some(client_upgrade), Some(_)) = (client_upgrade, upgrade)
    {
        splice(client_upgrade, &mut response, slug);
        let (parts, _) = response.into_parts();
        return Response::from_parts(parts, Body::empty());
    }
    let (mut parts, body) = response.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    Response::from_parts(parts, Body::new(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_and_those_connection_names_are_dropped() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, x-secret-hop"),
        );
        headers.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        headers.insert("x-secret-hop", HeaderValue::from_static("1"));
        headers.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        headers.insert(header::ACCEPT, HeaderValue::from_static("text/html"));
        strip_hop_by_hop(&mut headers);
        assert_eq!(headers.len(), 1);
        assert!(headers.contains_key(header::ACCEPT));
    }

    #[test]
    fn an_upgrade_needs_both_headers() {
        let mut headers = HeaderMap::new();
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        assert!(upgrade_of(&headers).is_none());
        headers.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, Upgrade"),
        );
        assert_eq!(
            upgrade_of(&headers).as_ref().map(|v| v.as_bytes()),
            Some(&b"websocket"[..])
        );
    }
}
