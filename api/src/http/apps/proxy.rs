//! The reverse proxy to an app in its sandbox, with hyper's client: bodies streamed both
//! ways, hop-by-hop headers dropped, WebSocket upgrades passed through. What the app
//! learns of the client is what the gateway vouches for: the client's `Authorization` is
//! never forwarded, every forwarding header is written anew (never appended to what the
//! client sent), and an app's `Set-Cookie` loses its `Domain`, so a cookie stays on the
//! app's own host.

use std::net::{IpAddr, SocketAddr};

use axum::{
    body::Body,
    extract::{ConnectInfo, Request},
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header},
    response::Response,
};
use hyper_util::rt::TokioIo;

use super::{AppsState, page};

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

/// What a client may claim about itself or its path and the gateway rewrites: dropped
/// from the request, then the gateway's own values set.
const FORWARDING: [&str; 11] = [
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-forwarded-port",
    "x-forwarded-prefix",
    "x-forwarded-server",
    "x-real-ip",
    "x-client-ip",
    "true-client-ip",
    "cf-connecting-ip",
];

/// Removes hop-by-hop headers, and those the `Connection` header names.
pub(super) fn strip_hop_by_hop(headers: &mut HeaderMap) {
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
pub(super) fn upgrade_of(headers: &HeaderMap) -> Option<HeaderValue> {
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

/// Who the client is, as far as the gateway can tell (through its trusted proxies).
fn client_of(parts: &axum::http::request::Parts, trusted: &[IpAddr]) -> Option<IpAddr> {
    let ConnectInfo(peer) = parts.extensions.get::<ConnectInfo<SocketAddr>>()?;
    Some(crate::http::rate::client_address(
        peer.ip(),
        &parts.headers,
        trusted,
    ))
}

/// The scheme the client used: what a trusted proxy in front says, else plain HTTP.
fn scheme_of(parts: &axum::http::request::Parts, trusted: &[IpAddr]) -> &'static str {
    let peer_trusted = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|ConnectInfo(peer)| trusted.contains(&peer.ip()));
    let https = parts
        .headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
    if peer_trusted && https {
        "https"
    } else {
        "http"
    }
}

/// The request's headers as the app sees them.
fn forwarded_headers(
    parts: &mut axum::http::request::Parts,
    addr: SocketAddr,
    trusted: &[IpAddr],
    upgrade: Option<&HeaderValue>,
) {
    let client = client_of(parts, trusted);
    let scheme = scheme_of(parts, trusted);
    let original_host = parts.headers.get(header::HOST).cloned().or_else(|| {
        parts
            .uri
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
    });
    strip_hop_by_hop(&mut parts.headers);
    let headers = &mut parts.headers;
    headers.remove(header::AUTHORIZATION);
    for name in FORWARDING {
        headers.remove(name);
    }
    if let Some(ip) = client {
        headers.insert("x-forwarded-for", ip_value(ip));
        headers.insert("x-real-ip", ip_value(ip));
    }
    headers.insert("x-forwarded-proto", HeaderValue::from_static(scheme));
    let host = original_host
        .as_ref()
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.contains(['"', ';', ',']))
        .map(str::to_owned);
    if let Some(host) = &host
        && let Ok(value) = HeaderValue::from_str(host)
    {
        headers.insert("x-forwarded-host", value);
    }
    let forwarded = [
        client.map(|ip| match ip {
            IpAddr::V4(v4) => format!("for={v4}"),
            IpAddr::V6(v6) => format!("for=\"[{v6}]\""),
        }),
        host.map(|h| format!("host=\"{h}\"")),
        Some(format!("proto={scheme}")),
    ];
    let forwarded: Vec<String> = forwarded.into_iter().flatten().collect();
    if let Ok(value) = HeaderValue::from_str(&forwarded.join(";")) {
        headers.insert("forwarded", value);
    }
    if let Ok(host) = HeaderValue::from_str(&addr.to_string()) {
        headers.insert(header::HOST, host);
    }
    if let Some(protocol) = upgrade {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, protocol.clone());
    }
}

fn ip_value(ip: IpAddr) -> HeaderValue {
    // An address's text is always a valid header value.
    HeaderValue::from_str(&ip.to_string()).unwrap_or(HeaderValue::from_static("unknown"))
}

/// `Set-Cookie` without its `Domain` attribute: a cookie an app sets is its host's only,
/// never its siblings' or the gateway's.
pub(super) fn host_only_cookies(headers: &mut HeaderMap) {
    let cookies: Vec<HeaderValue> = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|value| {
            let text = value.to_str().ok()?;
            let kept: Vec<&str> = text
                .split(';')
                .filter(|attribute| {
                    let name = attribute.split('=').next().unwrap_or_default().trim();
                    !name.eq_ignore_ascii_case("domain")
                })
                .collect();
            HeaderValue::from_str(&kept.join(";")).ok()
        })
        .collect();
    headers.remove(header::SET_COOKIE);
    for cookie in cookies {
        headers.append(header::SET_COOKIE, cookie);
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

pub(super) async fn proxy(
    apps: &AppsState,
    request: Request,
    addr: SocketAddr,
    slug: &str,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let client_upgrade = parts.extensions.remove::<hyper::upgrade::OnUpgrade>();
    let upgrade = upgrade_of(&parts.headers);
    let local = parts
        .uri
        .path_and_query()
        .map_or("/".to_owned(), |p| p.as_str().to_owned());
    forwarded_headers(&mut parts, addr, &apps.trusted, upgrade.as_ref());
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
    host_only_cookies(&mut parts.headers);
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

    #[test]
    fn a_cookie_keeps_everything_but_its_domain() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::SET_COOKIE,
            HeaderValue::from_static("sid=1; Domain=apps.localhost; Path=/; HttpOnly"),
        );
        headers.append(
            header::SET_COOKIE,
            HeaderValue::from_static("b=2; domain=.x"),
        );
        host_only_cookies(&mut headers);
        let cookies: Vec<&str> = headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        assert_eq!(cookies, vec!["sid=1; Path=/; HttpOnly", "b=2"]);
    }

    #[test]
    fn forwarding_headers_are_the_gateways_never_the_clients() {
        let request = Request::builder()
            .uri("/x")
            .header(header::HOST, "shop.apps.localhost:8000")
            .header(header::AUTHORIZATION, "Bearer admin-token")
            .header("x-forwarded-for", "6.6.6.6")
            .header("forwarded", "for=6.6.6.6")
            .header("x-real-ip", "6.6.6.6")
            .header("x-forwarded-proto", "https")
            .extension(ConnectInfo(SocketAddr::from(([127, 0, 0, 9], 5555))))
            .body(Body::empty())
            .expect("a request");
        let (mut parts, _) = request.into_parts();
        let app = SocketAddr::from(([127, 0, 0, 1], 4000));
        forwarded_headers(&mut parts, app, &[], None);
        let h = &parts.headers;
        assert!(h.get(header::AUTHORIZATION).is_none());
        assert_eq!(h["x-forwarded-for"], "127.0.0.9");
        assert_eq!(h["x-real-ip"], "127.0.0.9");
        assert_eq!(h["x-forwarded-proto"], "http");
        assert_eq!(h["x-forwarded-host"], "shop.apps.localhost:8000");
        assert_eq!(
            h["forwarded"],
            "for=127.0.0.9;host=\"shop.apps.localhost:8000\";proto=http"
        );
        assert_eq!(h[header::HOST], "127.0.0.1:4000");
        assert_eq!(h.get_all("x-forwarded-for").iter().count(), 1);
    }
}
