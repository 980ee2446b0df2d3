//! References across databases: a course that projects are built for is not deleted;
//! a reference that dangles anyway (rows deleted outside the gateway) resolves to null
//! with a `NOT_FOUND` entry, and `api check` lists it.

use std::process::Command;

use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, backends, first_code},
    projects::{Scene, create_project, scene},
};

fn check(app: &TestApp) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_api"));
    command
        .args([
            "--data-dir",
            &app.databases.data_dir().display().to_string(),
        ])
        .env("RUST_LOG", "error");
    for (domain, url) in &app.databases.urls {
        command.args([format!("--{}-database-url", domain.name()), url.clone()]);
    }
    command.arg("check");
    let output = command.output().expect("api check runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

fn errors_at<'a>(body: &'a Value, field: &str) -> Vec<&'a Value> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter(|e| e["path"].as_array().and_then(|p| p.last()) == Some(&json!(field)))
                .collect()
        })
        .unwrap_or_default()
}

async fn nothing_else_dangles(app: &TestApp, admin: &str, project: &str) {
    let (_, body) = app
        .post_as(
            admin,
            "query($id: ID!) { project(id: $id) { ratings { id } stages { author { id } } } }",
            json!({ "id": project }),
        )
        .await;
    assert!(body.get("errors").is_none(), "nothing else dangles: {body}");
}

/// Deletes the scene's course (with its enrolments) and its collaborator (with their
/// roles) with SQL, as something other than the gateway would.
async fn delete_behind_the_gateways_back(s: &Scene) {
    let (course, gone) = (&s.course_id, s.collaborator_id);
    let databases = &s.app.state.databases;
    let statements = [
        (
            &*databases.academic,
            format!("DELETE FROM enrollments WHERE course_id = {course}"),
        ),
        (
            &*databases.academic,
            format!("DELETE FROM courses WHERE id = {course}"),
        ),
        (
            &*databases.users,
            format!("DELETE FROM user_roles WHERE user_id = {gone}"),
        ),
        (
            &*databases.users,
            format!("DELETE FROM users WHERE id = {gone}"),
        ),
    ];
    for (db, sql) in statements {
        db.execute_unprepared(&sql).await.expect("deleted");
    }
}

#[tokio::test]
async fn a_linked_course_stays_and_dangling_references_are_reported_not_hidden() {
    for backend in backends() {
        let s = scene(backend).await;
        let app = &s.app;
        let project = create_project(&s, "linked-app").await;
        app.data_as(
            &s.owner,
            "mutation($p: ID!, $u: ID!) { addCollaborator(projectId: $p, userId: $u) { id } }",
            json!({ "p": project, "u": s.collaborator_id.to_string() }),
        )
        .await;

        let delete = "mutation($id: ID!) { deleteCourse(id: $id) }";
        let (_, body) = app
            .post_as(&s.admin, delete, json!({ "id": s.course_id }))
            .await;
        assert_eq!(first_code(&body), "CONFLICT", "{body}");
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("1 project is built for this course"),
            "{message}"
        );
        let (clean, text) = check(app);
        assert!(clean, "{text}");
        assert!(text.contains("no dangling references"), "{text}");

        // Rows deleted behind the gateway's back.
        delete_behind_the_gateways_back(&s).await;
        let (course, gone) = (&s.course_id, s.collaborator_id);

        let query = "query($id: ID!) { project(id: $id) { slug owner { id } collaborators { id } courses { id } } }";
        let (status, body) = app.post_as(&s.admin, query, json!({ "id": project })).await;
        assert_eq!(status, 200, "{body}");
        let found = &body["data"]["project"];
        assert_eq!(found["slug"], "linked-app", "{body}");
        assert_eq!(found["collaborators"], json!([]), "{body}");
        assert_eq!(found["courses"], json!([]), "{body}");
        assert!(found["owner"]["id"].is_string(), "{body}");
        for (field, id) in [
            ("collaborators", gone.to_string()),
            ("courses", course.clone()),
        ] {
            let errors = errors_at(&body, field);
            assert_eq!(errors.len(), 1, "{field}: {body}");
            assert_eq!(errors[0]["extensions"]["code"], "NOT_FOUND", "{body}");
            assert_eq!(errors[0]["extensions"]["id"], json!(id), "{body}");
        }
        nothing_else_dangles(app, &s.admin, &project).await;

        let (clean, text) = check(app);
        assert!(!clean, "api check exits non-zero: {text}");
        assert!(text.contains("project_courses.course_id"), "{text}");
        assert!(text.contains("collaborators.user_id"), "{text}");
        assert!(text.contains(&format!("missing id(s): {gone}")), "{text}");
    }
}
