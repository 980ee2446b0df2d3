//! Uploads and the files a project keeps.

use super::*;

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
    let stage = s.create_stage(&project, "S").await;
    let file = upload_id(&s.app, &s.owner, "a.txt", "text/plain", b"a".to_vec()).await;
    s.attach(&stage, &file).await;
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
