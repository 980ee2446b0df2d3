//! The production profile (`APP_ENV=production`, any case): no introspection, no
//! "did you mean" suggestions, no GraphiQL, and `/metrics` only on METRICS_BIND_ADDR,
//! unless each is turned back on explicitly.

use serde_json::json;

use crate::helpers::{Backend, TestApp};

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[tokio::test]
async fn production_hides_the_schema_graphiql_and_metrics() {
    let metrics_port = free_port();
    let metrics_addr = format!("127.0.0.1:{metrics_port}");
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        &[
            "--app-env",
            "PRODUCTION",
            "--metrics-bind-addr",
            &metrics_addr,
        ],
    )
    .await;
    for query in [
        "{ __schema { types { name } } }",
        "{ __type(name: \"User\") { name } }",
    ] {
        // async-graphql answers null for the introspection fields when it is off.
        let (_, body) = app.post(query, json!({})).await;
        assert!(body["data"]["__type"].is_null(), "{query}: {body}");
        assert!(body["data"]["__schema"].is_null(), "{query}: {body}");
        assert!(body["data"]["__type"].is_null(), "{query}: {body}");
    }
    let (_, body) = app.post("{ rolez { name } }", json!({})).await;
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(!message.contains("Did you mean"), "{message}");
    // Ordinary queries still work.
    let (status, body) = app.post("{ roles { name } }", json!({})).await;
    assert_eq!(status, 200, "{body}");

    let get = |url: String| {
        let client = app.client.clone();
        async move { client.get(url).send().await.expect("answers").status() }
    };
    assert_eq!(get(app.url("/")).await, 404, "no GraphiQL");
    assert_eq!(
        get(app.url("/metrics")).await,
        404,
        "no metrics on the main address"
    );
    assert_eq!(get(format!("http://{metrics_addr}/metrics")).await, 200);
    app.stop().await;
}

#[tokio::test]
async fn production_turns_each_back_on_when_asked_and_development_has_them() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        &[
            "--app-env",
            "production",
            "--allow-introspection",
            "true",
            "--graphiql",
            "true",
        ],
    )
    .await;
    let data = app
        .data("{ __schema { queryType { name } } }", json!({}))
        .await;
    assert_eq!(data["__schema"]["queryType"]["name"], "Query");
    let page = app.client.get(app.url("/")).send().await.expect("answers");
    assert_eq!(page.status(), 200);
    app.stop().await;

    let dev = TestApp::spawn(Backend::Sqlite).await;
    let (_, body) = dev.post("{ rolez { name } }", json!({})).await;
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("Did you mean"), "{message}");
    let metrics = dev
        .client
        .get(dev.url("/metrics"))
        .send()
        .await
        .expect("answers");
    assert_eq!(metrics.status(), 200);
    dev.stop().await;
}

#[test]
fn an_app_env_the_gateway_does_not_know_is_refused_at_start() {
    let refused = api::config::Config::from_args(["api", "--app-env", "prod"]);
    assert!(refused.is_err());
}
