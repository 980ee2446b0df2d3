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
    let (alice_login, bob_login) = (format!("al{tag}"), format!("bo{tag}"));
    let (_, alice) = app
        .user_with_role(&format!("{alice_login}@uni.edu"), RoleName::Student)
        .await;
    let (_, bob) = app
        .user_with_role(&format!("{bob_login}@uni.edu"), RoleName::Student)
        .await;
    let password = "Secret123";

    let account = "mutation { createDatabaseAccount(password: \"Secret123\") }";
    assert_eq!(
        app.data_as(&alice, account, json!({})).await["createDatabaseAccount"],
        alice_login
    );
    app.data_as(&bob, account, json!({})).await;
    let (_, again) = app.post_as(&alice, account, json!({})).await;
    assert_eq!(first_code(&again), "CONFLICT", "one account per user");

    for (engine, server, postgres) in [
        ("POSTGRESQL", &postgres_url, true),
        ("MARIADB", &mariadb_url, false),
    ] {
        let name = format!("db_{tag}_{}", engine.to_lowercase());
        let created = app
            .data_as(&alice, CREATE, json!({ "name": name, "engine": engine }))
            .await;
        let id = created["createStudentDatabase"]["id"]
            .as_str()
            .expect("an id")
            .to_owned();
        assert_eq!(created["createStudentDatabase"]["tableCount"], 0);

        // Alice's login connects to her database and creates a table.
        let as_alice = Database::connect(with_credentials(server, &alice_login, password, &name))
            .await
            .unwrap_or_else(|e| panic!("{engine}: alice connects to her database: {e}"));
        as_alice
            .execute_unprepared("CREATE TABLE notes (id INT PRIMARY KEY)")
            .await
            .expect("create a table");
        let _ = as_alice.close().await;
        let listed = app
            .data_as(
                &alice,
                "{ myStudentDatabases { name engine tableCount } }",
                json!({}),
            )
            .await;
        let mine = listed["myStudentDatabases"].as_array().expect("a list");
        let this = mine
            .iter()
            .find(|d| d["name"] == name.as_str())
            .expect("listed");
        assert_eq!(this["tableCount"], 1, "{engine}");

        // Bob's login cannot connect to it.
        let as_bob =
            match Database::connect(with_credentials(server, &bob_login, password, &name)).await {
                Ok(conn) => conn.execute_unprepared("SELECT 1").await.map(|_| ()),
                Err(error) => Err(error),
            };
        assert!(
            as_bob.is_err(),
            "{engine}: bob must not reach alice's database"
        );

        // Bob cannot delete it either.
        let delete = "mutation($id: ID!) { deleteStudentDatabase(id: $id) }";
        let (_, refused) = app.post_as(&bob, delete, json!({ "id": id })).await;
        assert_eq!(first_code(&refused), "FORBIDDEN", "{engine}");
        let admin = if postgres {
            &postgres_admin
        } else {
            &mariadb_admin
        };
        assert!(
            database_exists(admin, postgres, &name).await,
            "{engine}: still there"
        );

        // The owner's delete drops it.
        app.data_as(&alice, delete, json!({ "id": id })).await;
        assert!(
            !database_exists(admin, postgres, &name).await,
            "{engine}: dropped"
        );
    }

    // An injection-shaped name runs nothing.
    let rows_before = entities::users::student_database::Entity::find()
        .count(&*app.state.databases.users)
        .await
        .expect("count");
    let before_me = app.statements().users;
    app.data_as(&alice, "{ me { id } }", json!({})).await;
    let viewer_lookup = app.statements().users - before_me;
    let statements_before = app.statements().users;
    let (_, body) = app
        .post_as(
            &alice,
            CREATE,
            json!({ "name": "x\"; DROP DATABASE y; --", "engine": "POSTGRESQL" }),
        )
        .await;
    assert_eq!(first_code(&body), "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "name");
    // Only the viewer's own lookup ran, nothing about the name.
    assert_eq!(app.statements().users - statements_before, viewer_lookup);
    let rows_after = entities::users::student_database::Entity::find()
        .count(&*app.state.databases.users)
        .await
        .expect("count");
    assert_eq!(rows_after, rows_before);

    drop_logins(&postgres_admin, &mariadb_admin, &[&alice_login, &bob_login]).await;
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
