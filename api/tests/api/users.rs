//! Users and authentication through real HTTP: Google sign-in against a key set served
//! on loopback, our tokens, roles read per request, the authorization table.

use api::users::{authz, model::RoleName};
use futures_util::{SinkExt, StreamExt};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

use crate::{
    google::{self, FakeGoogle},
    helpers::{
        Backend, TestApp, Who, assert_spec_covers, backends, first_code, refused_for_caller,
        spec_allows, unique_tag,
    },
};

const SIGN_IN: &str = "mutation($t: String!) { signInWithGoogle(idToken: $t) { accessToken refreshToken expiresIn user { id email roles } } }";

async fn app_with_google(backend: Backend) -> (TestApp, FakeGoogle) {
    let google = FakeGoogle::start().await;
    let app = TestApp::spawn_with(backend, &google.flags()).await;
    (app, google)
}

async fn sign_in(app: &TestApp, google: &FakeGoogle, email: &str) -> Value {
    app.data(SIGN_IN, json!({ "t": google.id_token(email) }))
        .await["signInWithGoogle"]
        .clone()
}

#[tokio::test]
async fn first_google_sign_in_creates_a_student_and_its_tokens_work() {
    for backend in backends() {
        let (app, google) = app_with_google(backend).await;
        let first = sign_in(&app, &google, "Ana.Diaz@Uni.edu").await;
        assert_eq!(first["user"]["email"], "ana.diaz@uni.edu");
        assert_eq!(first["user"]["roles"], json!(["STUDENT"]));
        let token = first["accessToken"].as_str().expect("a token");
        let me = app
            .data_as(
                token,
                "{ me { id firstName lastName pictureUrl email roles } }",
                json!({}),
            )
            .await;
        assert_eq!(me["me"]["firstName"], "Ana");
        assert_eq!(me["me"]["id"], first["user"]["id"]);

        let second = sign_in(&app, &google, "Ana.Diaz@Uni.edu").await;
        assert_eq!(
            second["user"]["id"], first["user"]["id"],
            "{backend:?}: the same user signs in again"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn every_bad_id_token_is_unauthenticated_and_creates_nobody() {
    let (app, google) = app_with_google(Backend::Sqlite).await;
    let email = "mallory@uni.edu";
    let claims = google.claims(email);
    let now = jsonwebtoken::get_current_timestamp();
    let with = |key: &str, value: Value| {
        let mut claims = claims.clone();
        claims[key] = value;
        claims
    };
    let cases: Vec<(&str, String)> = vec![
        (
            "wrong audience",
            google.sign(&with("aud", json!("someone-else")), google::KID),
        ),
        (
            "wrong issuer",
            google.sign(&with("iss", json!("https://evil.example")), google::KID),
        ),
        (
            "expired",
            google.sign(&with("exp", json!(now - 600)), google::KID),
        ),
        (
            "future not-before",
            google.sign(&with("nbf", json!(now + 600)), google::KID),
        ),
        (
            "tampered signature",
            google::tampered(&google.id_token(email)),
        ),
        ("alg none", google::unsigned(&claims)),
        (
            "HS256 signed with the public key",
            google::hs256_with_public_key(&google, &claims),
        ),
        ("unknown key id", google.sign(&claims, "some-other-key")),
        ("malformed", "not.a.token".to_owned()),
        (
            "unverified email",
            google.sign(&with("email_verified", json!(false)), google::KID),
        ),
    ];
    for (case, token) in cases {
        let (status, body) = app.post(SIGN_IN, json!({ "t": token })).await;
        assert_eq!(status, 200, "{case}");
        assert_eq!(first_code(&body), "UNAUTHENTICATED", "{case}: {body}");
    }
    let count = entities::users::user::Entity::find()
        .count(&*app.state.databases.users)
        .await
        .expect("count users");
    assert_eq!(count, 0, "no bad token created a user");
}

#[tokio::test]
async fn sign_out_revokes_every_token_of_the_user() {
    for backend in backends() {
        let (app, google) = app_with_google(backend).await;
        let signed_in = sign_in(&app, &google, "bo@uni.edu").await;
        let access = signed_in["accessToken"].as_str().expect("token");
        let refresh = signed_in["refreshToken"].as_str().expect("token");
        let other_session = sign_in(&app, &google, "bo@uni.edu").await;

        app.data_as(access, "mutation { signOut }", json!({})).await;
        let (_, body) = app.post_as(access, "{ me { id } }", json!({})).await;
        assert_eq!(first_code(&body), "UNAUTHENTICATED", "{backend:?}");
        let other = other_session["accessToken"].as_str().expect("token");
        let (_, body) = app.post_as(other, "{ me { id } }", json!({})).await;
        assert_eq!(first_code(&body), "UNAUTHENTICATED", "every session ends");
        let (_, body) = app
            .post(
                "mutation($r: String!) { refreshToken(refreshToken: $r) { accessToken } }",
                json!({ "r": refresh }),
            )
            .await;
        assert_eq!(first_code(&body), "UNAUTHENTICATED");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_refresh_token_buys_a_new_pair_and_an_access_token_does_not() {
    let (app, google) = app_with_google(Backend::Sqlite).await;
    let signed_in = sign_in(&app, &google, "cy@uni.edu").await;
    let refresh =
        "mutation($r: String!) { refreshToken(refreshToken: $r) { accessToken user { email } } }";
    let data = app
        .data(refresh, json!({ "r": signed_in["refreshToken"] }))
        .await;
    let access = data["refreshToken"]["accessToken"].as_str().expect("token");
    app.data_as(access, "{ me { id } }", json!({})).await;
    let (_, body) = app
        .post(refresh, json!({ "r": signed_in["accessToken"] }))
        .await;
    assert_eq!(first_code(&body), "UNAUTHENTICATED");
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_replayed_one_ends_every_session() {
    for backend in backends() {
        let (app, google) = app_with_google(backend).await;
        let first = sign_in(&app, &google, "rot@uni.edu").await;
        let other_device = sign_in(&app, &google, "rot@uni.edu").await;
        let refresh =
            "mutation($r: String!) { refreshToken(refreshToken: $r) { accessToken refreshToken } }";
        // Each use returns a new refresh token; the new one works, in a chain.
        let second = app
            .data(refresh, json!({ "r": first["refreshToken"] }))
            .await["refreshToken"]
            .clone();
        assert_ne!(second["refreshToken"], first["refreshToken"]);
        let third = app
            .data(refresh, json!({ "r": second["refreshToken"] }))
            .await["refreshToken"]
            .clone();
        let third_access = third["accessToken"].as_str().expect("a token").to_owned();
        app.data_as(&third_access, "{ me { id } }", json!({})).await;

        // The first token again (stolen and replayed): refused, and every session of
        // the user ends, the other device's included.
        let (_, replayed) = app
            .post(refresh, json!({ "r": first["refreshToken"] }))
            .await;
        assert_eq!(
            first_code(&replayed),
            "UNAUTHENTICATED",
            "{backend:?}: {replayed}"
        );
        let message = replayed["errors"][0]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(message.contains("already used"), "{message}");
        for (what, token) in [
            ("the latest access token", third_access.clone()),
            (
                "the other device's access token",
                other_device["accessToken"]
                    .as_str()
                    .expect("a token")
                    .to_owned(),
            ),
        ] {
            let (status, body) = app.post_as(&token, "{ me { id } }", json!({})).await;
            assert_eq!(status, 401, "{backend:?}: {what}: {body}");
        }
        let (_, latest) = app
            .post(refresh, json!({ "r": third["refreshToken"] }))
            .await;
        assert_eq!(
            first_code(&latest),
            "UNAUTHENTICATED",
            "{backend:?}: {latest}"
        );
        // Signing in again works.
        let again = sign_in(&app, &google, "rot@uni.edu").await;
        app.data_as(
            again["accessToken"].as_str().expect("a token"),
            "{ me { id } }",
            json!({}),
        )
        .await;
        app.stop().await;
    }
}

#[tokio::test]
async fn a_promotion_holds_on_the_next_request_with_the_same_token() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let (_, student) = app.user_with_role("dee@uni.edu", RoleName::Student).await;
        let (_, support) = app.user_with_role("staff@uni.edu", RoleName::Support).await;
        let before = app.data_as(&student, "{ me { roles } }", json!({})).await;
        assert_eq!(before["me"]["roles"], json!(["STUDENT"]));

        let promoted = app
            .data_as(
                &support,
                "mutation { promoteToTeacher(emails: [\"DEE@uni.edu\", \"ghost@uni.edu\"]) { promoted { email } unknownEmails } }",
                json!({}),
            )
            .await;
        assert_eq!(
            promoted["promoteToTeacher"]["promoted"][0]["email"],
            "dee@uni.edu"
        );
        assert_eq!(
            promoted["promoteToTeacher"]["unknownEmails"],
            json!(["ghost@uni.edu"])
        );

        let after = app.data_as(&student, "{ me { roles } }", json!({})).await;
        assert_eq!(
            after["me"]["roles"],
            json!(["STUDENT", "TEACHER"]),
            "{backend:?}"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn a_deactivated_users_token_stops_working_at_once() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (student_id, student) = app.user_with_role("eve@uni.edu", RoleName::Student).await;
    let (_, admin) = app.user_with_role("root@uni.edu", RoleName::Admin).await;
    app.data_as(&student, "{ me { id } }", json!({})).await;
    app.data_as(
        &admin,
        "mutation($id: ID!) { setUserActive(userId: $id, active: false) { id } }",
        json!({ "id": student_id.to_string() }),
    )
    .await;
    let (status, body) = app.post_as(&student, "{ me { id } }", json!({})).await;
    assert_eq!(first_code(&body), "UNAUTHENTICATED");
    assert_eq!(status, 401, "refused before execution: {body}");
    // Reactivated: the tokens issued before the deactivation stay dead.
    app.data_as(
        &admin,
        "mutation($id: ID!) { setUserActive(userId: $id, active: true) { id } }",
        json!({ "id": student_id.to_string() }),
    )
    .await;
    let (status, body) = app.post_as(&student, "{ me { id } }", json!({})).await;
    assert_eq!(
        (status.as_u16(), first_code(&body)),
        (401, "UNAUTHENTICATED"),
        "{body}"
    );
}

#[tokio::test]
async fn a_present_but_invalid_token_is_refused_with_401_never_served_as_anonymous() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (_, token) = app.user_with_role("kim@uni.edu", RoleName::Student).await;
    // `roles` is open to anyone: a bad token must not quietly become anonymous.
    let send = |authorization: String| {
        app.client
            .post(app.url("/graphql"))
            .header("authorization", authorization)
            .header("accept", "application/graphql-response+json")
            .json(&json!({ "query": "{ roles { name } me { username } }" }))
            .send()
    };
    for bad in [
        "Bearer not-a-token".to_owned(),
        format!("Bearer {token}x"),
        format!("Basic {token}"),
        "Bearer ".to_owned(),
    ] {
        let response = send(bad.clone()).await.expect("answers");
        assert_eq!(response.status(), 401, "{bad}");
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer error=\"invalid_token\""
        );
        let body: Value = response.json().await.expect("json");
        assert_eq!(first_code(&body), "UNAUTHENTICATED", "{bad}: {body}");
        assert!(body.get("data").is_none(), "nothing ran: {body}");
    }
    // The scheme's case does not matter.
    for scheme in ["bearer", "BEARER", "Bearer", "bEaReR"] {
        let response = send(format!("{scheme} {token}")).await.expect("answers");
        assert_eq!(response.status(), 200, "{scheme}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["data"]["me"]["username"], "kim", "{scheme}: {body}");
    }
    // Over WebSocket, bad credentials in connection_init close the socket with 4403.
    let mut request = format!("ws://{}/graphql/ws", app.addr)
        .into_client_request()
        .expect("a request");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().expect("a header"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("connected");
    let init =
        json!({ "type": "connection_init", "payload": { "Authorization": "Bearer forged" } });
    socket
        .send(Message::text(init.to_string()))
        .await
        .expect("sent");
    let closed = loop {
        match socket.next().await {
            Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
            Some(Ok(Message::Text(text))) => panic!("expected a close, got {text}"),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => break None,
        }
    };
    assert_eq!(closed, Some(4403));
    app.stop().await;
}

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
        let page = "query($after: String) { users(first: 2, after: $after, filter: {role: STUDENT}) { totalCount pageInfo { hasNextPage endCursor } edges { node { email } } } }";
        let mut seen = Vec::new();
        let mut after = Value::Null;
        loop {
            let data = app.data_as(&admin, page, json!({ "after": after })).await;
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

/// One call of each operation of the users domain, with arguments that pass validation.
fn call_of(operation: &str, ctx: &CallContext) -> (String, Value) {
    let target = ctx.target_id.to_string();
    let (document, variables) = match operation {
        "roles" => ("{ roles { name } }", json!({})),
        "databaseEngines" => ("{ databaseEngines { name } }", json!({})),
        "me" => ("{ me { id } }", json!({})),
        "user" => (
            "query($id: ID!) { user(id: $id) { id } }",
            json!({ "id": target }),
        ),
        "users" => ("{ users(first: 5) { totalCount } }", json!({})),
        "users(filter.role: TEACHER)" => (
            "{ users(first: 5, filter: { role: TEACHER }) { totalCount } }",
            json!({}),
        ),
        "users(filter.role)" => (
            "{ users(first: 5, filter: { role: ADMIN }) { totalCount } }",
            json!({}),
        ),
        "usersByEmails" => (
            "{ usersByEmails(emails: [\"x@uni.edu\"]) { notFound } }",
            json!({}),
        ),
        "myStudentDatabases" => ("{ myStudentDatabases { id } }", json!({})),
        "signInWithGoogle" => (SIGN_IN, json!({ "t": ctx.id_token })),
        "refreshToken" => (
            "mutation($r: String!) { refreshToken(refreshToken: $r) { accessToken } }",
            json!({ "r": ctx.refresh_token }),
        ),
        "signOut" => ("mutation { signOut }", json!({})),
        "updateMyProfile" => (
            "mutation { updateMyProfile(input: {firstName: \"New\"}) { id } }",
            json!({}),
        ),
        "promoteToTeacher" => (
            "mutation { promoteToTeacher(emails: [\"nobody@uni.edu\"]) { unknownEmails } }",
            json!({}),
        ),
        "grantRole" => (
            "mutation($id: ID!) { grantRole(userId: $id, role: SUPPORT) { id } }",
            json!({ "id": target }),
        ),
        "revokeRole" => (
            "mutation($id: ID!) { revokeRole(userId: $id, role: SUPPORT) { id } }",
            json!({ "id": target }),
        ),
        "setUserActive" => (
            "mutation($id: ID!) { setUserActive(userId: $id, active: true) { id } }",
            json!({ "id": target }),
        ),
        "createDatabaseAccount" => (
            "mutation { createDatabaseAccount(password: \"Secret123\") }",
            json!({}),
        ),
        "createStudentDatabase" => (
            "mutation { createStudentDatabase(name: \"some_db\", engine: POSTGRESQL) { id } }",
            json!({}),
        ),
        "deleteStudentDatabase" => (
            "mutation { deleteStudentDatabase(id: \"999999\") }",
            json!({}),
        ),
        other => panic!("the authorization test has no call for `{other}`: add one"),
    };
    (document.to_owned(), variables)
}

struct CallContext {
    target_id: i32,
    id_token: String,
    refresh_token: String,
}

/// domain.md §1: sign-in is open; "admin or support staff promote users to TEACHER";
/// a user creates their own database account and databases, "only the owner deletes";
/// an email is private (who holds a role other than TEACHER is for staff; the teacher
/// picker is public to signed-in users); roles and activity are the admins'.
const USERS_SPEC: &[(&str, Who)] = &[
    ("roles", Who::Anyone),
    ("databaseEngines", Who::Anyone),
    ("me", Who::SignedIn),
    ("user", Who::SignedIn),
    ("users", Who::SignedIn),
    ("users(filter.role: TEACHER)", Who::SignedIn),
    ("users(filter.role)", Who::Staff),
    ("usersByEmails", Who::StaffAndTeachers),
    ("myStudentDatabases", Who::SignedIn),
    ("signInWithGoogle", Who::Anyone),
    ("refreshToken", Who::Anyone),
    ("signOut", Who::SignedIn),
    ("updateMyProfile", Who::SignedIn),
    ("promoteToTeacher", Who::Staff),
    ("grantRole", Who::Admins),
    ("revokeRole", Who::Admins),
    ("setUserActive", Who::Admins),
    ("createDatabaseAccount", Who::SignedIn),
    ("createStudentDatabase", Who::SignedIn),
    ("deleteStudentDatabase", Who::SignedIn),
];

#[tokio::test]
async fn every_operation_allows_exactly_whom_the_spec_says() {
    let (app, google) = app_with_google(Backend::Sqlite).await;
    let (target_id, _) = app
        .user_with_role("target@uni.edu", RoleName::Student)
        .await;
    let personas = app.personas().await;
    assert_spec_covers(USERS_SPEC, authz::TABLE);
    // signOut revokes the persona's token: it goes last.
    let mut operations: Vec<(&str, Who)> = USERS_SPEC.to_vec();
    operations.sort_by_key(|(name, _)| *name == "signOut");
    let mut mismatches = Vec::new();
    for (persona, role, token) in &personas {
        for (operation, who) in &operations {
            let signed_in =
                sign_in(&app, &google, &format!("signer-{}@uni.edu", unique_tag())).await;
            let ctx = CallContext {
                target_id,
                id_token: google.id_token(&format!("new-{}@uni.edu", unique_tag())),
                refresh_token: signed_in["refreshToken"]
                    .as_str()
                    .expect("token")
                    .to_owned(),
            };
            let (document, variables) = call_of(operation, &ctx);
            let (_, body) = match &token {
                Some(token) => app.post_as(token, &document, variables).await,
                None => app.post(&document, variables).await,
            };
            let allowed = !refused_for_caller(&body);
            let expected = spec_allows(*who, *role);
            if allowed != expected {
                mismatches.push(format!(
                    "{persona} {operation}: allowed={allowed}, the spec says {expected}: {body}"
                ));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[tokio::test]
async fn an_operator_bootstraps_the_first_admin_without_google() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let run = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_api"))
            .args(args)
            .env("DATA_DIR", dir.path())
            .env_remove("USERS_DATABASE_URL")
            .env_remove("JWT_SECRET")
            .env("RUST_LOG", "error")
            .output()
            .expect("the binary runs");
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    };
    let created = run(&[
        "user",
        "create",
        "--email",
        "Root@Uni.edu",
        "--role",
        "admin",
    ]);
    assert!(created.starts_with("created user"), "{created}");
    let token = run(&["token", "--email", "root@uni.edu"]);

    let config = api::config::Config::from_args([
        "api",
        "--bind",
        "127.0.0.1:0",
        "--data-dir",
        &dir.path().display().to_string(),
    ])
    .expect("flags parse");
    let app = api::app::build(config).await.expect("the app starts");
    let addr = app.local_addr().expect("addr");
    tokio::spawn(app.serve(std::future::pending()));
    let body: Value = reqwest::Client::new()
        .post(format!("http://{addr}/graphql"))
        .bearer_auth(&token)
        .json(&json!({ "query": "{ me { email roles } }" }))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(body["data"]["me"]["roles"], json!(["ADMIN"]), "{body}");
}
