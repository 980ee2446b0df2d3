//! Who sees which user fields, and paging and searching users.

use super::*;

#[tokio::test]
async fn others_see_the_public_card_and_staff_see_everything() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (target, own) = app.user_with_role("fay@uni.edu", RoleName::Student).await;
    let (_, other) = app.user_with_role("gus@uni.edu", RoleName::Student).await;
    let (_, support) = app.user_with_role("help@uni.edu", RoleName::Support).await;
    let query = "query($id: ID!) { user(id: $id) { username email } }";
    let vars = json!({ "id": target.to_string() });

    let (_, body) = app.post_as(&other, query, vars.clone()).await;
    assert_eq!(body["data"]["user"]["username"], "fay");
    assert_eq!(first_code(&body), "FORBIDDEN");
    assert_eq!(body["errors"][0]["path"], json!(["user", "email"]));

    assert_eq!(
        app.data_as(&own, query, vars.clone()).await["user"]["email"],
        "fay@uni.edu"
    );
    assert_eq!(
        app.data_as(&support, query, vars).await["user"]["email"],
        "fay@uni.edu"
    );

    let (_, anonymous) = app.post(query, json!({ "id": target.to_string() })).await;
    assert_eq!(first_code(&anonymous), "UNAUTHENTICATED");
}

/// The students' emails, read two at a time by cursor.
async fn every_student_page_by_page(app: &TestApp, admin: &str, backend: Backend) -> Vec<String> {
    let page = "query($after: String) { users(first: 2, after: $after, filter: {role: STUDENT}) { totalCount pageInfo { hasNextPage endCursor } edges { node { email } } } }";
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let data = app.data_as(admin, page, json!({ "after": after })).await;
        let users = &data["users"];
        assert_eq!(users["totalCount"], 5, "{backend:?}");
        for edge in users["edges"].as_array().expect("edges") {
            seen.push(edge["node"]["email"].as_str().expect("email").to_owned());
        }
        if users["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = users["pageInfo"]["endCursor"].clone();
    }
    seen
}

#[tokio::test]
async fn users_page_by_cursor_and_filter_by_role_and_text() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let (_, admin) = app.user_with_role("admin@uni.edu", RoleName::Admin).await;
        for n in 0..5 {
            app.user_with_role(&format!("student{n}@uni.edu"), RoleName::Student)
                .await;
        }
        app.user_with_role("teacher@uni.edu", RoleName::Teacher)
            .await;
        let seen = every_student_page_by_page(&app, &admin, backend).await;
        assert_eq!(seen.len(), 5);
        assert!(seen.iter().all(|e| e.starts_with("student")));

        let search = app
            .data_as(
                &admin,
                "{ users(first: 10, filter: {search: \"TEACH\"}) { edges { node { email } } } }",
                json!({}),
            )
            .await;
        assert_eq!(
            search["users"]["edges"][0]["node"]["email"],
            "teacher@uni.edu"
        );
        // `_` and `%` are matched literally, on both backends.
        app.user_with_role("lit_x@uni.edu", RoleName::Student).await;
        app.user_with_role("litax@uni.edu", RoleName::Student).await;
        for (search, expected) in [("lit_", 1), ("lit%", 0), ("lit", 2)] {
            let found = app
                .data_as(
                    &admin,
                    "query($s: String!) { users(first: 10, filter: { search: $s }) { totalCount } }",
                    json!({ "s": search }),
                )
                .await;
            assert_eq!(
                found["users"]["totalCount"], expected,
                "{backend:?} {search}"
            );
        }
        let (_, too_many) = app
            .post_as(&admin, "{ users(first: 101) { totalCount } }", json!({}))
            .await;
        assert_eq!(first_code(&too_many), "BAD_USER_INPUT");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_search_by_non_staff_never_matches_emails_and_only_teachers_are_listed_by_role() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (_, admin) = app.user_with_role("admin@uni.edu", RoleName::Admin).await;
    let (_, student) = app.user_with_role("plain@uni.edu", RoleName::Student).await;
    // Her email holds a word that neither her username nor her names hold.
    let (_, _) = app
        .user_with_role("zebra@hidden-faculty.edu", RoleName::Student)
        .await;
    app.user_with_role("teacher@uni.edu", RoleName::Teacher)
        .await;
    let search = "{ users(first: 10, filter: { search: \"hidden\" }) { totalCount } }";
    let (_, staff_sees) = app.post_as(&admin, search, json!({})).await;
    let (_, student_sees) = app.post_as(&student, search, json!({})).await;
    // The staff's search reaches the email; a student's does not.
    let usernames = app
        .data_as(
            &admin,
            "{ users(first: 10) { nodes { username email } } }",
            json!({}),
        )
        .await;
    let zebra = usernames["users"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .find(|n| n["email"] == "zebra@hidden-faculty.edu")
        .expect("listed")
        .clone();
    assert!(
        !zebra["username"]
            .as_str()
            .unwrap_or_default()
            .contains("hidden"),
        "the test needs a username without the word: {zebra}"
    );
    assert_eq!(staff_sees["data"]["users"]["totalCount"], 1, "{staff_sees}");
    assert_eq!(
        student_sees["data"]["users"]["totalCount"], 0,
        "{student_sees}"
    );

    // By role: teachers for everyone (a teacher picker), any other role for staff.
    let by_role =
        |role: &str| format!("{{ users(first: 10, filter: {{ role: {role} }}) {{ totalCount }} }}");
    let (_, teachers) = app.post_as(&student, &by_role("TEACHER"), json!({})).await;
    assert_eq!(teachers["data"]["users"]["totalCount"], 1, "{teachers}");
    for role in ["STUDENT", "ADMIN", "SUPPORT"] {
        let (_, refused) = app.post_as(&student, &by_role(role), json!({})).await;
        assert_eq!(first_code(&refused), "FORBIDDEN", "{role}: {refused}");
        let (_, allowed) = app.post_as(&admin, &by_role(role), json!({})).await;
        assert!(allowed.get("errors").is_none(), "{role}: {allowed}");
    }
    app.stop().await;
}
