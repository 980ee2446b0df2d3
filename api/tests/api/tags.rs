//! The tag catalogue: staff add, rename and delete tags; a tag in use is not deleted.

use api::users::model::RoleName;
use serde_json::{Value, json};

use crate::{
    helpers::{backends, first_code},
    projects::{CREATE, Scene, project_input, scene},
};

const CREATE_TAG: &str = "mutation($n: String!, $t: TagType!) { createTag(input: {name: $n, type: $t}) { id name type } }";
const RENAME_TAG: &str =
    "mutation($id: ID!, $n: String!) { renameTag(id: $id, name: $n) { id name type } }";
const DELETE_TAG: &str = "mutation($id: ID!) { deleteTag(id: $id) }";

#[tokio::test]
async fn staff_manage_the_tag_catalogue_and_a_tag_in_use_stays() {
    for backend in backends() {
        let s = scene(backend).await;
        let app = &s.app;
        let (_, support) = app
            .user_with_role("support@uni.edu", RoleName::Support)
            .await;
        let rust = json!({ "n": "  Rust ", "t": "PROGRAMMING" });
        for (who, token) in [("student", &s.owner), ("teacher", &s.teacher)] {
            let (_, body) = app.post_as(token, CREATE_TAG, rust.clone()).await;
            assert_eq!(first_code(&body), "FORBIDDEN", "{who}: {body}");
        }
        let (_, body) = app.post(CREATE_TAG, rust.clone()).await;
        assert_eq!(first_code(&body), "UNAUTHENTICATED", "{body}");

        let created = app.data_as(&support, CREATE_TAG, rust.clone()).await;
        let tag = &created["createTag"];
        assert_eq!(
            (tag["name"].as_str(), tag["type"].as_str()),
            (Some("Rust"), Some("PROGRAMMING"))
        );
        let id = tag["id"].clone();
        let (_, again) = app.post_as(&s.admin, CREATE_TAG, rust).await;
        assert_eq!(first_code(&again), "CONFLICT", "{again}");
        assert_eq!(again["errors"][0]["extensions"]["field"], "name", "{again}");
        // The same name under another type is another tag.
        app.data_as(&s.admin, CREATE_TAG, json!({ "n": "Rust", "t": "AREA" }))
            .await;
        for (name, code) in [
            ("", "BAD_USER_INPUT"),
            (&*"x".repeat(51), "BAD_USER_INPUT"),
            ("Python", "CONFLICT"),
        ] {
            let (_, body) = app
                .post_as(&support, RENAME_TAG, json!({ "id": id, "n": name }))
                .await;
            assert_eq!(first_code(&body), code, "{name:?}: {body}");
        }
        let renamed = app
            .data_as(&support, RENAME_TAG, json!({ "id": id, "n": "Rust 2024" }))
            .await;
        assert_eq!(renamed["renameTag"]["name"], "Rust 2024");

        a_tag_in_use_stays_and_a_free_one_goes(&s, &support, &id).await;
    }
}

/// A tag a project carries is not deleted (and stays listed); an unused one is, once.
async fn a_tag_in_use_stays_and_a_free_one_goes(s: &Scene, support: &str, id: &Value) {
    let app = &s.app;
    let mut input = project_input(s, "tagged-app");
    input["tagIds"] = json!([id]);
    app.data_as(&s.owner, CREATE, json!({ "input": input }))
        .await;
    let (_, body) = app.post_as(support, DELETE_TAG, json!({ "id": id })).await;
    assert_eq!(first_code(&body), "CONFLICT", "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("1 project carry"), "{message}");
    let listed = app
        .data_as(&s.owner, "{ tags(type: PROGRAMMING) { name } }", json!({}))
        .await;
    assert!(listed.to_string().contains("Rust 2024"), "{listed}");

    let python = app
        .data("{ tags(type: PROGRAMMING) { id name } }", json!({}))
        .await["tags"]
        .as_array()
        .and_then(|tags| tags.iter().find(|t| t["name"] == "Python").cloned())
        .expect("Python is seeded");
    let deleted = app
        .data_as(&s.admin, DELETE_TAG, json!({ "id": python["id"] }))
        .await;
    assert_eq!(deleted["deleteTag"], true);
    let (_, body) = app
        .post_as(&s.admin, DELETE_TAG, json!({ "id": python["id"] }))
        .await;
    assert_eq!(first_code(&body), "NOT_FOUND", "{body}");
    let listed = app.data("{ tags { name } }", json!({})).await;
    assert!(!listed.to_string().contains("Python"), "{listed}");
}
