//! The README's example queries run against a fresh gateway, so they never rot.

use serde_json::json;

use api::users::model::RoleName;

use crate::helpers::{Backend, TestApp};

/// The body of every fenced `graphql` block of the README.
fn readme_queries() -> Vec<String> {
    let readme = include_str!("../../../README.md");
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in readme.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```graphql") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), text) => {
                block.push_str(text);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

#[tokio::test]
async fn every_readme_example_query_runs_without_errors() {
    let queries = readme_queries();
    assert!(
        !queries.is_empty(),
        "the README shows at least one example query"
    );
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (_, admin) = app.user_with_role("readme@uni.edu", RoleName::Admin).await;
    for query in queries {
        let data = if query.starts_with("# Signed in") {
            app.data_as(&admin, &query, json!({})).await
        } else {
            app.data(&query, json!({})).await
        };
        assert!(data.is_object(), "{query}");
    }
}
