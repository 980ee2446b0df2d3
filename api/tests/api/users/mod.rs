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

mod directory;
mod permissions;
mod sessions;
mod viewer_cache;

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
