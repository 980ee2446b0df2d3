//! The projects domain through real HTTP: the first system's whole flow, batched reads,
//! encrypted variables, validation and the per-project authorization rules.

use api::users::model::RoleName;
use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use api::db::StatementCounts;

use crate::helpers::{Backend, TestApp, assert_within, backends, first_code};

mod files;
mod flow;
mod order;
mod pages;
mod permissions;
mod quota;

/// A course with its teacher, three enrolled students and an admin.
pub(crate) struct Scene {
    pub(crate) app: TestApp,
    pub(crate) admin: String,
    pub(crate) teacher: String,
    pub(crate) owner: String,
    pub(crate) collaborator: String,
    pub(crate) collaborator_id: i32,
    pub(crate) other: String,
    pub(crate) course_id: String,
}

impl Scene {
    /// The owner adds the collaborator to `project`.
    pub(crate) async fn add_collaborator(&self, project: &impl serde::Serialize) {
        self.app
            .data_as(
                &self.owner,
                "mutation($p: ID!, $u: ID!) { addCollaborator(projectId: $p, userId: $u) { id } }",
                json!({ "p": project, "u": self.collaborator_id.to_string() }),
            )
            .await;
    }

    /// The owner adds a stage called `name` to `project`; its id.
    pub(crate) async fn create_stage(&self, project: &impl serde::Serialize, name: &str) -> Value {
        let created = self
            .app
            .data_as(
                &self.owner,
                "mutation($p: ID!, $n: String!) { createStage(input: {projectId: $p, name: $n}) { id } }",
                json!({ "p": project, "n": name }),
            )
            .await;
        created["createStage"]["id"].clone()
    }

    /// The owner attaches `file` to `stage`.
    pub(crate) async fn attach(&self, stage: &impl serde::Serialize, file: &impl serde::Serialize) {
        self.app
            .data_as(
                &self.owner,
                "mutation($s: ID!, $f: ID!) { attachStageFile(stageId: $s, fileId: $f) { id } }",
                json!({ "s": stage, "f": file }),
            )
            .await;
    }
}

pub(crate) async fn scene(backend: Backend) -> Scene {
    scene_with(backend, &[] as &[&str]).await
}

pub(crate) async fn scene_with(backend: Backend, flags: &[impl AsRef<str>]) -> Scene {
    scene_in(TestApp::spawn_with(backend, flags).await).await
}

/// The scene's people, course and tags in `app`.
pub(crate) async fn scene_in(app: TestApp) -> Scene {
    let (_, admin) = app.user_with_role("admin@uni.edu", RoleName::Admin).await;
    let (teacher_id, teacher) = app
        .user_with_role("teacher@uni.edu", RoleName::Teacher)
        .await;
    let (_, owner) = app.user_with_role("owner@uni.edu", RoleName::Student).await;
    let (collaborator_id, collaborator) = app
        .user_with_role("collab@uni.edu", RoleName::Student)
        .await;
    let (_, other) = app.user_with_role("other@uni.edu", RoleName::Student).await;
    app.data_as(
        &admin,
        "mutation { createSubjects(subjects: [{code: \"SW1\", name: \"Software\"}]) { id } }",
        json!({}),
    )
    .await;
    let course = app
        .data_as(
            &admin,
            "mutation($t: ID!) { createCourses(courses: [{subjectCode: \"SW1\", teacherId: $t, group: \"A\"}]) { id } }",
            json!({ "t": teacher_id.to_string() }),
        )
        .await;
    let course_id = course["createCourses"][0]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    app.data_as(
        &teacher,
        "mutation($c: ID!) { enrollStudents(courseId: $c, emails: [\"owner@uni.edu\", \"collab@uni.edu\", \"other@uni.edu\"]) { status } }",
        json!({ "c": course_id }),
    )
    .await;
    Scene {
        app,
        admin,
        teacher,
        owner,
        collaborator,
        collaborator_id,
        other,
        course_id,
    }
}

pub(crate) const CREATE: &str =
    "mutation($input: CreateProjectInput!) { createProject(input: $input) { id slug } }";

pub(crate) fn project_input(scene: &Scene, slug: &str) -> Value {
    json!({
        "name": format!("Project {slug}"),
        "slug": slug,
        "repositoryUrl": format!("https://git.example.edu/team/{slug}.git"),
        "containerPort": 8080,
        "courseIds": [scene.course_id],
    })
}

pub(crate) async fn create_project(scene: &Scene, slug: &str) -> String {
    let data = scene
        .app
        .data_as(
            &scene.owner,
            CREATE,
            json!({ "input": project_input(scene, slug) }),
        )
        .await;
    data["createProject"]["id"]
        .as_str()
        .expect("an id")
        .to_owned()
}

/// The first bytes of a PNG: the signature the upload check looks for.
pub(crate) const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR not really an image";

pub(crate) async fn upload(
    app: &TestApp,
    token: &str,
    name: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    let part = reqwest::multipart::Part::bytes(bytes)
        .file_name(name.to_owned())
        .mime_str(content_type)
        .expect("a mime type");
    app.client
        .post(app.url("/files"))
        .bearer_auth(token)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .expect("sent")
}

async fn upload_id(
    app: &TestApp,
    token: &str,
    name: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> String {
    let response = upload(app, token, name, content_type, bytes).await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.expect("json");
    body["id"].as_str().expect("an id").to_owned()
}
