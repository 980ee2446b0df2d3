//! Google sign-in, our token pair, sign-out, refresh rotation, roles and deactivation read per request.

use super::*;

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

const REFRESH: &str =
    "mutation($r: String!) { refreshToken(refreshToken: $r) { accessToken refreshToken } }";

/// Each use returns a new refresh token and the new one works, in a chain: the
/// tokens after two refreshes, whose access token works.
async fn a_chain_of_two_refreshes(app: &TestApp, first: &Value) -> Value {
    let second = app
        .data(REFRESH, json!({ "r": first["refreshToken"] }))
        .await["refreshToken"]
        .clone();
    assert_ne!(second["refreshToken"], first["refreshToken"]);
    let third = app
        .data(REFRESH, json!({ "r": second["refreshToken"] }))
        .await["refreshToken"]
        .clone();
    let access = third["accessToken"].as_str().expect("a token");
    app.data_as(access, "{ me { id } }", json!({})).await;
    third
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_replayed_one_ends_every_session() {
    for backend in backends() {
        let (app, google) = app_with_google(backend).await;
        let first = sign_in(&app, &google, "rot@uni.edu").await;
        let other_device = sign_in(&app, &google, "rot@uni.edu").await;
        let third = a_chain_of_two_refreshes(&app, &first).await;
        let third_access = third["accessToken"].as_str().expect("a token").to_owned();

        // The first token again (stolen and replayed): refused, and every session of
        // the user ends, the other device's included.
        let (_, replayed) = app
            .post(REFRESH, json!({ "r": first["refreshToken"] }))
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
        let other_access = other_device["accessToken"].as_str().expect("a token");
        for (what, token) in [
            ("the latest access token", third_access.as_str()),
            ("the other device's access token", other_access),
        ] {
            let (status, body) = app.post_as(token, "{ me { id } }", json!({})).await;
            assert_eq!(status, 401, "{backend:?}: {what}: {body}");
        }
        let (_, latest) = app
            .post(REFRESH, json!({ "r": third["refreshToken"] }))
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
    assert_eq!(close_code_for_a_forged_token(&app).await, Some(4403));
    app.stop().await;
}

/// The close code of a graphql-transport-ws socket whose `connection_init` carries a
/// forged token.
async fn close_code_for_a_forged_token(app: &TestApp) -> Option<u16> {
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
    loop {
        match socket.next().await {
            Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
            Some(Ok(Message::Text(text))) => panic!("expected a close, got {text}"),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return None,
        }
    }
}
