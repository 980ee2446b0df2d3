//! A request's work is bounded before it runs: the document's shape (fields after
//! fragment expansion, aliases, root fields, spreads, directives) and its estimated cost
//! (lists multiplied by their page size) are checked before any resolver, and what the
//! answer holds is bounded while it runs.

use serde_json::json;

use crate::helpers::{Backend, TestApp, first_code};

#[tokio::test]
async fn a_one_kilobyte_fragment_bomb_is_refused_at_once_and_runs_nothing() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    // F0 spreads F1 twice, F1 spreads F2 twice, …: 2^20 fields once expanded, in
    // under a kilobyte, anonymous.
    let mut query = String::from("{ ...F0 }");
    for i in 0..20 {
        query.push_str(&format!(
            " fragment F{i} on Query {{ ...F{n} ...F{n} }}",
            n = i + 1
        ));
    }
    query.push_str(" fragment F20 on Query { tags { name } }");
    assert!(query.len() < 1024, "{} bytes", query.len());
    let before = app.statements();
    let (status, body) = app.post(&query, json!({})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(first_code(&body), "QUERY_TOO_COMPLEX", "{body}");
    assert_eq!(app.statements(), before, "nothing ran");

    // With spreads allowed, the expanded count still refuses it (root fields first).
    let app = TestApp::spawn_with(Backend::Sqlite, &["--max-fragment-spreads", "1000"]).await;
    let (status, body) = app.post(&query, json!({})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(first_code(&body), "QUERY_TOO_COMPLEX", "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("MAX_ROOT_FIELDS"), "{message}");
}

#[tokio::test]
async fn typename_aliases_and_repeated_spreads_all_count_as_fields() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        &["--max-query-fields", "10", "--max-query-aliases", "100"],
    )
    .await;
    // 4 aliased __typename + 2 aliased lists, each with a fragment of 2 fields = 10:
    // allowed.
    let at_limit = "{ a: __typename b: __typename c: __typename d: __typename \
                    e: roles { ...R } f: roles { ...R } }  fragment R on Role { id name }";
    let (status, body) = app.post(at_limit, json!({})).await;
    assert_eq!(status, 200, "{body}");
    // One more __typename: refused, naming the setting.
    let over = at_limit.replacen("{ a:", "{ z: __typename a:", 1);
    let (status, body) = app.post(&over, json!({})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(first_code(&body), "QUERY_TOO_COMPLEX");
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("11 fields") && message.contains("MAX_QUERY_FIELDS"),
        "{message}"
    );
}

#[tokio::test]
async fn aliases_root_fields_directives_and_spreads_have_their_own_limits() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let cases = [
        (
            (0..31)
                .map(|i| format!("a{i}: __typename"))
                .collect::<Vec<_>>()
                .join(" "),
            "MAX_QUERY_ALIASES",
        ),
        ("__typename ".repeat(21), "MAX_ROOT_FIELDS"),
        (
            format!("tags {{ name }} ...F {}", "...F ".repeat(100)),
            "MAX_FRAGMENT_SPREADS",
        ),
    ];
    for (selection, setting) in cases {
        let query = if selection.contains("...F") {
            format!("{{ {selection} }} fragment F on Query {{ __typename }}")
        } else {
            format!("{{ {selection} }}")
        };
        let (status, body) = app.post(&query, json!({})).await;
        assert_eq!(status, 400, "{setting}: {body}");
        assert_eq!(first_code(&body), "QUERY_TOO_COMPLEX", "{setting}: {body}");
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(setting), "{setting}: {message}");
    }
    let directives = "{ __typename @skip(if: false) @include(if: true) @skip(if: false) @include(if: true) @skip(if: false) }";
    let (status, body) = app.post(directives, json!({})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(first_code(&body), "GRAPHQL_PARSE_FAILED", "{body}");
}

#[tokio::test]
async fn nested_lists_multiply_their_cost_and_an_anonymous_explosion_is_refused_before_sql() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    // 100 projects × 10 collaborators × 10 projects × 10 collaborators × …: a few
    // hundred bytes asking for billions of objects.
    let query = "{ projects(first: 100) { nodes { collaborators { projects { collaborators { \
                 projects { collaborators { projects { id } } } } } } } } }";
    let before = app.statements();
    let (status, body) = app.post(query, json!({})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(first_code(&body), "QUERY_TOO_COMPLEX", "{body}");
    assert_eq!(app.statements(), before, "refused before any resolver");
    // The same shape one level deep is an ordinary request (anonymous: refused by
    // authorization, not by cost).
    let (_, body) = app
        .post(
            "{ projects(first: 100) { nodes { collaborators { id } } } }",
            json!({}),
        )
        .await;
    assert_ne!(first_code(&body), "QUERY_TOO_COMPLEX", "{body}");
}

/// A course (of a new subject and teacher) with six students enrolled; its id.
async fn a_course_with_six_students(app: &TestApp, admin: &str) -> serde_json::Value {
    let (teacher_id, _) = app
        .user_with_role("teacher@uni.edu", api::users::model::RoleName::Teacher)
        .await;
    app.data_as(
        admin,
        "mutation { createSubjects(subjects: [{ code: \"LIM1\", name: \"Limits\" }]) { id } }",
        json!({}),
    )
    .await;
    let course = app
        .data_as(
            admin,
            "mutation($c: [CourseInput!]!) { createCourses(courses: $c) { id } }",
            json!({ "c": [{ "subjectCode": "LIM1", "teacherId": teacher_id.to_string(), "group": "A" }] }),
        )
        .await["createCourses"][0]["id"]
        .clone();
    let mut emails = Vec::new();
    for n in 0..6 {
        let email = format!("student{n}@uni.edu");
        app.user_with_role(&email, api::users::model::RoleName::Student)
            .await;
        emails.push(email);
    }
    app.data_as(
        admin,
        "mutation($c: ID!, $e: [String!]!) { enrollStudents(courseId: $c, emails: $e) { status } }",
        json!({ "c": course, "e": emails }),
    )
    .await;
    course
}

#[tokio::test]
async fn an_answer_holding_more_objects_than_allowed_fails_while_it_runs() {
    let app = TestApp::spawn_with(Backend::Sqlite, &["--max-result-objects", "6"]).await;
    let (_, admin) = app
        .user_with_role("admin@uni.edu", api::users::model::RoleName::Admin)
        .await;
    let course = a_course_with_six_students(&app, &admin).await;

    // Six students fit a budget of six, on every request: each has its own.
    for _ in 0..3 {
        let (_, body) = app
            .post_as(
                &admin,
                "query($c: ID!) { course(id: $c) { students { id } } }",
                json!({ "c": course }),
            )
            .await;
        assert_eq!(
            body["data"]["course"]["students"].as_array().map(Vec::len),
            Some(6),
            "{body}"
        );
    }
    // Asked for twice in one request: twelve, past the budget.
    let (_, body) = app
        .post_as(
            &admin,
            "query($c: ID!) { course(id: $c) { a: students { id } b: students { id } } }",
            json!({ "c": course }),
        )
        .await;
    assert_eq!(first_code(&body), "QUERY_TOO_COMPLEX", "{body}");
    assert_eq!(body["errors"][0]["path"][0], "course", "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("MAX_RESULT_OBJECTS"), "{message}");
}

#[tokio::test]
async fn mutations_and_sign_ins_past_their_rate_are_429_and_queries_are_not_limited() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        &[
            "--rate-limit-mutations-per-minute",
            "3",
            "--rate-limit-sign-in-per-minute",
            "2",
        ],
    )
    .await;
    let (_, ana) = app
        .user_with_role("ana@uni.edu", api::users::model::RoleName::Student)
        .await;
    let (_, ben) = app
        .user_with_role("ben@uni.edu", api::users::model::RoleName::Student)
        .await;
    let rename = "mutation { updateMyProfile(input: { firstName: \"Ana\" }) { id } }";
    for _ in 0..3 {
        let (status, body) = app.post_as(&ana, rename, json!({})).await;
        assert_eq!(status, 200, "{body}");
    }
    the_next_is_429_with_a_retry_after(&app, &ana, rename).await;
    // Her queries, and another user's mutations, go on.
    let (status, _) = app.post_as(&ana, "{ me { id } }", json!({})).await;
    assert_eq!(status, 200);
    let (status, _) = app.post_as(&ben, rename, json!({})).await;
    assert_eq!(status, 200);
    // Over WebSocket, her mutations count against the same budget.
    let mut socket = crate::deploys::subscribe_at(app.addr, &ana, rename, json!({})).await;
    let answer = crate::connections::answer_to(&mut socket, "1").await;
    assert_eq!(answer["type"], "error", "{answer}");
    assert_eq!(
        answer["payload"][0]["extensions"]["code"], "RATE_LIMITED",
        "{answer}"
    );

    // Sign-ins count per address, whatever they answer.
    let sign_in = "mutation { signInWithGoogle(idToken: \"not-a-google-token\") { accessToken } }";
    for _ in 0..2 {
        let (status, body) = app.post(sign_in, json!({})).await;
        assert_ne!(status, 429, "{body}");
    }
    // Hidden in a fragment, it still counts.
    let hidden = "mutation { ...S } fragment S on Mutation { signInWithGoogle(idToken: \"x\") { accessToken } }";
    let (status, body) = app.post(hidden, json!({})).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(first_code(&body), "RATE_LIMITED");
    // No proxy is trusted: a forwarded address changes nothing.
    let (status, _) = sign_in_from(&app, "198.51.100.9").await;
    assert_eq!(status, 429);
    app.stop().await;
}

/// Past the budget, a mutation is 429 `RATE_LIMITED` with a `Retry-After` of at most a
/// minute.
async fn the_next_is_429_with_a_retry_after(app: &TestApp, token: &str, query: &str) {
    let response = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 429);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("text")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry), "{retry}");
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(first_code(&body), "RATE_LIMITED", "{body}");
}

async fn sign_in_from(app: &TestApp, forwarded_for: &str) -> (u16, serde_json::Value) {
    let query = "mutation { signInWithGoogle(idToken: \"x\") { accessToken } }";
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_sign_in_budget() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        &[
            "--rate-limit-sign-in-per-minute",
            "1",
            "--trusted-proxies",
            "127.0.0.1,::1",
        ],
    )
    .await;
    let (status, body) = sign_in_from(&app, "198.51.100.1").await;
    assert_ne!(status, 429, "{body}");
    let (status, body) = sign_in_from(&app, "198.51.100.2").await;
    assert_ne!(status, 429, "another client: {body}");
    let (status, body) = sign_in_from(&app, "198.51.100.1").await;
    assert_eq!(status, 429, "{body}");
    // A client cannot pick its address: the hop the proxy appended counts.
    let (status, body) = sign_in_from(&app, "203.0.113.5, 198.51.100.2").await;
    assert_eq!(status, 429, "{body}");
    app.stop().await;
}
