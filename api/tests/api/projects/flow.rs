//! The whole flow of the first system, variables, course links and input checks.

use super::*;

#[tokio::test]
async fn the_first_systems_whole_flow_reads_back_in_one_query() {
    for backend in backends() {
        let s = scene(backend).await;
        let image = upload_id(&s.app, &s.owner, "logo.png", "image/png", PNG.to_vec()).await;
        let project = create_with_image(&s, &image).await;
        let report = collaborator_works_on(&s, &project).await;
        files_are_served_to_whom_they_belong(&s, &report, &image).await;
        an_unrated_project_has_no_average(&s, &project).await;
        set_variables_and_rate(&s, &project).await;
        everything_reads_back_in_one_query(&s, &project, &image, backend).await;

        let reverse = s
            .app
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

/// The owner creates `team-alpha` with `image` and adds the collaborator; its id.
async fn create_with_image(s: &Scene, image: &str) -> String {
    let mut input = project_input(s, "team-alpha");
    input["imageFileId"] = json!(image);
    input["description"] = json!("A web app for the course");
    let created = s
        .app
        .data_as(&s.owner, CREATE, json!({ "input": input }))
        .await;
    let project = created["createProject"]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    s.add_collaborator(&project).await;
    project
}

/// The collaborator tags the project, adds a stage and attaches a report; the report's id.
async fn collaborator_works_on(s: &Scene, project: &str) -> String {
    let app = &s.app;
    let tags = app
        .data("{ tags(type: PROGRAMMING) { id name } }", json!({}))
        .await;
    let python = tags["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .find(|t| t["name"] == "Python")
        .expect("Python")["id"]
        .clone();
    app.data_as(
        &s.collaborator,
        "mutation($p: ID!, $t: ID!) { tagProject(projectId: $p, tagId: $t) { id } }",
        json!({ "p": project, "t": python }),
    )
    .await;
    let stage = app
        .data_as(
            &s.collaborator,
            "mutation($p: ID!) { createStage(input: {projectId: $p, name: \"Design\", status: IN_PROGRESS}) { id status } }",
            json!({ "p": project }),
        )
        .await;
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
        json!({ "s": stage["createStage"]["id"], "f": report }),
    )
    .await;
    report
}

/// A stage file is for signed-in users; a project image is public.
async fn files_are_served_to_whom_they_belong(s: &Scene, report: &str, image: &str) {
    let app = &s.app;
    let get = |id: &str, token: Option<&str>| {
        let request = app.client.get(app.url(&format!("/files/{id}")));
        let request = match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        async move { request.send().await.expect("sent") }
    };
    let download = get(report, Some(&s.other)).await;
    assert_eq!(download.status(), 200);
    assert_eq!(download.headers()["content-type"], "application/pdf");
    assert_eq!(
        download.bytes().await.expect("bytes").as_ref(),
        b"%PDF-1.4 report"
    );
    let anonymous = get(report, None).await;
    assert_eq!(
        anonymous.status(),
        401,
        "stage files are for signed-in users"
    );
    let image_download = get(image, None).await;
    assert_eq!(image_download.status(), 200, "project images are public");
    assert_eq!(image_download.bytes().await.expect("bytes").as_ref(), PNG);
}

async fn an_unrated_project_has_no_average(s: &Scene, project: &str) {
    let unrated = s
        .app
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
}

/// Owner then collaborator set `API_KEY`; `other` rates twice (4 then 2), the teacher 5.
async fn set_variables_and_rate(s: &Scene, project: &str) {
    let app = &s.app;
    let set = "mutation($p: ID!, $v: String!) { setEnvironmentVariable(projectId: $p, name: \"API_KEY\", value: $v) { name value } }";
    app.data_as(&s.owner, set, json!({ "p": project, "v": "first" }))
        .await;
    app.data_as(&s.collaborator, set, json!({ "p": project, "v": "second" }))
        .await;
    let rate =
        "mutation($p: ID!, $s: Int!) { rateProject(projectId: $p, stars: $s) { stars label } }";
    for (token, stars) in [(&s.other, 4), (&s.teacher, 5), (&s.other, 2)] {
        app.data_as(token, rate, json!({ "p": project, "s": stars }))
            .await;
    }
}

async fn everything_reads_back_in_one_query(
    s: &Scene,
    project: &str,
    image: &str,
    backend: Backend,
) {
    let all = s
        .app
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
