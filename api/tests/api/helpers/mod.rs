//! Start the real app on a free port against fresh databases (SQLite always; PostgreSQL
//! when TEST_DATABASE_URL names a server), talk to it over real HTTP, clean up after.

use std::net::SocketAddr;

use api::{
    app,
    config::Config,
    db::StatementCounts,
    state::AppState,
    users::{self, model::RoleName},
};
use migration::Domain;
use serde_json::{Value, json};
use tokio::{sync::oneshot, task::JoinHandle};

mod databases;
mod loopback;
mod wait;

pub use self::databases::{Backend, TestDatabases, backends};
pub use self::wait::eventually;

/// A running gateway.
pub struct TestApp {
    pub addr: SocketAddr,
    pub state: AppState,
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    /// Holds DEPLOY_DIR (`<this>/deployments`); searchable by other users, as deployed
    /// apps run as their project's user.
    pub deploy_dir: tempfile::TempDir,
    // Declared last: dropped after the server stops.
    pub databases: TestDatabases,
}

/// A temporary folder other users may pass through (apps reach their folders in it).
pub fn deploy_dir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711))
        .expect("chmod the deploy folder");
    dir
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, &[] as &[&str]).await
    }

    /// Starts the app with extra flags (for example `["--max-query-depth", "2"]`).
    pub async fn spawn_with(backend: Backend, extra: &[impl AsRef<str>]) -> TestApp {
        Self::spawn_on(TestDatabases::new(backend), extra).await
    }

    /// Starts the app on these databases.
    pub async fn spawn_on(databases: TestDatabases, extra: &[impl AsRef<str>]) -> TestApp {
        init_test_log();
        let data_dir = databases.data_dir();
        let deploy_dir = deploy_dir();
        let mut args: Vec<String> = vec![
            "api".into(),
            "--bind".into(),
            "127.0.0.1:0".into(),
            "--data-dir".into(),
            data_dir.display().to_string(),
            "--database-max-connections".into(),
            "4".into(),
            "--deploy-dir".into(),
            deploy_dir.path().join("deployments").display().to_string(),
            // A stopping test server gives running deploys back at once.
            "--deploy-shutdown-grace-secs".into(),
            "0".into(),
        ];
        // Tests sign in and mutate far faster than people do; the rate limit test sets
        // its own.
        if !extra.iter().any(|e| e.as_ref().starts_with("--rate-limit")) {
            for flag in [
                "--rate-limit-mutations-per-minute",
                "--rate-limit-sign-in-per-minute",
            ] {
                args.extend([flag.to_owned(), "0".to_owned()]);
            }
        }
        for (domain, url) in &databases.urls {
            args.push(format!("--{}-database-url", domain.name()));
            args.push(url.clone());
        }
        args.extend(extra.iter().map(|s| s.as_ref().to_owned()));
        let config = Config::from_args(args).expect("test flags parse");
        let app = app::build(config).await.expect("the app starts");
        let addr = app.local_addr().expect("a bound address");
        let state = app.state.clone();
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            app.serve(async {
                let _ = rx.await;
            })
            .await
            .expect("the app serves");
        });
        TestApp {
            addr,
            state,
            client: graphql_client(),
            shutdown: Some(tx),
            server: Some(server),
            deploy_dir,
            databases,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// `path` on the app of `slug`, at its own host (`<slug>.apps.localhost`).
    pub fn app_url(&self, slug: &str, path: &str) -> String {
        format!("http://{slug}.apps.localhost:{}{}", self.addr.port(), path)
    }

    /// POSTs a GraphQL request and returns the status and the JSON body.
    pub async fn post(&self, query: &str, variables: Value) -> (reqwest::StatusCode, Value) {
        let response = self
            .client
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("the request is sent");
        let status = response.status();
        (status, response.json().await.expect("a JSON body"))
    }

    /// POSTs a GraphQL request with `Authorization: Bearer <token>`.
    pub async fn post_as(
        &self,
        token: &str,
        query: &str,
        variables: Value,
    ) -> (reqwest::StatusCode, Value) {
        let response = self
            .client
            .post(self.url("/graphql"))
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("the request is sent");
        let status = response.status();
        (status, response.json().await.expect("a JSON body"))
    }

    /// POSTs as `token` a query expected to succeed; returns its `data`.
    pub async fn data_as(&self, token: &str, query: &str, variables: Value) -> Value {
        let (status, body) = self.post_as(token, query, variables).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// A user with this email and role (created the way the bootstrap command does)
    /// and an access token for them.
    pub async fn user_with_role(&self, email: &str, role: RoleName) -> (i32, String) {
        let (user, _) = users::service::create_user(&self.state.databases.users, email, role)
            .await
            .expect("the user is created");
        // As an operator's `api user create` would: outside GraphQL, so the gateway is
        // told (on PostgreSQL the NOTIFY would tell it too, a moment later).
        self.state.viewers.forget(user.id);
        let token = self
            .state
            .tokens
            .access(user.id, user.token_version)
            .expect("a token");
        (user.id, token)
    }

    /// The five personas of the authorization tests, each a user `<persona>@uni.edu` with
    /// its token (anonymous has none).
    pub async fn personas(&self) -> Vec<(&'static str, Option<RoleName>, Option<String>)> {
        let mut personas = Vec::new();
        for (persona, role) in [
            ("anonymous", None),
            ("student", Some(RoleName::Student)),
            ("teacher", Some(RoleName::Teacher)),
            ("support", Some(RoleName::Support)),
            ("admin", Some(RoleName::Admin)),
        ] {
            let token = match role {
                Some(role) => Some(
                    self.user_with_role(&format!("{persona}@uni.edu"), role)
                        .await
                        .1,
                ),
                None => None,
            };
            personas.push((persona, role, token));
        }
        personas
    }

    /// POSTs a query expected to succeed; returns its `data`.
    pub async fn data(&self, query: &str, variables: Value) -> Value {
        let (status, body) = self.post(query, variables).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// SQL statements each database has run so far.
    /// The Prometheus text `/metrics` serves.
    pub async fn metrics(&self) -> String {
        let response = self.client.get(self.url("/metrics")).send().await;
        response.expect("sent").text().await.expect("text")
    }

    pub fn statements(&self) -> StatementCounts {
        self.state.databases.statements()
    }

    /// Stops the server and waits for it to finish.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

/// The `extensions.code` of the first error of a response body.
pub fn first_code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("<no code>")
}

/// A unique, lower-case tag for names that live outside the test's own databases.
pub fn unique_tag() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..10].to_owned()
}

/// Asserts that every measured request cost at most `bound` statements per database.
/// The bound is one statement per field that follows a relation (plus the page and the
/// viewer's row when it is not kept): it does not depend on the page size, so a list of 50 that stays within
/// it has no N+1. Two relations that reach the same database at the same moment may share
/// a batch, which only lowers a count.
pub fn assert_within(costs: &[StatementCounts], bound: StatementCounts, what: &str) {
    for cost in costs {
        assert!(
            cost.users <= bound.users
                && cost.academic <= bound.academic
                && cost.projects <= bound.projects,
            "{what}: {cost:?} exceeds the per-field bound {bound:?} (all: {costs:?})"
        );
    }
}

/// Whether an answer was refused for who asked (UNAUTHENTICATED or FORBIDDEN anywhere);
/// any other outcome (data, NOT_FOUND, BAD_USER_INPUT…) means the caller was let through.
pub fn refused_for_caller(body: &Value) -> bool {
    body["errors"].as_array().is_some_and(|errors| {
        errors.iter().any(|e| {
            matches!(
                e["extensions"]["code"].as_str(),
                Some("UNAUTHENTICATED" | "FORBIDDEN")
            )
        })
    })
}

/// Whether an authorization rule lets a caller with `role` (None: anonymous) through.
/// Who may call an operation, as domain.md says it: written in the tests, apart from
/// the tables under test, so a table that drifts from the spec fails.
#[derive(Clone, Copy, Debug)]
pub enum Who {
    Anyone,
    SignedIn,
    Teachers,
    Staff,
    StaffAndTeachers,
    Admins,
}

pub fn spec_allows(who: Who, role: Option<RoleName>) -> bool {
    use RoleName::*;
    match (who, role) {
        (Who::Anyone, _) => true,
        (_, None) => false,
        (Who::SignedIn, Some(_)) => true,
        (Who::Teachers, Some(role)) => role == Teacher,
        (Who::Staff, Some(role)) => matches!(role, Admin | Support),
        (Who::StaffAndTeachers, Some(role)) => matches!(role, Admin | Support | Teacher),
        (Who::Admins, Some(role)) => role == Admin,
    }
}

/// The spec names exactly the operations of the table: a new operation needs a line in
/// the spec before its test passes.
pub fn assert_spec_covers(spec: &[(&str, Who)], table: &[api::authz::Policy]) {
    let mut in_spec: Vec<&str> = spec.iter().map(|(operation, _)| *operation).collect();
    let mut in_table: Vec<&str> = table.iter().map(|policy| policy.operation).collect();
    in_spec.sort_unstable();
    in_table.sort_unstable();
    assert_eq!(
        in_spec, in_table,
        "the spec and the table name different operations"
    );
}

/// A client that asks for `application/graphql-response+json`, as current GraphQL clients
/// do, so request errors get their 4xx statuses (without `Accept` the gateway answers
/// `application/json` with 200, for legacy clients). A request's own `Accept` wins.
pub fn graphql_client() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::ACCEPT,
        reqwest::header::HeaderValue::from_static("application/graphql-response+json"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .dns_resolver(std::sync::Arc::new(loopback::Loopback))
        .build()
        .expect("a client")
}

/// An exclusive lock on one PostgreSQL table, held from another connection until
/// released: queries reading the table wait inside execution, where tests can count them.
pub struct TableLock {
    pub conn: sea_orm::DatabaseConnection,
    held: sea_orm::DatabaseTransaction,
}

impl TableLock {
    pub async fn take(app: &TestApp, domain: Domain, table: &str) -> TableLock {
        use sea_orm::{ConnectionTrait, TransactionTrait};
        let conn = sea_orm::Database::connect(app.databases.url(domain))
            .await
            .expect("connects");
        let held = conn.begin().await.expect("a transaction");
        held.execute_unprepared(&format!("LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
            .await
            .expect("locked");
        TableLock { conn, held }
    }

    /// How many sessions of this database wait on a lock now.
    pub async fn waiters(&self) -> i32 {
        use sea_orm::ConnectionTrait;
        let row = self
            .conn
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                "SELECT CAST(COUNT(*) AS INTEGER) AS n FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            ))
            .await
            .expect("pg_stat_activity")
            .expect("a row");
        row.try_get::<i32>("", "n").expect("a count")
    }

    pub async fn release(self) {
        self.held.rollback().await.expect("released");
    }
}

/// With `TEST_LOG` set to a filter (`info`, `api=debug,sqlx=warn`, …), the gateway's
/// tracing goes to each test's captured output, which `cargo test` shows when it fails.
fn init_test_log() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if let Ok(filter) = std::env::var("TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_test_writer()
                .try_init();
        }
    });
}
