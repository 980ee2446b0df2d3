//! CORS and the GraphiQL page with its assets.

use super::*;

#[tokio::test]
async fn cors_allows_configured_origins_only() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        &["--cors-allowed-origins", "https://app.example.edu"],
    )
    .await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/graphql"))
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(
                header::ACCESS_CONTROL_REQUEST_HEADERS,
                "content-type, authorization",
            )
            .send()
    };
    let allowed = preflight("https://app.example.edu").await.expect("sent");
    assert_eq!(
        allowed.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://app.example.edu"
    );
    let other = preflight("https://evil.example").await.expect("sent");
    assert!(
        !other
            .headers()
            .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
    );
}

#[tokio::test]
async fn graphiql_and_its_assets_are_served_by_the_gateway() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let page = app.client.get(app.url("/")).send().await.expect("sent");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("text");
    for asset in [
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
        "react-dom.production.min.js",
    ] {
        assert!(
            html.contains(&format!("/graphiql/{asset}")),
            "{asset} is linked"
        );
        let response = app
            .client
            .get(app.url(&format!("/graphiql/{asset}")))
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 200, "{asset}");
        assert!(
            response.bytes().await.expect("bytes").len() > 10_000,
            "{asset} is the real file"
        );
    }
    assert!(
        !html.contains("https://"),
        "no asset comes from the internet"
    );
    let missing = app
        .client
        .get(app.url("/graphiql/nope.js"))
        .send()
        .await
        .expect("sent");
    assert_eq!(missing.status(), 404);
}
