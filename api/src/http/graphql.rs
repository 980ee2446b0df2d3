//! `/graphql` over HTTP, following GraphQL-over-HTTP: media type negotiation,
//! `application/graphql-response+json` with 4xx for request errors, no mutations over
//! GET, body and batch limits; and `/graphql/ws` over graphql-transport-ws.

use async_graphql::{
    BatchRequest, Executor, Request, Response as GqlResponse, Value,
    parser::{
        Positioned, parse_query,
        types::{ExecutableDocument, OperationDefinition, OperationType},
    },
};
use axum::{
    body::Body,
    extract::{ConnectInfo, RawQuery, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use std::net::SocketAddr;

use serde_json::json;

use super::HttpState;
use super::{
    admission, rate,
    sender::{Sender, enter},
};
use crate::{
    error::Code,
    graphql::{self, budget::ResultBudget},
    users::viewer::{Checked, Credentials, ViewerCell},
};

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

/// The media type of the answer, from the request's `Accept`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Media {
    /// `application/graphql-response+json`: request errors get 4xx statuses.
    GraphqlResponse,
    /// `application/json`, for legacy clients: well-formed requests get 200.
    Json,
}

impl Media {
    /// GraphQL over HTTP: a request without `Accept` (or with only wildcards) is treated
    /// as a legacy client's and gets `application/json`.
    fn negotiate(headers: &HeaderMap) -> Option<Media> {
        let Some(accept) = headers.get(header::ACCEPT) else {
            return Some(Media::Json);
        };
        let accept = accept.to_str().ok()?;
        let types: Vec<&str> = accept
            .split(',')
            .map(|part| part.split(';').next().unwrap_or_default().trim())
            .collect();
        if types.contains(&GRAPHQL_RESPONSE_JSON) {
            Some(Media::GraphqlResponse)
        } else if types
            .iter()
            .any(|t| *t == JSON || *t == "*/*" || *t == "application/*")
        {
            Some(Media::Json)
        } else {
            None
        }
    }

    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Media::GraphqlResponse => GRAPHQL_RESPONSE_JSON,
            Media::Json => JSON,
        })
    }
}

/// A response that never reached the schema: `{"errors": [...]}` with a status.
pub(super) fn refusal(status: StatusCode, code: Code, message: impl Into<String>) -> Response {
    let body = json!({ "errors": [{ "message": message.into(), "extensions": { "code": code.as_str() } }] });
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, Media::GraphqlResponse.content_type());
    response
}

fn not_acceptable() -> Response {
    refusal(
        StatusCode::NOT_ACCEPTABLE,
        Code::BadRequest,
        format!("this endpoint answers {GRAPHQL_RESPONSE_JSON} or {JSON}"),
    )
}

/// A response whose errors all stopped the request before execution.
fn is_request_error(response: &GqlResponse) -> bool {
    response.data == Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|error| {
            error
                .extensions
                .as_ref()
                .and_then(|e| e.get("code"))
                .and_then(|code| match code {
                    Value::String(code) => Code::parse(code),
                    _ => None,
                })
                .is_some_and(Code::is_request_error)
        })
}

fn json_response(status: StatusCode, media: Media, body: String, headers: HeaderMap) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().extend(headers);
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, media.content_type());
    response
}

fn single_response(media: Media, response: GqlResponse) -> Response {
    let headers = response.http_headers.clone();
    if is_request_error(&response) {
        let status = match media {
            Media::GraphqlResponse => StatusCode::BAD_REQUEST,
            Media::Json => StatusCode::OK,
        };
        // A request error has no `data` entry at all.
        let body = json!({ "errors": response.errors });
        return json_response(status, media, body.to_string(), headers);
    }
    match serde_json::to_string(&response) {
        Ok(body) => json_response(StatusCode::OK, media, body, headers),
        Err(error) => {
            tracing::error!(%error, "could not serialise a response");
            refusal(
                StatusCode::INTERNAL_SERVER_ERROR,
                Code::InternalServerError,
                "internal server error",
            )
        }
    }
}

/// Attaches the caller's credentials, its viewer and fresh loaders to a request.
fn prepared(
    http: &HttpState,
    credentials: &Credentials,
    viewer: &Checked,
    budget: &ResultBudget,
    mut request: Request,
) -> Request {
    let mut data = graphql::request_data(&http.state, credentials.clone(), true);
    data.insert(ViewerCell::filled(viewer));
    data.insert(budget.clone());
    request.data = data;
    request
}

async fn execute(
    http: &HttpState,
    (sender, entered): (Sender, admission::Entered),
    media: Media,
    batch: BatchRequest,
) -> Response {
    let Sender {
        credentials,
        viewer,
        caller,
        address,
    } = sender;
    if let Some(refused) = refused(http, &batch, caller, address) {
        return refused;
    }
    // One turn and one budget of result objects for the whole batch: it costs what
    // one request may.
    let _turn = entered.admit().await;
    let budget = ResultBudget::new(http.state.config.query.max_result_objects);
    let prepare = |request| prepared(http, &credentials, &viewer, &budget, request);
    let batch = match batch {
        BatchRequest::Single(request) => BatchRequest::Single(prepare(request)),
        BatchRequest::Batch(requests) => {
            BatchRequest::Batch(requests.into_iter().map(prepare).collect())
        }
    };
    match batch {
        BatchRequest::Single(request) => single_response(media, http.schema.execute(request).await),
        BatchRequest::Batch(requests) => batch_response(http, media, requests).await,
    }
}

/// A batch of the wrong size, or a mutation past the caller's rate: the refusal.
fn refused(
    http: &HttpState,
    batch: &BatchRequest,
    caller: rate::Caller,
    address: std::net::IpAddr,
) -> Option<Response> {
    let requests: Vec<&Request> = match batch {
        BatchRequest::Single(request) => vec![request],
        BatchRequest::Batch(requests) => requests.iter().collect(),
    };
    let limit = usize::from(http.state.config.max_batch_length);
    if requests.is_empty() || requests.len() > limit {
        let message = format!(
            "a batch holds 1 to {limit} operations, this one {}",
            requests.len()
        );
        return Some(refusal(StatusCode::BAD_REQUEST, Code::BadRequest, message));
    }
    for request in requests {
        if let Some(signs_in) = rate::mutation_kind(request)
            && let Err(limited) = http.rate.mutation(caller, address, signs_in)
        {
            return Some(rate::refused(limited));
        }
    }
    None
}

/// Runs a batch one request after another (a batch holds one request's turn and
/// memory, not many) and answers the list of responses.
async fn batch_response(http: &HttpState, media: Media, requests: Vec<Request>) -> Response {
    let mut responses = Vec::with_capacity(requests.len());
    for request in requests {
        responses.push(http.schema.execute(request).await);
    }
    match serde_json::to_string(&responses) {
        Ok(body) => json_response(StatusCode::OK, media, body, HeaderMap::new()),
        Err(error) => {
            tracing::error!(%error, "could not serialise a batch response");
            refusal(
                StatusCode::INTERNAL_SERVER_ERROR,
                Code::InternalServerError,
                "internal server error",
            )
        }
    }
}

/// `POST /graphql` with a JSON body: one operation or a batch.
pub async fn post(
    State(http): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(media) = Media::negotiate(&headers) else {
        return not_acceptable();
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if essence != JSON && essence != GRAPHQL_RESPONSE_JSON {
        return refusal(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Code::BadRequest,
            format!("send the request as {JSON}"),
        );
    }
    let turn = match enter(&http, &headers, peer.ip()).await {
        Ok(turn) => turn,
        Err(refused) => return refused,
    };
    let limit = http.state.config.max_body_bytes;
    let bytes = match axum::body::to_bytes(body, usize::try_from(limit).unwrap_or(usize::MAX)).await
    {
        Ok(bytes) => bytes,
        Err(error) => {
            let too_large = std::error::Error::source(&error)
                .is_some_and(|e| e.is::<http_body_util::LengthLimitError>());
            return if too_large {
                refusal(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    Code::BadRequest,
                    format!("the request body exceeds {limit} bytes"),
                )
            } else {
                refusal(
                    StatusCode::BAD_REQUEST,
                    Code::BadRequest,
                    "the request body could not be read",
                )
            };
        }
    };
    let batch = match batch_request(&bytes) {
        Ok(batch) => batch,
        Err(error) => {
            return refusal(
                StatusCode::BAD_REQUEST,
                Code::BadRequest,
                format!("the body is not a GraphQL request: {error}"),
            );
        }
    };
    execute(&http, turn, media, batch).await
}

/// The body as one operation (a JSON object) or a batch (an array). An object is read
/// as a `Request` directly: `BatchRequest` is an untagged enum, which serde reads by
/// buffering the whole body into a generic tree first and then trying each variant.
fn batch_request(bytes: &[u8]) -> serde_json::Result<BatchRequest> {
    if bytes.trim_ascii_start().starts_with(b"{") {
        serde_json::from_slice(bytes).map(BatchRequest::Single)
    } else {
        serde_json::from_slice(bytes)
    }
}

/// The kind of operation a request would run, when its document parses.
fn operation_type(request: &Request) -> Option<OperationType> {
    let document = parse_query(&request.query).ok()?;
    selected(&document, request).map(|operation| operation.node.ty)
}

/// The operation a request runs: the document's only one, or the one it names.
pub(super) fn selected<'a>(
    document: &'a ExecutableDocument,
    request: &Request,
) -> Option<&'a Positioned<OperationDefinition>> {
    graphql::operation(document, request.operation_name.as_deref())
}

/// A request from a GET query string, as GraphQL over HTTP names its parameters:
/// `query`, `operationName`, `variables` and `extensions` (JSON). async-graphql's own
/// parser reads `operation_name` instead, so a named operation was never selected.
fn get_request(query_string: &str) -> Result<Request, String> {
    let mut fields = serde_json::Map::new();
    for (key, value) in url::form_urlencoded::parse(query_string.as_bytes()) {
        let (name, value) = match key.as_ref() {
            "query" => ("query", serde_json::Value::from(value.into_owned())),
            "operationName" if !value.is_empty() => {
                ("operationName", serde_json::Value::from(value.into_owned()))
            }
            field @ ("variables" | "extensions") if !value.is_empty() => (
                field,
                serde_json::from_str(&value).map_err(|e| format!("invalid {field}: {e}"))?,
            ),
            _ => continue,
        };
        fields.insert(name.to_owned(), value);
    }
    serde_json::from_value(serde_json::Value::Object(fields)).map_err(|e| e.to_string())
}

/// `GET /graphql?query=…`: queries only; a mutation is answered 405.
pub async fn get(
    State(http): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(media) = Media::negotiate(&headers) else {
        return not_acceptable();
    };
    let request = match get_request(query.as_deref().unwrap_or_default()) {
        Ok(request) => request,
        Err(error) => {
            return refusal(
                StatusCode::BAD_REQUEST,
                Code::BadRequest,
                format!("the query string is not a GraphQL request: {error}"),
            );
        }
    };
    match operation_type(&request) {
        Some(OperationType::Mutation) | Some(OperationType::Subscription) => {
            let mut response = refusal(
                StatusCode::METHOD_NOT_ALLOWED,
                Code::BadRequest,
                "only queries may be sent with GET; send mutations with POST",
            );
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
            response
        }
        _ => {
            let turn = match enter(&http, &headers, peer.ip()).await {
                Ok(turn) => turn,
                Err(refused) => return refused,
            };
            execute(&http, turn, media, BatchRequest::Single(request)).await
        }
    }
}
