//! Deployed apps, each at the root of its own origin: a request whose host is
//! `<slug>.<APPS_DOMAIN>` is the app's, whatever its path (the gateway's `/graphql`,
//! GraphiQL and `/files` do not exist there), and reaches it with no prefix stripped. A
//! path naming a file of the app's published static folder is served from it
//! (`files.rs`); everything else is reverse-proxied to the app in its sandbox
//! (`proxy.rs`). On the gateway's own host no app is served: `/apps/<slug>/...` only
//! redirects to the app's address. A project that is not running gets a 503 page; an
//! app that does not answer, a 502.

mod files;
mod proxy;

use std::{net::IpAddr, sync::Arc, time::Duration};

use axum::{
    Router,
    body::Body,
    extract::{Path, Request, State},
    http::{Method, StatusCode, header},
    response::{IntoResponse, Response},
    routing::any,
};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};

/// What the app host and the redirects share.
#[derive(Clone)]
pub struct AppsState(Arc<Parts>);

pub struct Parts {
    engine: deploy::Engine,
    client: Client<HttpConnector, Body>,
    timeout: Duration,
    trusted: Vec<IpAddr>,
    /// `APPS_DOMAIN`, lowercase.
    domain: String,
    /// `APPS_PUBLIC_URL`: an app's address with `{slug}` in it.
    public_url: String,
}

impl std::ops::Deref for AppsState {
    type Target = Parts;

    fn deref(&self) -> &Parts {
        &self.0
    }
}

impl AppsState {
    pub fn new(engine: deploy::Engine, config: &crate::config::Config) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Self(Arc::new(Parts {
            engine,
            client,
            timeout: config.deploy.proxy_timeout(),
            trusted: config.connections.trusted_proxies.clone(),
            domain: config.deploy.apps_domain.to_ascii_lowercase(),
            public_url: config.deploy.apps_url().to_owned(),
        }))
    }

    /// The app of `host`'s slug, if `host` is an app's (`<slug>.<APPS_DOMAIN>[:port]`).
    pub fn slug_of<'h>(&self, host: &'h str) -> Option<&'h str> {
        slug_of_host(host, &self.domain)
    }
}

/// `<slug>` of `<slug>.<domain>[:port]` (one label, case-insensitive).
pub fn slug_of_host<'h>(host: &'h str, domain: &str) -> Option<&'h str> {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    let name = name.strip_suffix('.').unwrap_or(name);
    let cut = name.len().checked_sub(domain.len() + 1)?;
    let (label, rest) = (name.get(..cut)?, name.get(cut..)?);
    let matches = rest.starts_with('.') && rest[1..].eq_ignore_ascii_case(domain);
    (matches && !label.is_empty() && !label.contains('.')).then_some(label)
}

/// The address of the app of `slug` (`APPS_PUBLIC_URL` with the slug in it), ending in
/// `/`.
pub fn public_url(template: &str, slug: &str) -> String {
    let url = template.replace("{slug}", slug);
    if url.ends_with('/') {
        url
    } else {
        format!("{url}/")
    }
}

/// The host a request names: HTTP/2's authority, else the `Host` header.
pub fn host_of(request: &Request) -> Option<&str> {
    request.uri().authority().map(|a| a.as_str()).or_else(|| {
        request
            .headers()
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
    })
}

/// What app hosts answer: every path is the app's.
pub fn app_host(state: AppsState) -> Router {
    Router::new().fallback(handle).with_state(state)
}

/// On the gateway's host, `/apps/<slug>/<rest>` moves to the app's own address.
pub fn redirects(state: AppsState) -> Router {
    Router::new()
        .route("/apps/{slug}", any(redirect))
        .route("/apps/{slug}/", any(redirect))
        .route("/apps/{slug}/{*rest}", any(redirect_rest))
        .with_state(state)
}

async fn redirect(
    State(apps): State<AppsState>,
    Path(slug): Path<String>,
    request: Request,
) -> Response {
    moved(&apps, &slug, "", &request)
}

async fn redirect_rest(
    State(apps): State<AppsState>,
    Path((slug, rest)): Path<(String, String)>,
    request: Request,
) -> Response {
    moved(&apps, &slug, &rest, &request)
}

fn moved(apps: &AppsState, slug: &str, rest: &str, request: &Request) -> Response {
    let valid = !slug.is_empty()
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !valid {
        return page(StatusCode::NOT_FOUND, "Not found", "No such app.");
    }
    let query = request
        .uri()
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    let location = format!("{}{rest}{query}", public_url(&apps.public_url, slug));
    (
        StatusCode::PERMANENT_REDIRECT,
        [(header::LOCATION, location)],
    )
        .into_response()
}

pub(crate) fn page(status: StatusCode, title: &str, detail: &str) -> Response {
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

/// Where the app of `slug` runs now: the project's record, read for this request (every
/// replica follows it; no replica's memory of what it started can send a request to an
/// older instance or a deleted project's app).
async fn route_of(apps: &AppsState, slug: &str) -> Result<Option<deploy::Route>, Response> {
    apps.engine.resolve(slug).await.map_err(|error| {
        tracing::warn!(%error, slug, "cannot look up an app's route");
        page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Platform unavailable",
            "The platform cannot reach its database right now; try again shortly.",
        )
    })
}

async fn handle(State(apps): State<AppsState>, request: Request) -> Response {
    let Some(slug) = host_of(&request)
        .and_then(|host| apps.slug_of(host))
        .map(str::to_ascii_lowercase)
    else {
        return page(StatusCode::NOT_FOUND, "Not found", "No such app.");
    };
    let route = match route_of(&apps, &slug).await {
        Ok(route) => route,
        Err(unavailable) => return unavailable,
    };
    let Some(route) = route else {
        return page(
            StatusCode::SERVICE_UNAVAILABLE,
            "App not running",
            "This project's app is stopped or not deployed yet.",
        );
    };
    if let Some(dir) = route.static_dir.clone()
        && matches!(*request.method(), Method::GET | Method::HEAD)
    {
        let (method, headers) = (request.method().clone(), request.headers().clone());
        let path = request.uri().path().to_owned();
        let found =
            tokio::task::spawn_blocking(move || files::find(&dir, &method, &headers, &path))
                .await
                .unwrap_or(files::Found::Missing);
        match found {
            files::Found::File(response) => return response,
            files::Found::Folder => {
                let query = request
                    .uri()
                    .query()
                    .map(|q| format!("?{q}"))
                    .unwrap_or_default();
                let location = format!("{}/{query}", request.uri().path());
                return (
                    StatusCode::PERMANENT_REDIRECT,
                    [(header::LOCATION, location)],
                )
                    .into_response();
            }
            files::Found::Missing if route.addr.is_none() => {
                return page(StatusCode::NOT_FOUND, "Not found", "No such file.");
            }
            files::Found::Missing => {}
        }
    }
    let Some(addr) = route.addr else {
        return page(StatusCode::NOT_FOUND, "Not found", "No such file.");
    };
    proxy::proxy(&apps, request, addr, &slug).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_app_host_is_one_label_under_the_apps_domain() {
        let domain = "apps.localhost";
        assert_eq!(
            slug_of_host("shop.apps.localhost:8000", domain),
            Some("shop")
        );
        assert_eq!(slug_of_host("Shop.Apps.Localhost", domain), Some("Shop"));
        assert_eq!(slug_of_host("shop.apps.localhost.", domain), Some("shop"));
        assert_eq!(slug_of_host("apps.localhost:8000", domain), None);
        assert_eq!(slug_of_host("a.b.apps.localhost", domain), None);
        assert_eq!(slug_of_host("shopapps.localhost", domain), None);
        assert_eq!(slug_of_host("localhost:8000", domain), None);
        assert_eq!(slug_of_host("127.0.0.1:8000", domain), None);
    }

    #[test]
    fn a_public_url_names_the_slug_and_ends_in_a_slash() {
        assert_eq!(
            public_url("https://{slug}.apps.example.edu", "shop"),
            "https://shop.apps.example.edu/"
        );
        assert_eq!(
            public_url("http://{slug}.apps.localhost:8000/", "shop"),
            "http://shop.apps.localhost:8000/"
        );
    }
}
