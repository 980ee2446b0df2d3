//! An answer keeps the order of the query (GraphQL spec, "Serialization Format"), even
//! where some fields wait on a batch and others do not.

use super::*;

/// Fields read from the row and fields read through loaders, interleaved, with an
/// alias; their keys must come back in this order.
const QUERY: &str = "query($id: ID!) { project(id: $id) {
    owner { username } id averageRating name collaborators { username } handle: slug
    tags { name } courses { group } description } }";
const KEYS: [&str; 9] = [
    "owner",
    "id",
    "averageRating",
    "name",
    "collaborators",
    "handle",
    "tags",
    "courses",
    "description",
];

#[tokio::test]
async fn an_answer_keeps_the_order_of_the_query() {
    for backend in backends() {
        let s = scene(backend).await;
        let created = s
            .app
            .data_as(
                &s.owner,
                CREATE,
                json!({ "input": project_input(&s, "ordered") }),
            )
            .await;
        let id = created["createProject"]["id"].clone();
        s.add_collaborator(&id).await;
        // Several times: the order must not depend on which batch finishes first.
        for _ in 0..5 {
            let text = raw_answer(&s, &id).await;
            let positions: Vec<usize> = KEYS
                .iter()
                .map(|key| {
                    text.find(&format!("\"{key}\":"))
                        .unwrap_or_else(|| panic!("{key} is missing from {text}"))
                })
                .collect();
            assert!(
                positions.is_sorted(),
                "{backend:?}: the keys are not in the query's order: {text}"
            );
        }
        s.app.stop().await;
    }
}

/// The answer's text as sent (a `serde_json::Value` would sort its keys).
async fn raw_answer(s: &Scene, id: &Value) -> String {
    let response = s
        .app
        .client
        .post(s.app.url("/graphql"))
        .bearer_auth(&s.owner)
        .json(&json!({ "query": QUERY, "variables": { "id": id } }))
        .send()
        .await
        .expect("the request is sent");
    assert_eq!(response.status(), 200);
    let text = response.text().await.expect("a body");
    assert!(!text.contains("\"errors\""), "{text}");
    text
}
