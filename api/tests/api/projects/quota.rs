//! A student owns at most MAX_PROJECTS_PER_STUDENT projects; staff are exempt.

#[tokio::test]
async fn a_student_owns_at_most_max_projects_and_staff_are_exempt() {
    let s = super::scene_with(
        crate::helpers::Backend::Sqlite,
        &["--max-projects-per-student", "2"],
    )
    .await;
    super::create_project(&s, "first-one").await;
    super::create_project(&s, "second-one").await;
    let input = super::project_input(&s, "third-one");
    let (_, body) = s
        .app
        .post_as(
            &s.owner,
            super::CREATE,
            serde_json::json!({ "input": input }),
        )
        .await;
    let error = &body["errors"][0]["extensions"];
    assert_eq!(error["code"], "LIMIT_REACHED", "{body}");
    assert_eq!(error["limit"], "MAX_PROJECTS_PER_STUDENT", "{body}");
    // Nothing half-written: the slug is still free.
    let free = s
        .app
        .data_as(
            &s.owner,
            "{ slugAvailable(slug: \"third-one\") }",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(free["slugAvailable"], true);
    // Staff are exempt.
    for n in 0..3 {
        let input = super::project_input(&s, &format!("staff-one-{n}"));
        s.app
            .data_as(
                &s.admin,
                super::CREATE,
                serde_json::json!({ "input": input }),
            )
            .await;
    }
}
