//! The projects domain through real HTTP: the first system's whole flow, batched reads,
//! encrypted variables, validation and the per-project authorization rules.

use api::users::model::RoleName;
use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use api::db::StatementCounts;

use crate::helpers::{Backend, TestApp, assert_within, backends, first_code};

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

pub(crate) async fn scene(backend: Backend) -> Scene {
    scene_with(backend, &[] as &[&str]).await
}

async fn scene_with(backend: Backend, flags: &[impl AsRef<str>]) -> Scene {
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
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR not really an image";

async fn upload(
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

#[tokio::test]
async fn the_first_systems_whole_flow_reads_back_in_one_query() {
    for backend in backends() {
        let s = scene(backend).await;
        let app = &s.app;
        let png = PNG.to_vec();
        let image = upload_id(app, &s.owner, "logo.png", "image/png", png.clone()).await;

        let mut input = project_input(&s, "team-alpha");
        input["imageFileId"] = json!(image);
        input["description"] = json!("A web app for the course");
        let created = app
            .data_as(&s.owner, CREATE, json!({ "input": input }))
            .await;
        let project = created["createProject"]["id"]
            .as_str()
            .expect("an id")
            .to_owned();

        app.data_as(
            &s.owner,
            "mutation($p: ID!, $u: ID!) { addCollaborator(projectId: $p, userId: $u) { id } }",
            json!({ "p": project, "u": s.collaborator_id.to_string() }),
        )
        .await;
        let tags = app
            .data("{ tags(type: PROGRAMMING) { id name } }", json!({}))
            .await;
        let rust_like = tags["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .find(|t| t["name"] == "Python")
            .expect("Python")["id"]
            .clone();
        app.data_as(
            &s.collaborator,
            "mutation($p: ID!, $t: ID!) { tagProject(projectId: $p, tagId: $t) { id } }",
            json!({ "p": project, "t": rust_like }),
        )
        .await;
        let stage = app
            .data_as(
                &s.collaborator,
                "mutation($p: ID!) { createStage(input: {projectId: $p, name: \"Design\", status: IN_PROGRESS}) { id status } }",
                json!({ "p": project }),
            )
            .await;
        let stage_id = stage["createStage"]["id"].clone();
        let report = upload_id(
            app,
            &s.collaborator,
            "report.pdf",
            "application/pdf",
            b"%PDF-1.4 report".to_vec(),
        )
        .await;
        app.data_as(
            &s.collaborator,
            "mutation($s: ID!, $f: ID!) { attachStageFile(stageId: $s, fileId: $f) { id } }",
            json!({ "s": stage_id, "f": report }),
        )
        .await;
        let download = app
            .client
            .get(app.url(&format!("/files/{report}")))
            .bearer_auth(&s.other)
            .send()
            .await
            .expect("sent");
        assert_eq!(download.status(), 200);
        assert_eq!(download.headers()["content-type"], "application/pdf");
        assert_eq!(
            download.bytes().await.expect("bytes").as_ref(),
            b"%PDF-1.4 report"
        );
        let anonymous = app
            .client
            .get(app.url(&format!("/files/{report}")))
            .send()
            .await
            .expect("sent");
        assert_eq!(
            anonymous.status(),
            401,
            "stage files are for signed-in users"
        );
        let image_download = app
            .client
            .get(app.url(&format!("/files/{image}")))
            .send()
            .await
            .expect("sent");
        assert_eq!(image_download.status(), 200, "project images are public");
        assert_eq!(
            image_download.bytes().await.expect("bytes").as_ref(),
            png.as_slice()
        );

        let unrated = app
            .data_as(
                &s.owner,
                "query($id: ID!) { project(id: $id) { averageRating } projects(first: 5) { edges { node { averageRating } } } }",
                json!({ "id": project }),
            )
            .await;
        assert_eq!(
            unrated["project"]["averageRating"],
            Value::Null,
            "no ratings yet"
        );
        assert_eq!(
            unrated["projects"]["edges"][0]["node"]["averageRating"],
            Value::Null
        );

        let set = "mutation($p: ID!, $v: String!) { setEnvironmentVariable(projectId: $p, name: \"API_KEY\", value: $v) { name value } }";
        app.data_as(&s.owner, set, json!({ "p": project, "v": "first" }))
            .await;
        app.data_as(&s.collaborator, set, json!({ "p": project, "v": "second" }))
            .await;
        app.data_as(
            &s.other,
            "mutation($p: ID!) { rateProject(projectId: $p, stars: 4) { stars label } }",
            json!({ "p": project }),
        )
        .await;
        app.data_as(
            &s.teacher,
            "mutation($p: ID!) { rateProject(projectId: $p, stars: 5) { stars } }",
            json!({ "p": project }),
        )
        .await;
        app.data_as(
            &s.other,
            "mutation($p: ID!) { rateProject(projectId: $p, stars: 2) { stars } }",
            json!({ "p": project }),
        )
        .await;

        let all = app
            .data_as(
                &s.owner,
                "query($id: ID!) { project(id: $id) { name slug description imageUrl running publicUrl
                    owner { username } collaborators { username } courses { group subject { code } teacher { username } }
                    tags { name type } stages { name status author { username } files { name contentType size url } }
                    ratings { stars user { username } } averageRating myRating { stars }
                    environmentVariables { name value } deployments { id } statistics(last: 5) { cpuPercent } } }",
                json!({ "id": project }),
            )
            .await;
        let p = &all["project"];
        assert_eq!(p["owner"]["username"], "owner", "{backend:?}");
        assert_eq!(p["imageUrl"], format!("/files/{image}"));
        assert_eq!(p["collaborators"][0]["username"], "collab");
        assert_eq!(p["courses"][0]["subject"]["code"], "SW1");
        assert_eq!(p["courses"][0]["teacher"]["username"], "teacher");
        assert_eq!(
            p["tags"],
            json!([{ "name": "Python", "type": "PROGRAMMING" }])
        );
        assert_eq!(p["stages"][0]["status"], "IN_PROGRESS");
        assert_eq!(p["stages"][0]["author"]["username"], "collab");
        assert_eq!(p["stages"][0]["files"][0]["name"], "report.pdf");
        assert_eq!(
            p["ratings"].as_array().map(Vec::len),
            Some(2),
            "one rating per user, updated"
        );
        assert_eq!(p["averageRating"], 3.5);
        assert_eq!(p["myRating"], Value::Null);
        assert_eq!(
            p["environmentVariables"],
            json!([{ "name": "API_KEY", "value": "second" }])
        );
        assert_eq!(p["deployments"], json!([]));
        assert_eq!(p["running"], false);
        assert_eq!(p["publicUrl"], Value::Null);

        let reverse = app
            .data_as(
                &s.teacher,
                "query($c: ID!) { course(id: $c) { projects { slug } } me { projects { slug } } }",
                json!({ "c": s.course_id }),
            )
            .await;
        assert_eq!(reverse["course"]["projects"][0]["slug"], "team-alpha");
        assert_eq!(reverse["me"]["projects"], json!([]));
        s.app.stop().await;
    }
}

#[tokio::test]
async fn variables_are_encrypted_at_rest_and_readable_by_members_only() {
    let s = scene(Backend::Sqlite).await;
    let project = create_project(&s, "secret-app").await;
    s.app
        .data_as(
            &s.owner,
            "mutation($p: ID!) { setEnvironmentVariable(projectId: $p, name: \"DB_PASSWORD\", value: \"hunter2-plaintext\") { name } }",
            json!({ "p": project }),
        )
        .await;
    let query = "query($id: ID!) { project(id: $id) { name environmentVariables { name value } } }";
    let (_, other) = s
        .app
        .post_as(&s.other, query, json!({ "id": project }))
        .await;
    assert_eq!(first_code(&other), "FORBIDDEN");
    assert_eq!(
        other["data"]["project"]["name"], "Project secret-app",
        "the rest of the project still reads"
    );
    let owner = s
        .app
        .data_as(&s.owner, query, json!({ "id": project }))
        .await;
    assert_eq!(
        owner["project"]["environmentVariables"][0]["value"],
        "hunter2-plaintext"
    );

    let rows = entities::projects::environment_variable::Entity::find()
        .all(&*s.app.state.databases.projects)
        .await
        .expect("raw rows");
    assert!(
        !rows[0].value.windows(9).any(|w| w == b"plaintext"),
        "no plaintext at rest"
    );

    s.app
        .state
        .databases
        .projects
        .execute_unprepared("UPDATE environment_variables SET value = X'00112233445566778899AABBCCDDEEFF0011223344556677'")
        .await
        .expect("tamper");
    let (_, tampered) = s
        .app
        .post_as(&s.owner, query, json!({ "id": project }))
        .await;
    assert_eq!(first_code(&tampered), "INTERNAL_SERVER_ERROR", "{tampered}");
    assert!(!tampered.to_string().contains("hunter2"));
}

#[tokio::test]
async fn the_last_course_stays_and_a_missing_course_writes_nothing() {
    for backend in backends() {
        let s = scene(backend).await;
        let project = create_project(&s, "one-course").await;
        let (_, body) = s
            .app
            .post_as(
                &s.owner,
                "mutation($p: ID!, $c: ID!) { unlinkCourse(projectId: $p, courseId: $c) { id } }",
                json!({ "p": project, "c": s.course_id }),
            )
            .await;
        assert_eq!(first_code(&body), "CONFLICT", "{backend:?}: {body}");

        let mut input = project_input(&s, "ghost-course");
        input["courseIds"] = json!(["987654"]);
        let (_, body) = s
            .app
            .post_as(&s.owner, CREATE, json!({ "input": input }))
            .await;
        assert_eq!(first_code(&body), "BAD_USER_INPUT");
        assert_eq!(body["errors"][0]["extensions"]["field"], "courseIds");
        let count = entities::projects::project::Entity::find()
            .count(&*s.app.state.databases.projects)
            .await
            .expect("count");
        assert_eq!(count, 1, "{backend:?}: nothing was written");
        s.app.stop().await;
    }
}

#[tokio::test]
async fn bad_project_input_names_the_field_and_duplicates_conflict() {
    let s = scene(Backend::Sqlite).await;
    create_project(&s, "taken-slug").await;
    let cases: Vec<(&str, Value, &str)> = vec![
        ("slug", json!("Bad Slug!"), "BAD_USER_INPUT"),
        ("slug", json!("abc"), "BAD_USER_INPUT"),
        ("repositoryUrl", json!("not a url"), "BAD_USER_INPUT"),
        ("repositoryUrl", json!("/tmp/local/repo"), "BAD_USER_INPUT"),
        ("containerPort", json!(70000), "BAD_USER_INPUT"),
        ("name", json!("abc"), "BAD_USER_INPUT"),
        ("slug", json!("taken-slug"), "CONFLICT"),
        (
            "repositoryUrl",
            json!("https://git.example.edu/team/taken-slug.git"),
            "CONFLICT",
        ),
    ];
    for (field, value, code) in cases {
        let mut input = project_input(&s, "fresh-slug");
        input[field] = value.clone();
        let (_, body) = s
            .app
            .post_as(&s.owner, CREATE, json!({ "input": input }))
            .await;
        assert_eq!(first_code(&body), code, "{field}={value}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
    }
    let ssh = {
        let mut i = project_input(&s, "ssh-repo");
        i["repositoryUrl"] = json!("git@github.com:team/ssh-repo.git");
        i
    };
    s.app
        .data_as(&s.owner, CREATE, json!({ "input": ssh }))
        .await;
    let project = create_project(&s, "vars-check").await;
    let (_, body) = s
        .app
        .post_as(&s.owner, "mutation($p: ID!) { setEnvironmentVariable(projectId: $p, name: \"lower\", value: \"x\") { name } }", json!({ "p": project }))
        .await;
    assert_eq!(first_code(&body), "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "name");
    let available = s
        .app
        .data_as(
            &s.owner,
            "{ a: slugAvailable(slug: \"taken-slug\") b: slugAvailable(slug: \"free-slug\") }",
            json!({}),
        )
        .await;
    assert_eq!(available, json!({ "a": false, "b": true }));
}

#[tokio::test]
async fn local_repositories_are_accepted_only_when_configured() {
    let s = scene_with(Backend::Sqlite, &["--allow-local-repositories", "true"]).await;
    let mut input = project_input(&s, "local-repo");
    input["repositoryUrl"] = json!("/srv/git/local-repo");
    s.app
        .data_as(&s.owner, CREATE, json!({ "input": input }))
        .await;
}

#[tokio::test]
async fn uploads_over_the_limit_or_of_other_types_are_refused_and_leave_nothing() {
    let s = scene_with(Backend::Sqlite, &["--files-max-bytes", "1024"]).await;
    let big = upload(&s.app, &s.owner, "big.png", "image/png", vec![7u8; 4096]).await;
    assert_eq!(big.status(), 413);
    let exe = upload(
        &s.app,
        &s.owner,
        "x.exe",
        "application/x-msdownload",
        vec![1, 2, 3],
    )
    .await;
    assert_eq!(exe.status(), 415);
    let anonymous = s
        .app
        .client
        .post(s.app.url("/files"))
        .multipart(
            reqwest::multipart::Form::new().part(
                "file",
                reqwest::multipart::Part::bytes(vec![1])
                    .file_name("a.txt")
                    .mime_str("text/plain")
                    .expect("mime"),
            ),
        )
        .send()
        .await
        .expect("sent");
    assert_eq!(anonymous.status(), 401);
    let rows = entities::projects::file::Entity::find()
        .count(&*s.app.state.databases.projects)
        .await
        .expect("count");
    assert_eq!(rows, 0);
    let stored = std::fs::read_dir(s.app.databases.data_dir().join("files"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(stored, 0, "no bytes left behind");
    let small = upload_id(&s.app, &s.owner, "ok.txt", "text/plain", b"hello".to_vec()).await;
    let status = s
        .app
        .client
        .get(s.app.url(&format!("/files/{small}")))
        .bearer_auth(&s.other)
        .send()
        .await
        .expect("sent")
        .status();
    assert_eq!(status, 403, "a file attached nowhere is its uploader's");
}

#[tokio::test]
async fn uploads_are_413_past_the_limit_at_any_size_and_415_when_their_bytes_disagree() {
    let s = scene_with(Backend::Sqlite, &["--files-max-bytes", "1024"]).await;
    // Just over the file limit, past the multipart framing allowance, and far past it.
    for size in [1025, 200_000, 8_000_000] {
        let mut bytes = PNG.to_vec();
        bytes.resize(size, 0);
        let response = upload(&s.app, &s.owner, "big.png", "image/png", bytes).await;
        assert_eq!(response.status(), 413, "{size} bytes");
        let body: Value = response.json().await.expect("json");
        assert!(body["error"]["message"].as_str().is_some(), "{body}");
    }
    // A large field that is not the file counts too.
    let padded = reqwest::multipart::Form::new()
        .part(
            "padding",
            reqwest::multipart::Part::bytes(vec![b'x'; 2_000_000]),
        )
        .part(
            "file",
            reqwest::multipart::Part::bytes(PNG.to_vec())
                .file_name("a.png")
                .mime_str("image/png")
                .expect("mime"),
        );
    let response = s
        .app
        .client
        .post(s.app.url("/files"))
        .bearer_auth(&s.owner)
        .multipart(padded)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 413, "padding before the file");
    let html = b"<!doctype html><script>fetch('/graphql')</script>".to_vec();
    let disguised = upload(&s.app, &s.owner, "cat.png", "image/png", html.clone()).await;
    assert_eq!(disguised.status(), 415);
    let body: Value = disguised.json().await.expect("json");
    assert_eq!(body["error"]["code"], "BAD_USER_INPUT", "{body}");
    let binary_text = upload(&s.app, &s.owner, "a.txt", "text/plain", PNG.to_vec()).await;
    assert_eq!(binary_text.status(), 415);
    let stored = std::fs::read_dir(s.app.databases.data_dir().join("files"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(stored, 0, "no bytes left behind");
    upload_id(&s.app, &s.owner, "page.txt", "text/plain", html).await;
    upload_id(&s.app, &s.owner, "logo.png", "image/png", PNG.to_vec()).await;
}

#[tokio::test]
async fn a_page_of_fifty_projects_costs_the_same_statements_as_a_page_of_one() {
    for backend in backends() {
        let s = scene(backend).await;
        let tags = s.app.data("{ tags { id } }", json!({})).await;
        let tag_ids: Vec<Value> = tags["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .map(|t| t["id"].clone())
            .collect();
        for n in 0..55 {
            let mut input = project_input(&s, &format!("bulk-{n:03}"));
            input["tagIds"] = json!([tag_ids[n % tag_ids.len()], tag_ids[(n + 1) % tag_ids.len()]]);
            let created = s
                .app
                .data_as(&s.owner, CREATE, json!({ "input": input }))
                .await;
            let id = created["createProject"]["id"].clone();
            s.app
                .data_as(&s.owner, "mutation($p: ID!, $u: ID!) { addCollaborator(projectId: $p, userId: $u) { id } }", json!({ "p": id, "u": s.collaborator_id.to_string() }))
                .await;
            let stage = s
                .app
                .data_as(&s.owner, "mutation($p: ID!) { createStage(input: {projectId: $p, name: \"One\"}) { id } }", json!({ "p": id }))
                .await;
            let file = upload_id(
                &s.app,
                &s.owner,
                "notes.txt",
                "text/plain",
                b"notes".to_vec(),
            )
            .await;
            s.app
                .data_as(&s.owner, "mutation($s: ID!, $f: ID!) { attachStageFile(stageId: $s, fileId: $f) { id } }", json!({ "s": stage["createStage"]["id"], "f": file }))
                .await;
            s.app
                .data_as(
                    &s.other,
                    "mutation($p: ID!) { rateProject(projectId: $p, stars: 3) { id } }",
                    json!({ "p": id }),
                )
                .await;
        }
        let query = "query($n: Int!) { projects(first: $n) { totalCount edges { node { name owner { username } collaborators { username }
            courses { subject { code } teacher { username } } tags { name type } stages { name files { name } } averageRating } } } }";
        let mut costs = Vec::new();
        for size in [1, 50] {
            let before = s.app.statements();
            let data = s.app.data_as(&s.owner, query, json!({ "n": size })).await;
            let edges = data["projects"]["edges"].as_array().expect("edges");
            assert_eq!(edges.len(), size as usize);
            let last = &edges[size as usize - 1]["node"];
            assert_eq!(last["collaborators"][0]["username"], "collab");
            assert_eq!(last["stages"][0]["files"][0]["name"], "notes.txt");
            assert_eq!(last["averageRating"], 3.0);
            costs.push(s.app.statements() - before);
        }
        eprintln!(
            "{backend:?}: statements for projects(first: 1) {:?}, for projects(first: 50) {:?}",
            costs[0], costs[1]
        );
        // users: sign-in check 1 (user and roles joined), owners 1, collaborators 1,
        // teachers 1; academic: courses with their subjects 1; projects: count, page (with
        // each project's mean rating), course links, collaborator links, tags, stages,
        // stage files.
        let bound = StatementCounts {
            users: 4,
            academic: 1,
            projects: 7,
        };
        assert_within(
            &costs,
            bound,
            &format!("{backend:?} projects(first: 1 and 50)"),
        );
        s.app.stop().await;
    }
}

/// One call of each project mutation against `project`, as the persona.
fn mutation_call(
    name: &str,
    project: &str,
    stage: &str,
    course: &str,
    user: &str,
    file: &str,
) -> (String, Value) {
    let p = json!(project);
    let (doc, vars) = match name {
        "updateProject" => (
            "mutation($p: ID!) { updateProject(id: $p, input: {description: \"x\"}) { id } }",
            json!({ "p": p }),
        ),
        "deleteProject" => (
            "mutation($p: ID!) { deleteProject(id: $p) }",
            json!({ "p": p }),
        ),
        "addCollaborator" => (
            "mutation($p: ID!, $u: ID!) { addCollaborator(projectId: $p, userId: $u) { id } }",
            json!({ "p": p, "u": user }),
        ),
        "removeCollaborator" => (
            "mutation($p: ID!, $u: ID!) { removeCollaborator(projectId: $p, userId: $u) { id } }",
            json!({ "p": p, "u": user }),
        ),
        "rateProject" => (
            "mutation($p: ID!) { rateProject(projectId: $p, stars: 5) { id } }",
            json!({ "p": p }),
        ),
        "linkCourse" => (
            "mutation($p: ID!, $c: ID!) { linkCourse(projectId: $p, courseId: $c) { id } }",
            json!({ "p": p, "c": course }),
        ),
        "unlinkCourse" => (
            "mutation($p: ID!, $c: ID!) { unlinkCourse(projectId: $p, courseId: $c) { id } }",
            json!({ "p": p, "c": course }),
        ),
        "tagProject" => (
            "mutation($p: ID!) { tagProject(projectId: $p, tagId: \"1\") { id } }",
            json!({ "p": p }),
        ),
        "untagProject" => (
            "mutation($p: ID!) { untagProject(projectId: $p, tagId: \"1\") { id } }",
            json!({ "p": p }),
        ),
        "createStage" => (
            "mutation($p: ID!) { createStage(input: {projectId: $p, name: \"S\"}) { id } }",
            json!({ "p": p }),
        ),
        "updateStage" => (
            "mutation($s: ID!) { updateStage(id: $s, input: {status: COMPLETED}) { id } }",
            json!({ "s": stage }),
        ),
        "deleteStage" => (
            "mutation($s: ID!) { deleteStage(id: $s) }",
            json!({ "s": stage }),
        ),
        "attachStageFile" => (
            "mutation($s: ID!, $f: ID!) { attachStageFile(stageId: $s, fileId: $f) { id } }",
            json!({ "s": stage, "f": file }),
        ),
        "detachStageFile" => (
            "mutation($s: ID!, $f: ID!) { detachStageFile(stageId: $s, fileId: $f) { id } }",
            json!({ "s": stage, "f": file }),
        ),
        "setEnvironmentVariable" => (
            "mutation($p: ID!) { setEnvironmentVariable(projectId: $p, name: \"X\", value: \"1\") { name } }",
            json!({ "p": p }),
        ),
        "deleteEnvironmentVariable" => (
            "mutation($p: ID!) { deleteEnvironmentVariable(projectId: $p, name: \"X\") }",
            json!({ "p": p }),
        ),
        "deployProject" => (
            "mutation($p: ID!) { deployProject(projectId: $p) { id } }",
            json!({ "p": p }),
        ),
        "stopProject" => (
            "mutation($p: ID!) { stopProject(projectId: $p) { id } }",
            json!({ "p": p }),
        ),
        "startProject" => (
            "mutation($p: ID!) { startProject(projectId: $p) { id } }",
            json!({ "p": p }),
        ),
        // `user` carries the deployment's id here (see the matrix).
        "cancelDeployment" => (
            "mutation($d: ID!) { cancelDeployment(id: $d) { id } }",
            json!({ "d": user }),
        ),
        other => panic!("no call for `{other}`: add one"),
    };
    (doc.to_owned(), vars)
}

/// Who may call each project mutation, written from domain.md §3 and not from the
/// table under test: "owner and collaborators write (metadata, stages, files, tags,
/// variables, courses, deploy, stop); only the owner deletes it and manages
/// collaborators; admins may do all", and a rating is "not on your own project".
const WRITERS: &[&str] = &["owner", "collaborator", "admin"];
const OWNER: &[&str] = &["owner", "admin"];
const RATERS: &[&str] = &["other student", "teacher of the course", "admin"];
const SPEC: &[(&str, &[&str])] = &[
    ("updateProject", WRITERS),
    ("deleteProject", OWNER),
    ("addCollaborator", OWNER),
    ("removeCollaborator", OWNER),
    ("rateProject", RATERS),
    ("linkCourse", WRITERS),
    ("unlinkCourse", WRITERS),
    ("tagProject", WRITERS),
    ("untagProject", WRITERS),
    ("createStage", WRITERS),
    ("updateStage", WRITERS),
    ("deleteStage", WRITERS),
    ("attachStageFile", WRITERS),
    ("detachStageFile", WRITERS),
    ("setEnvironmentVariable", WRITERS),
    ("deleteEnvironmentVariable", WRITERS),
    ("deployProject", WRITERS),
    ("cancelDeployment", WRITERS),
    ("stopProject", WRITERS),
    ("startProject", WRITERS),
];

#[tokio::test]
async fn every_project_mutation_allows_exactly_whom_the_spec_says() {
    let s = scene(Backend::Sqlite).await;
    let (_, third) = s
        .app
        .user_with_role("third@uni.edu", RoleName::Student)
        .await;
    let mut mismatches = Vec::new();
    let personas = [
        "owner",
        "collaborator",
        "other student",
        "teacher of the course",
        "admin",
    ];
    for (operation, allowed) in SPEC {
        for persona in personas {
            // A fresh project per call: every call starts from the same state.
            let slug = format!("p{}", &uuid_like(operation, persona));
            let project = create_project(&s, &slug).await;
            let third_id = {
                let me = s.app.data_as(&third, "{ me { id } }", json!({})).await;
                me["me"]["id"].as_str().expect("id").to_owned()
            };
            s.app
                .data_as(&s.owner, "mutation($p: ID!, $u: ID!) { addCollaborator(projectId: $p, userId: $u) { id } }", json!({ "p": project, "u": s.collaborator_id.to_string() }))
                .await;
            let stage = s
                .app
                .data_as(
                    &s.owner,
                    "mutation($p: ID!) { createStage(input: {projectId: $p, name: \"S\"}) { id } }",
                    json!({ "p": project }),
                )
                .await["createStage"]["id"]
                .as_str()
                .expect("id")
                .to_owned();
            let token = match persona {
                "owner" => &s.owner,
                "collaborator" => &s.collaborator,
                "other student" => &s.other,
                "teacher of the course" => &s.teacher,
                _ => &s.admin,
            };
            let file = upload_id(&s.app, token, "f.txt", "text/plain", b"f".to_vec()).await;
            if *operation == "detachStageFile" {
                let owner_file =
                    upload_id(&s.app, &s.owner, "g.txt", "text/plain", b"g".to_vec()).await;
                s.app
                    .data_as(&s.owner, "mutation($s: ID!, $f: ID!) { attachStageFile(stageId: $s, fileId: $f) { id } }", json!({ "s": stage, "f": owner_file }))
                    .await;
                let (doc, vars) = mutation_call(
                    operation,
                    &project,
                    &stage,
                    &s.course_id,
                    &third_id,
                    &owner_file,
                );
                record(
                    &s,
                    token,
                    persona,
                    operation,
                    allowed,
                    &doc,
                    vars,
                    &mut mismatches,
                )
                .await;
                continue;
            }
            let user = if *operation == "removeCollaborator" {
                s.collaborator_id.to_string()
            } else if *operation == "cancelDeployment" {
                // The owner's deploy, for the persona to cancel.
                s.app
                    .data_as(
                        &s.owner,
                        "mutation($p: ID!) { deployProject(projectId: $p) { deployment { id } } }",
                        json!({ "p": project }),
                    )
                    .await["deployProject"]["deployment"]["id"]
                    .as_str()
                    .expect("id")
                    .to_owned()
            } else {
                third_id
            };
            let (doc, vars) =
                mutation_call(operation, &project, &stage, &s.course_id, &user, &file);
            record(
                &s,
                token,
                persona,
                operation,
                allowed,
                &doc,
                vars,
                &mut mismatches,
            )
            .await;
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

fn uuid_like(operation: &str, persona: &str) -> String {
    let text = format!("{operation}{persona}").to_lowercase();
    let digest: u64 = text.bytes().fold(1469598103934665603u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(1099511628211)
    });
    format!("{:x}", digest)[..12].to_owned()
}

#[allow(clippy::too_many_arguments)]
async fn record(
    s: &Scene,
    token: &str,
    persona: &str,
    operation: &str,
    allowed: &[&str],
    doc: &str,
    vars: Value,
    mismatches: &mut Vec<String>,
) {
    let (_, body) = s.app.post_as(token, doc, vars).await;
    let denied = body["errors"].as_array().is_some_and(|errors| {
        errors.iter().any(|e| {
            e["extensions"]["code"] == "FORBIDDEN" || e["extensions"]["code"] == "UNAUTHENTICATED"
        })
    });
    let expected_allowed = allowed.contains(&persona);
    if denied == expected_allowed {
        mismatches.push(format!(
            "{persona} {operation}: denied={denied}, expected allowed={expected_allowed}: {body}"
        ));
    }
}

#[tokio::test]
async fn only_enrolled_students_teachers_of_the_course_and_admins_link_it() {
    let s = scene(Backend::Sqlite).await;
    let (_, outsider) = s
        .app
        .user_with_role("outsider@uni.edu", RoleName::Student)
        .await;
    let (_, other_teacher) = s
        .app
        .user_with_role("other.teacher@uni.edu", RoleName::Teacher)
        .await;
    for (token, slug) in [
        (&outsider, "outsider-app"),
        (&other_teacher, "teacher2-app"),
    ] {
        let (_, body) = s
            .app
            .post_as(token, CREATE, json!({ "input": project_input(&s, slug) }))
            .await;
        assert_eq!(first_code(&body), "FORBIDDEN", "{slug}: {body}");
    }
    for (token, slug) in [(&s.teacher, "teacher-app"), (&s.admin, "admin-app")] {
        s.app
            .data_as(token, CREATE, json!({ "input": project_input(&s, slug) }))
            .await;
    }
}

#[tokio::test]
async fn deleting_a_project_deletes_its_files() {
    let s = scene(Backend::Sqlite).await;
    let image = upload_id(&s.app, &s.owner, "logo.png", "image/png", PNG.to_vec()).await;
    let mut input = project_input(&s, "doomed-app");
    input["imageFileId"] = json!(image);
    let created = s
        .app
        .data_as(&s.owner, CREATE, json!({ "input": input }))
        .await;
    let project = created["createProject"]["id"].clone();
    let stage = s
        .app
        .data_as(
            &s.owner,
            "mutation($p: ID!) { createStage(input: {projectId: $p, name: \"S\"}) { id } }",
            json!({ "p": project }),
        )
        .await;
    let file = upload_id(&s.app, &s.owner, "a.txt", "text/plain", b"a".to_vec()).await;
    s.app
        .data_as(
            &s.owner,
            "mutation($s: ID!, $f: ID!) { attachStageFile(stageId: $s, fileId: $f) { id } }",
            json!({ "s": stage["createStage"]["id"], "f": file }),
        )
        .await;
    let (_, refused) = s
        .app
        .post_as(
            &s.collaborator,
            "mutation($p: ID!) { deleteProject(id: $p) }",
            json!({ "p": project }),
        )
        .await;
    assert_eq!(first_code(&refused), "FORBIDDEN");
    s.app
        .data_as(
            &s.owner,
            "mutation($p: ID!) { deleteProject(id: $p) }",
            json!({ "p": project }),
        )
        .await;
    let rows = entities::projects::file::Entity::find()
        .count(&*s.app.state.databases.projects)
        .await
        .expect("count");
    assert_eq!(rows, 0);
    let stored = std::fs::read_dir(s.app.databases.data_dir().join("files"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(stored, 0);
    let gone = s
        .app
        .client
        .get(s.app.url(&format!("/files/{image}")))
        .send()
        .await
        .expect("sent");
    assert_eq!(gone.status(), 404);
}

#[tokio::test]
async fn concurrent_ratings_by_one_user_leave_one_row_and_no_error() {
    for backend in backends() {
        let s = scene(backend).await;
        let project = create_project(&s, "rated-app").await;
        let rate =
            "mutation($p: ID!, $n: Int!) { rateProject(projectId: $p, stars: $n) { stars } }";
        let calls = (1..=10).map(|n| {
            s.app
                .post_as(&s.other, rate, json!({ "p": project, "n": 1 + n % 5 }))
        });
        for (_, body) in futures_util::future::join_all(calls).await {
            assert!(body.get("errors").is_none(), "{backend:?}: {body}");
        }
        let rows = entities::projects::rating::Entity::find()
            .count(&*s.app.state.databases.projects)
            .await
            .expect("count");
        assert_eq!(rows, 1, "{backend:?}");
        s.app.stop().await;
    }
}

#[tokio::test]
async fn deployments_come_newest_first_and_limited_per_project() {
    for backend in backends() {
        let s = scene(backend).await;
        let first = create_project(&s, "deploy-one").await;
        let second = create_project(&s, "deploy-two").await;
        let db = &s.app.state.databases.projects;
        for (project, commits) in [
            (&first, ["aaa1111", "bbb2222", "ccc3333"]),
            (&second, ["ddd4444", "eee5555", "fff6666"]),
        ] {
            for commit in commits {
                let payload = deploy::Payload {
                    project_id: project.parse().expect("an id"),
                    slug: "deploy-x".into(),
                    repository_url: "https://git.example.edu/x.git".into(),
                    container_port: 8080,
                    static_path: None,
                    source_deployment: None,
                };
                deploy::queue::record(
                    db,
                    &payload,
                    1,
                    entities::projects::enums::JobStatus::Succeeded,
                    Some(commit.to_owned()),
                )
                .await
                .expect("recorded");
            }
        }
        let data = s
            .app
            .data_as(&s.owner, "{ projects(first: 10) { edges { node { slug deployments(first: 2) { commit status successful } } } } }", json!({}))
            .await;
        let edges = data["projects"]["edges"].as_array().expect("edges");
        assert_eq!(
            edges[0]["node"]["deployments"],
            json!([
                { "commit": "ccc3333", "status": "SUCCEEDED", "successful": true },
                { "commit": "bbb2222", "status": "SUCCEEDED", "successful": true },
            ]),
            "{backend:?}"
        );
        assert_eq!(edges[1]["node"]["deployments"][0]["commit"], "fff6666");
        s.app.stop().await;
    }
}
