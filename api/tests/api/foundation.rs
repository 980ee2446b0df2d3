//! The foundation: migrations on both backends, readiness, schema drift, start-up
//! failures, one query per domain, internal errors.

use migration::{Domain, Verb};
use sea_orm::{ConnectionTrait, Database, EntityTrait, PaginatorTrait};
use serde_json::json;

use crate::helpers::{Backend, TestApp, TestDatabases, backends, first_code};

fn all_applied(states: &[migration::MigrationState]) -> bool {
    !states.is_empty() && states.iter().all(|s| s.applied)
}

#[tokio::test]
async fn migrations_go_up_down_and_up_again_on_every_backend() {
    for backend in backends() {
        let databases = TestDatabases::new(backend);
        for domain in Domain::ALL {
            let url = databases.url(domain);
            let up = migration::run(domain, url, Verb::Up).await.expect("up");
            assert!(all_applied(&up), "{backend:?} {domain:?}: {up:?}");

            let again = migration::run(domain, url, Verb::Up)
                .await
                .expect("a second up");
            assert_eq!(
                again, up,
                "{backend:?} {domain:?}: a second up changes nothing"
            );

            let reset = migration::run(domain, url, Verb::Reset)
                .await
                .expect("reset");
            assert!(
                reset.iter().all(|s| !s.applied),
                "{backend:?} {domain:?}: {reset:?}"
            );

            let up = migration::run(domain, url, Verb::Up)
                .await
                .expect("up after reset");
            assert!(all_applied(&up), "{backend:?} {domain:?}: {up:?}");
        }
        // The seed rows went in exactly once.
        let users = Database::connect(databases.url(Domain::Users))
            .await
            .expect("connect");
        let roles = entities::users::role::Entity::find()
            .count(&users)
            .await
            .expect("count roles");
        assert_eq!(roles, 4, "{backend:?}");
        let projects = Database::connect(databases.url(Domain::Projects))
            .await
            .expect("connect");
        let tags = entities::projects::tag::Entity::find()
            .count(&projects)
            .await
            .expect("count tags");
        assert_eq!(tags, 11, "{backend:?}");
    }
}

#[tokio::test]
async fn down_rolls_back_only_the_last_migration() {
    let databases = TestDatabases::new(Backend::Sqlite);
    let url = databases.url(Domain::Users);
    migration::run(Domain::Users, url, Verb::Up)
        .await
        .expect("up");
    let after_down = migration::run(Domain::Users, url, Verb::Down)
        .await
        .expect("down");
    let applied: Vec<bool> = after_down.iter().map(|s| s.applied).collect();
    let (last, before) = applied.split_last().expect("migrations");
    assert!(!last && before.iter().all(|a| *a), "{applied:?}");
    assert!(before.len() >= 2, "{applied:?}");
}

#[tokio::test]
async fn postgres_databases_that_do_not_exist_are_created_by_concurrent_runs() {
    if !backends().contains(&Backend::Postgres) {
        return;
    }
    let databases = TestDatabases::new(Backend::Postgres);
    let url = databases.url(Domain::Projects).to_owned();
    let (a, b) = tokio::join!(
        migration::run(Domain::Projects, &url, Verb::Up),
        migration::run(Domain::Projects, &url, Verb::Up)
    );
    let (a, b) = (a.expect("first run"), b.expect("second run"));
    assert!(all_applied(&a) && a == b);
}

#[tokio::test]
async fn each_domain_answers_a_query_from_its_own_database_over_http() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let data = app
            .data(
                "{ roles { name } databaseEngines { name } subjectByCode(code: \"IS101\") { name } \
                 stageStatuses { name } tags(type: PROGRAMMING) { name type } }",
                json!({}),
            )
            .await;
        assert_eq!(
            data["roles"].as_array().map(Vec::len),
            Some(4),
            "{backend:?}"
        );
        assert_eq!(data["roles"][0]["name"], "STUDENT");
        assert_eq!(data["databaseEngines"][1]["name"], "MARIADB");
        assert_eq!(data["subjectByCode"], serde_json::Value::Null);
        assert_eq!(data["stageStatuses"][3]["name"], "COMPLETED");
        let tags = data["tags"].as_array().expect("a list");
        assert_eq!(tags.len(), 7);
        assert!(tags.iter().all(|t| t["type"] == "PROGRAMMING"));
        assert!(tags.iter().any(|t| t["name"] == "C#"));
        app.stop().await;
    }
}

#[tokio::test]
async fn a_service_validation_error_is_bad_user_input_naming_the_field() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (status, body) = app
        .post("{ subjectByCode(code: \"\") { id } }", json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(first_code(&body), "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "code");
}

#[tokio::test]
async fn readyz_is_ok_when_every_database_answers_and_is_current() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let response = app
            .client
            .get(app.url("/readyz"))
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.expect("json");
        assert_eq!(body["status"], "ready");
        assert_eq!(body["checks"]["projects"], "ok");
        let live = app
            .client
            .get(app.url("/livez"))
            .send()
            .await
            .expect("sent");
        assert_eq!(live.status(), 200);
        app.stop().await;
    }
}

#[tokio::test]
async fn readyz_is_503_naming_a_database_whose_migrations_are_not_current() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.state
        .databases
        .academic
        .execute_unprepared("DELETE FROM seaql_migrations")
        .await
        .expect("forget the academic migrations");
    let response = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["checks"]["users"], "ok");
    let academic = body["checks"]["academic"].as_str().expect("a reason");
    assert!(academic.contains("pending migrations"), "{academic}");
}

#[tokio::test]
async fn readyz_is_503_when_a_postgres_database_is_unreachable() {
    if !backends().contains(&Backend::Postgres) {
        return;
    }
    let app = TestApp::spawn(Backend::Postgres).await;
    app.databases.drop_database(Domain::Projects).await;
    let response = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["checks"]["users"], "ok");
    assert_ne!(body["checks"]["projects"], "ok");
}

async fn recorded_once_in_the_users_domain_only(app: &TestApp, backend: Backend) {
    let logged = entities::users::error_log::Entity::find()
        .all(&*app.state.databases.users)
        .await
        .expect("read error_logs");
    assert_eq!(logged.len(), 1, "{backend:?}");
    assert!(logged[0].detail.contains("roles"), "{:?}", logged[0].detail);
    assert!(
        logged[0].message.contains("roles"),
        "{:?}",
        logged[0].message
    );
    let academic = entities::academic::error_log::Entity::find()
        .count(&*app.state.databases.academic)
        .await
        .expect("read academic error_logs");
    assert_eq!(academic, 0, "recorded in its own domain only");
}

#[tokio::test]
async fn an_internal_error_is_recorded_in_its_domain_and_hidden_from_the_client() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let users = &app.state.databases.users;
        users
            .execute_unprepared("DROP TABLE user_roles")
            .await
            .expect("drop user_roles");
        users
            .execute_unprepared("DROP TABLE roles")
            .await
            .expect("drop roles");
        let (status, body) = app.post("{ roles { name } }", json!({})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(first_code(&body), "INTERNAL_SERVER_ERROR");
        // The same cause again and again is written once (per minute), and counted.
        for _ in 0..4 {
            let (_, again) = app.post("{ roles { name } }", json!({})).await;
            assert_eq!(first_code(&again), "INTERNAL_SERVER_ERROR");
        }
        let metrics = app.metrics().await;
        assert!(
            metrics.contains("gateway_internal_errors_total 5\n"),
            "{metrics}"
        );
        assert!(
            metrics.contains("gateway_internal_errors_recorded_total 1\n"),
            "{metrics}"
        );
        let message = body["errors"][0]["message"].as_str().expect("a message");
        assert_eq!(
            message, "internal server error",
            "no SQL reaches the client"
        );
        assert!(!body.to_string().contains("SELECT"));

        recorded_once_in_the_users_domain_only(&app, backend).await;
        app.stop().await;
    }
}

#[test]
fn schema_graphql_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema.graphql");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == api::graphql::sdl(),
        "schema.graphql differs from the code: regenerate it with `cargo run -- schema > schema.graphql`"
    );
}

fn run_api(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_api"));
    command
        .args(args)
        .current_dir(dir.path())
        .env("DATA_DIR", dir.path());
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("the binary runs")
}

#[test]
fn a_bad_bind_addr_stops_the_start_with_one_line_naming_it() {
    let output = run_api(&[], &[("BIND_ADDR", "not-an-address")]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("BIND_ADDR"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_bind_addr_in_use_stops_the_start_naming_it() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let output = run_api(&[], &[("BIND_ADDR", &addr)]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("BIND_ADDR"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_bad_number_stops_the_start_naming_the_variable() {
    let output = run_api(&[], &[("MAX_QUERY_DEPTH", "deep")]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("MAX_QUERY_DEPTH"), "{stderr}");
}

#[test]
fn the_schema_command_prints_the_sdl_without_any_database() {
    let output = run_api(
        &["schema"],
        &[("USERS_DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout), api::graphql::sdl());
}
