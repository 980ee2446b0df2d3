//! Student databases provisioned for real on the PostgreSQL and MariaDB servers of this
//! machine (TEST_DATABASE_URL, TEST_MARIADB_URL).

use api::users::model::RoleName;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, EntityTrait, PaginatorTrait};
use serde_json::json;

use crate::helpers::{Backend, TestApp, first_code, unique_tag};

/// Admin URLs of the two student database servers; in CI both must be there.
fn servers() -> Option<(String, String)> {
    match (
        std::env::var("TEST_DATABASE_URL"),
        std::env::var("TEST_MARIADB_URL"),
    ) {
        (Ok(postgres), Ok(mariadb)) => Some((postgres.trim_end_matches('/').to_owned(), mariadb)),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!(
                "CI=true but TEST_DATABASE_URL or TEST_MARIADB_URL is missing: the student database tests would not run"
            )
        }
        _ => None,
    }
}

fn with_credentials(server: &str, login: &str, password: &str, database: &str) -> String {
    let mut url = url::Url::parse(server).expect("a server URL");
    url.set_username(login).expect("a username");
    url.set_password(Some(password)).expect("a password");
    url.set_path(&format!("/{database}"));
    url.to_string()
}

async fn database_exists(admin: &DatabaseConnection, postgres: bool, name: &str) -> bool {
    let sql = if postgres {
        format!("SELECT 1 FROM pg_database WHERE datname = '{name}'")
    } else {
        format!("SELECT 1 FROM information_schema.schemata WHERE schema_name = '{name}'")
    };
    admin
        .query_one_raw(sea_orm::Statement::from_string(
            admin.get_database_backend(),
            sql,
        ))
        .await
        .expect("ask the server")
        .is_some()
}

async fn drop_logins(postgres: &DatabaseConnection, mariadb: &DatabaseConnection, logins: &[&str]) {
    for login in logins {
        let _ = postgres
            .execute_unprepared(&format!("DROP ROLE IF EXISTS \"{login}\""))
            .await;
        let _ = mariadb
            .execute_unprepared(&format!("DROP USER IF EXISTS '{login}'@'%'"))
            .await;
    }
}

const CREATE: &str = "mutation($name: String!, $engine: DatabaseEngineName!) { createStudentDatabase(name: $name, engine: $engine) { id name engine tableCount } }";

/// Two students with a database account each (password `Secret123`).
struct Students {
    alice: String,
    alice_login: String,
    bob: String,
    bob_login: String,
}

/// One engine's server: its admin URL and an admin connection to it.
struct Server<'a> {
    engine: &'a str,
    url: &'a str,
    admin: &'a DatabaseConnection,
    postgres: bool,
}

#[tokio::test]
async fn student_databases_are_provisioned_isolated_and_dropped_for_real() {
    let Some((postgres_url, mariadb_url)) = servers() else {
        return;
    };
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        &[
            "--student-postgres-admin-url",
            &format!("{postgres_url}/postgres"),
            "--student-mariadb-admin-url",
            &mariadb_url,
        ],
    )
    .await;
    let postgres_admin = Database::connect(format!("{postgres_url}/postgres"))
        .await
        .expect("postgres");
    let mariadb_admin = Database::connect(&mariadb_url).await.expect("mariadb");
    let tag = unique_tag();
    let students = students_with_accounts(&app, &tag).await;
    for server in [
        Server {
            engine: "POSTGRESQL",
            url: &postgres_url,
            admin: &postgres_admin,
            postgres: true,
        },
        Server {
            engine: "MARIADB",
            url: &mariadb_url,
            admin: &mariadb_admin,
            postgres: false,
        },
    ] {
        a_database_lives_and_dies_for_its_owner_only(&app, &students, &server, &tag).await;
    }
    an_injection_shaped_name_runs_nothing(&app, &students.alice).await;
    let logins = [students.alice_login.as_str(), &students.bob_login];
    drop_logins(&postgres_admin, &mariadb_admin, &logins).await;
}

/// Alice and Bob, each with a database account; a second account is a conflict.
async fn students_with_accounts(app: &TestApp, tag: &str) -> Students {
    let (alice_login, bob_login) = (format!("al{tag}"), format!("bo{tag}"));
    let (_, alice) = app
        .user_with_role(&format!("{alice_login}@uni.edu"), RoleName::Student)
        .await;
    let (_, bob) = app
        .user_with_role(&format!("{bob_login}@uni.edu"), RoleName::Student)
        .await;
    let account = "mutation { createDatabaseAccount(password: \"Secret123\") }";
    assert_eq!(
        app.data_as(&alice, account, json!({})).await["createDatabaseAccount"],
        alice_login
    );
    app.data_as(&bob, account, json!({})).await;
    let (_, again) = app.post_as(&alice, account, json!({})).await;
    assert_eq!(first_code(&again), "CONFLICT", "one account per user");
    Students {
        alice,
        alice_login,
        bob,
        bob_login,
    }
}

/// Alice creates a database on `server` and uses it; Bob can neither reach nor delete
/// it; Alice's delete drops it from the server.
async fn a_database_lives_and_dies_for_its_owner_only(
    app: &TestApp,
    students: &Students,
    server: &Server<'_>,
    tag: &str,
) {
    let Server {
        engine,
        url,
        admin,
        postgres,
    } = *server;
    let name = format!("db_{tag}_{}", engine.to_lowercase());
    let created = app
        .data_as(
            &students.alice,
            CREATE,
            json!({ "name": name, "engine": engine }),
        )
        .await;
    let id = created["createStudentDatabase"]["id"].clone();
    assert_eq!(created["createStudentDatabase"]["tableCount"], 0);
    alice_makes_a_table(app, students, url, &name, engine).await;

    // Bob's login cannot connect to it.
    let bob_url = with_credentials(url, &students.bob_login, "Secret123", &name);
    let as_bob = match Database::connect(bob_url).await {
        Ok(conn) => conn.execute_unprepared("SELECT 1").await.map(|_| ()),
        Err(error) => Err(error),
    };
    assert!(
        as_bob.is_err(),
        "{engine}: bob must not reach alice's database"
    );

    // Bob cannot delete it either.
    let delete = "mutation($id: ID!) { deleteStudentDatabase(id: $id) }";
    let (_, refused) = app
        .post_as(&students.bob, delete, json!({ "id": id }))
        .await;
    assert_eq!(first_code(&refused), "FORBIDDEN", "{engine}");
    assert!(
        database_exists(admin, postgres, &name).await,
        "{engine}: still there"
    );

    // The owner's delete drops it.
    app.data_as(&students.alice, delete, json!({ "id": id }))
        .await;
    assert!(
        !database_exists(admin, postgres, &name).await,
        "{engine}: dropped"
    );
}

/// Alice's login connects to her database and creates a table, which the gateway counts.
async fn alice_makes_a_table(
    app: &TestApp,
    students: &Students,
    server: &str,
    name: &str,
    engine: &str,
) {
    let alice_url = with_credentials(server, &students.alice_login, "Secret123", name);
    let as_alice = Database::connect(alice_url)
        .await
        .unwrap_or_else(|e| panic!("{engine}: alice connects to her database: {e}"));
    as_alice
        .execute_unprepared("CREATE TABLE notes (id INT PRIMARY KEY)")
        .await
        .expect("create a table");
    let _ = as_alice.close().await;
    let listed = app
        .data_as(
            &students.alice,
            "{ myStudentDatabases { name engine tableCount } }",
            json!({}),
        )
        .await;
    let mine = listed["myStudentDatabases"].as_array().expect("a list");
    let this = mine.iter().find(|d| d["name"] == name).expect("listed");
    assert_eq!(this["tableCount"], 1, "{engine}");
}

/// An injection-shaped name is refused before anything about it runs.
async fn an_injection_shaped_name_runs_nothing(app: &TestApp, alice: &str) {
    let rows = || async {
        entities::users::student_database::Entity::find()
            .count(&*app.state.databases.users)
            .await
            .expect("count")
    };
    let rows_before = rows().await;
    let before_me = app.statements().users;
    app.data_as(alice, "{ me { id } }", json!({})).await;
    let viewer_lookup = app.statements().users - before_me;
    let statements_before = app.statements().users;
    let (_, body) = app
        .post_as(
            alice,
            CREATE,
            json!({ "name": "x\"; DROP DATABASE y; --", "engine": "POSTGRESQL" }),
        )
        .await;
    assert_eq!(first_code(&body), "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "name");
    // Only the viewer's own lookup ran, nothing about the name.
    assert_eq!(app.statements().users - statements_before, viewer_lookup);
    assert_eq!(rows().await, rows_before);
}

#[tokio::test]
async fn an_engine_that_is_not_configured_is_a_clear_error() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (_, student) = app.user_with_role("solo@uni.edu", RoleName::Student).await;
    let (_, body) = app
        .post_as(
            &student,
            "mutation { createDatabaseAccount(password: \"Secret123\") }",
            json!({}),
        )
        .await;
    assert_eq!(first_code(&body), "BAD_USER_INPUT");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .expect("a message")
            .contains("no student database server")
    );
}
