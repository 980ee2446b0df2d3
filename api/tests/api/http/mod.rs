//! GraphQL over HTTP and WebSocket through the real router: media types and status
//! codes, limits, GET rules, batches, CORS, GraphiQL.

use futures_util::{SinkExt, StreamExt};
use reqwest::header;
use std::time::Duration;

use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

use crate::helpers::{Backend, TestApp, first_code};

mod browser;
mod websocket;

/// The introspection query GraphiQL 3.9 sends (graphql-js 16's, with every option on).
const INTROSPECTION: &str = include_str!("../introspection.graphql");

#[tokio::test]
async fn graphiql_introspection_passes_the_default_limits() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let data = app.data(INTROSPECTION, json!({})).await;
    assert_eq!(data["__schema"]["queryType"]["name"], "Query");
}

#[tokio::test]
async fn an_over_deep_query_is_refused_with_its_code_before_any_resolver_runs() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut nested = String::from("name");
    for _ in 0..14 {
        nested = format!("ofType {{ {nested} }}");
    }
    // 19 levels, past the default 16; `tags` would run SQL if anything executed.
    let query = format!(
        "{{ tags {{ name }} __schema {{ types {{ fields {{ type {{ {nested} }} }} }} }} }}"
    );
    let before = app.statements();
    let (status, body) = app.post(&query, json!({})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(first_code(&body), "QUERY_TOO_DEEP");
    assert!(
        body.get("data").is_none(),
        "a request error has no data: {body}"
    );
    assert_eq!(app.statements(), before, "no resolver ran, so no SQL did");
}

#[tokio::test]
async fn an_over_complex_query_is_refused_with_its_code() {
    let app = TestApp::spawn_with(Backend::Sqlite, &["--max-query-complexity", "3"]).await;
    let (status, body) = app
        .post("{ roles { id name } tags { id name } }", json!({}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(first_code(&body), "QUERY_TOO_COMPLEX");
}

#[tokio::test]
async fn an_unknown_field_is_a_validation_failure_with_400() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (status, body) = app.post("{ nothingHere }", json!({})).await;
    assert_eq!(status, 400);
    assert_eq!(first_code(&body), "GRAPHQL_VALIDATION_FAILED");
}

#[tokio::test]
async fn a_document_that_does_not_parse_is_a_parse_failure_with_400() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (status, body) = app.post("{ roles { name }", json!({})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(first_code(&body), "GRAPHQL_PARSE_FAILED");
    assert!(body.get("data").is_none(), "{body}");
}

#[tokio::test]
async fn an_unknown_or_missing_operation_name_is_a_bad_request() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let two = "query A { __typename } query B { __typename }";
    let (status, body) = app.post(two, json!({})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(first_code(&body), "BAD_REQUEST");
    let response = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "query": two, "operationName": "C" }))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("json");
    assert_eq!(first_code(&body), "BAD_REQUEST", "{body}");
}

#[tokio::test]
async fn get_reads_the_standard_operation_name_parameter() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let two = "query A { a: __typename } query B { roles { name } }";
    let get = |operation: &'static str| {
        app.client
            .get(app.url("/graphql"))
            .query(&[("query", two), ("operationName", operation)])
            .send()
    };
    let body: Value = get("A").await.expect("sent").json().await.expect("json");
    assert_eq!(body["data"], json!({ "a": "Query" }), "{body}");
    let body: Value = get("B").await.expect("sent").json().await.expect("json");
    assert!(body["data"]["roles"].is_array(), "{body}");
    // A mutation picked by name is refused over GET, whatever else the document holds.
    let mixed = "query A { __typename } mutation M { signOut }";
    let response = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", mixed), ("operationName", "M")])
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 405);
}

#[tokio::test]
async fn legacy_json_clients_get_200_for_request_errors() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    // `application/json`, a wildcard, or no `Accept` at all: a legacy client.
    let bare = reqwest::Client::new();
    for accept in [Some("application/json"), Some("*/*"), None] {
        let mut request = bare
            .post(app.url("/graphql"))
            .json(&json!({ "query": "{ nothingHere }" }));
        if let Some(accept) = accept {
            request = request.header(header::ACCEPT, accept);
        }
        let response = request.send().await.expect("sent");
        assert_eq!(response.status(), 200, "Accept: {accept:?}");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/json",
            "Accept: {accept:?}"
        );
        let body: Value = response.json().await.expect("json");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED",
            "{body}"
        );
    }
}

#[tokio::test]
async fn responses_use_the_graphql_response_media_type() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let response = app
        .client
        .post(app.url("/graphql"))
        .header(
            header::ACCEPT,
            "application/graphql-response+json, application/json;q=0.9",
        )
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/graphql-response+json"
    );
    assert!(response.headers().contains_key("x-request-id"));
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["data"]["__typename"], "Query");
}

#[tokio::test]
async fn an_unacceptable_accept_header_is_406() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let response = app
        .client
        .post(app.url("/graphql"))
        .header(header::ACCEPT, "text/html")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 406);
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415_and_bad_json_is_400() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let plain = app
        .client
        .post(app.url("/graphql"))
        .header(header::CONTENT_TYPE, "text/plain")
        .body("{ __typename }")
        .send()
        .await
        .expect("sent");
    assert_eq!(plain.status(), 415);
    let broken = app
        .client
        .post(app.url("/graphql"))
        .header(header::CONTENT_TYPE, "application/json")
        .body("{\"query\": ")
        .send()
        .await
        .expect("sent");
    assert_eq!(broken.status(), 400);
    let body: Value = broken.json().await.expect("json");
    assert_eq!(first_code(&body), "BAD_REQUEST");
}

#[tokio::test]
async fn an_oversized_body_is_answered_413_whether_its_length_is_declared_or_not() {
    let app = TestApp::spawn_with(Backend::Sqlite, &["--max-body-bytes", "1024"]).await;
    let padding = " ".repeat(2048);
    let body = json!({ "query": format!("{{ __typename {padding} }}") }).to_string();
    let declared = app
        .client
        .post(app.url("/graphql"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.clone())
        .send()
        .await
        .expect("sent");
    assert_eq!(declared.status(), 413);

    let chunks: Vec<Result<String, std::io::Error>> =
        vec![Ok(body[..1000].to_owned()), Ok(body[1000..].to_owned())];
    let streamed = app
        .client
        .post(app.url("/graphql"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .expect("sent");
    assert_eq!(streamed.status(), 413);

    let small = app.data("{ __typename }", json!({})).await;
    assert_eq!(small["__typename"], "Query");
}

#[tokio::test]
async fn a_query_over_get_is_answered_and_a_mutation_over_get_is_405() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let query = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "{ stageStatuses { name } }")])
        .send()
        .await
        .expect("sent");
    assert_eq!(query.status(), 200);
    let body: Value = query.json().await.expect("json");
    assert_eq!(body["data"]["stageStatuses"][0]["name"], "NOT_STARTED");

    let mutation = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "mutation { anything }")])
        .send()
        .await
        .expect("sent");
    assert_eq!(mutation.status(), 405);
    assert_eq!(mutation.headers()[header::ALLOW], "POST");
}

#[tokio::test]
async fn a_batch_is_answered_in_order_and_an_oversized_batch_is_refused() {
    let app = TestApp::spawn_with(Backend::Sqlite, &["--max-batch-length", "2"]).await;
    let two = json!([{ "query": "{ roles { name } }" }, { "query": "{ __typename }" }]);
    let response = app
        .client
        .post(app.url("/graphql"))
        .json(&two)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body[0]["data"]["roles"][0]["name"], "STUDENT");
    assert_eq!(body[1]["data"]["__typename"], "Query");

    let three = json!([{ "query": "{ __typename }" }, { "query": "{ __typename }" }, { "query": "{ __typename }" }]);
    let response = app
        .client
        .post(app.url("/graphql"))
        .json(&three)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("json");
    assert_eq!(first_code(&body), "BAD_REQUEST");
}
