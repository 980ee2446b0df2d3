//! The router: GraphiQL, `/graphql` (HTTP and WebSocket), probes; CORS, request ids,
//! one log line per request, timeouts.

pub mod admission;
pub mod apps;
pub mod files;
pub mod graphiql;
pub mod graphql;
pub mod health;
pub mod rate;
mod sender;
pub mod server;
pub mod ws;

use std::time::Duration;

use axum::{
    Router,
    body::Body,
    http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode, header},
    routing::get,
};
use tower::{ServiceBuilder, ServiceExt};
use tower_http::{
    cors::{AllowOrigin, CorsLayer},
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    timeout::TimeoutLayer,
    trace::TraceLayer,
};
use tracing::Span;

use crate::{config::Config, graphql::Gateway, state::AppState};

/// What the HTTP handlers share: one pointer, since axum clones it into every request
/// (and each route layer clones it again).
#[derive(Clone)]
pub struct HttpState(std::sync::Arc<HttpParts>);

/// What [`HttpState`] points at.
pub struct HttpParts {
    pub state: AppState,
    pub schema: Gateway,
    pub rate: std::sync::Arc<rate::RateLimits>,
    pub admission: std::sync::Arc<admission::Admission>,
}

impl HttpState {
    fn new(parts: HttpParts) -> Self {
        Self(std::sync::Arc::new(parts))
    }
}

impl std::ops::Deref for HttpState {
    type Target = HttpParts;

    fn deref(&self) -> &HttpParts {
        &self.0
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn router(state: AppState, schema: Gateway) -> Router {
    let config = state.config.clone();
    let apps = apps::AppsState::new(state.deploy.clone(), &config);
    let graphql_timeout =
        TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, config.request_timeout());
    let mut gateway = Router::new();
    if config.graphiql_on() {
        gateway = gateway
            .route("/", get(graphiql::page))
            .route("/graphiql/{file}", get(graphiql::asset));
    }
    if config.metrics_on_main() {
        gateway = gateway.route("/metrics", get(health::metrics));
    }
    let gateway = gateway
        .route(
            "/graphql",
            // Turns are taken inside (http/admission.rs): waiting counts against the
            // timeout.
            get(graphql::get).post(graphql::post).layer(graphql_timeout),
        )
        .route("/graphql/ws", get(ws::handler))
        .route(
            "/files",
            axum::routing::post(files::upload)
                .layer::<_, std::convert::Infallible>(axum::extract::DefaultBodyLimit::max(
                    upload_body_limit(&config),
                ))
                // An upload trickling in holds a connection and a temporary file: it
                // gets the same time as a GraphQL request.
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::REQUEST_TIMEOUT,
                    config.request_timeout(),
                )),
        )
        .route("/files/{id}", get(files::download))
        .route("/livez", get(health::livez))
        .route("/readyz", get(health::readyz))
        .with_state(HttpState::new(HttpParts {
            rate: rate::RateLimits::new(
                config.connections.rate_limit_mutations_per_minute,
                config.connections.rate_limit_sign_in_per_minute,
            ),
            admission: admission::Admission::new(
                usize::from(config.max_concurrent_requests),
                usize::from(config.max_concurrent_requests_per_caller),
            ),
            state,
            schema,
        }))
        .layer(cors(&config))
        .merge(apps::redirects(apps.clone()));
    observed(host_split(gateway, apps))
}

/// A request for an app's host never reaches the gateway's routes (nor its CORS layer:
/// apps answer their own CORS questions), and the gateway's host serves no app.
fn host_split(gateway: Router, apps: apps::AppsState) -> Router {
    let app_host = apps::app_host(apps.clone());
    let split = tower::service_fn(move |request: Request<Body>| {
        let to_app = apps::host_of(&request).is_some_and(|host| apps.slug_of(host).is_some());
        let target = if to_app {
            app_host.clone()
        } else {
            gateway.clone()
        };
        target.oneshot(request)
    });
    Router::new().fallback_service(split)
}

/// The operator address (METRICS_BIND_ADDR, which only operators and probes reach):
/// `/metrics` and the probes. It stays up while the gateway drains on shutdown, so a
/// probe sees `/readyz` answer 503 there until the process exits.
pub fn metrics_router(state: AppState, schema: Gateway) -> Router {
    Router::new()
        .route("/metrics", get(health::metrics))
        .route("/livez", get(health::livez))
        .route("/readyz", get(health::readyz))
        .with_state(HttpState::new(HttpParts {
            state,
            schema,
            rate: rate::RateLimits::new(0, 0),
            admission: admission::Admission::new(1, 1),
        }))
}

/// Request ids and one log line per request, on every route.
fn observed(router: Router) -> Router {
    router.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(request_span)
                    .on_request(())
                    .on_response(log_response)
                    .on_failure(()),
            )
            .layer(PropagateRequestIdLayer::new(REQUEST_ID)),
    )
}

/// Multipart framing around the largest allowed file; the upload itself stops at
/// `FILES_MAX_BYTES` with a 413 and leaves nothing behind.
fn upload_body_limit(config: &Config) -> usize {
    usize::try_from(config.files_max_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(64 * 1024)
}

/// The span every log line of a request carries; the path only, never the query string
/// (it may hold variables).
fn request_span(request: &Request<Body>) -> Span {
    let id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!("request", id = %id, method = %request.method(), path = %request.uri().path())
}

fn log_response(response: &Response<Body>, latency: Duration, _span: &Span) {
    tracing::info!(
        status = response.status().as_u16(),
        duration_ms = format_args!("{:.2}", latency.as_secs_f64() * 1000.0),
        "served"
    );
}

fn cors(config: &Config) -> CorsLayer {
    let origins = if config.any_origin() {
        AllowOrigin::any()
    } else {
        // `Config::validate` already checked each origin parses as a URL.
        AllowOrigin::list(
            config
                .cors_allowed_origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o).ok()),
        )
    };
    CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION, header::ACCEPT])
        .allow_credentials(config.cors_allow_credentials)
        .max_age(Duration::from_secs(3600))
}
