//! Round trips to PostgreSQL per request, counted on the wire (see `wire.rs`), next to
//! the statements the gateway counts itself. The statement counter cannot see pings,
//! prepares or transaction control; these tests do.

use std::time::Duration;

use migration::Domain;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement,
    TransactionTrait,
};
use serde_json::json;

use crate::{
    helpers::{Backend, TestApp, TestDatabases, backends},
    projects::{Scene, create_project, scene_in},
    wire::{RoundTrips, Wire},
};

/// Three fresh PostgreSQL databases reached through a counting proxy.
pub async fn databases_on_the_wire() -> Option<(Wire, TestDatabases)> {
    if !backends().contains(&Backend::Postgres) {
        return None;
    }
    let server = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL is set");
    let parsed = url::Url::parse(&server).expect("a URL");
    let upstream = format!(
        "{}:{}",
        parsed.host_str().unwrap_or("127.0.0.1"),
        parsed.port().unwrap_or(5432)
    );
    let wire = Wire::start(upstream).await;
    let mut through = parsed.clone();
    through.set_host(Some("127.0.0.1")).expect("a host");
    through.set_port(Some(wire.port)).expect("a port");
    // Without TLS, so the proxy reads the protocol.
    let databases = TestDatabases::on_postgres(
        server.clone(),
        through.as_str().trim_end_matches('/'),
        "?sslmode=disable",
    );
    Some((wire, databases))
}

/// A scene on PostgreSQL reached through a counting proxy.
async fn scene_on_the_wire() -> Option<(Wire, Scene)> {
    let (wire, databases) = databases_on_the_wire().await?;
    let app = TestApp::spawn_on(databases, &[] as &[&str]).await;
    Some((wire, scene_in(app).await))
}

/// A pool of one connection (so every statement reuses it) on a fresh database behind
/// the counting proxy.
async fn one_connection_on_the_wire() -> Option<(Wire, DatabaseConnection, TestDatabases)> {
    let (wire, databases) = databases_on_the_wire().await?;
    let url = databases.url(Domain::Users).to_owned();
    migration::ensure_database(Domain::Users, &url)
        .await
        .expect("create the database");
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(1)
        .min_connections(1)
        .test_before_acquire(false)
        .sqlx_logging(false);
    let db = Database::connect(options).await.expect("connect");
    Some((wire, db, databases))
}

async fn number(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await
        .expect("the statement runs")
        .expect("a row");
    row.try_get_by_index::<i64>(0).expect("a number")
}

#[tokio::test]
async fn a_connection_goes_back_to_the_pool_without_a_ping() {
    let Some((wire, db, _databases)) = one_connection_on_the_wire().await else {
        return;
    };
    number(&db, "SELECT 1::int8").await;
    let before = wire.counts();
    for _ in 0..10 {
        assert_eq!(number(&db, "SELECT 1::int8").await, 1);
    }
    let trips = wire.counts() - before;
    // Our patched sqlx (vendor/README.md) pings only a connection with something in
    // flight; stock sqlx 0.9.0 pings every connection it takes back.
    assert_eq!(trips.statements, 10, "{trips:?}");
    assert_eq!(trips.pings, 0, "{trips:?}");
}

#[tokio::test]
async fn a_query_cancelled_mid_way_is_drained_before_its_connection_serves_again() {
    let Some((wire, db, _databases)) = one_connection_on_the_wire().await else {
        return;
    };
    number(&db, "SELECT 1::int8").await;
    let before = wire.counts();
    // The caller gives up while the server still works: the reply is still to come.
    let cancelled = tokio::time::timeout(
        Duration::from_millis(100),
        number(&db, "SELECT 7::int8 FROM pg_sleep(0.5)"),
    )
    .await;
    assert!(cancelled.is_err(), "the slow statement was cancelled");
    // The one connection answers the next statement with its own reply, not the
    // abandoned one; the pool drained it with a ping when it took it back, since a
    // reply was still due.
    assert_eq!(number(&db, "SELECT 42::int8").await, 42);
    assert_eq!(number(&db, "SELECT 43::int8").await, 43);
    let trips = wire.counts() - before;
    assert_eq!(trips.pings, 1, "{trips:?}");
}

#[tokio::test]
async fn a_transaction_dropped_without_commit_is_rolled_back_at_once() {
    let Some((_wire, db, databases)) = one_connection_on_the_wire().await else {
        return;
    };
    db.execute_unprepared("CREATE TABLE kept (n int8)")
        .await
        .expect("create a table");
    {
        let txn = db.begin().await.expect("begin");
        txn.execute_unprepared("INSERT INTO kept VALUES (1)")
            .await
            .expect("insert");
        // Dropped without commit or rollback: sqlx queues a ROLLBACK on the connection.
    }
    // The rollback goes out when the pool takes the connection back, not at its next use:
    // until then the transaction would hold its locks. Watched from another connection.
    let observer = Database::connect(databases.url(Domain::Users))
        .await
        .expect("connect");
    let open = "SELECT count(*) FROM pg_stat_activity \
                WHERE datname = current_database() AND state LIKE 'idle in transaction%'";
    let mut still_open = 1;
    for _ in 0..100 {
        still_open = number(&observer, open).await;
        if still_open == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(still_open, 0, "the dropped transaction is still open");
    assert_eq!(number(&db, "SELECT count(*) FROM kept").await, 0);
    db.execute_unprepared("INSERT INTO kept VALUES (2)")
        .await
        .expect("insert");
    assert_eq!(number(&db, "SELECT count(*) FROM kept").await, 1);
}

/// Runs `query` `times` times (after as many warm-up runs that prepare its statements) and
/// returns the round trips and statements per request. The deploy engine polls the
/// projects database every 2 s in a transaction (BEGIN and COMMIT are simple queries);
/// a window it fell into is measured again.
async fn per_request(
    wire: &Wire,
    s: &Scene,
    query: &str,
    variables: serde_json::Value,
    times: u64,
) -> (RoundTrips, u64) {
    // Warm-up: every pooled connection prepares the statements it runs once.
    for _ in 0..times {
        s.app.data_as(&s.owner, query, variables.clone()).await;
    }
    // What the gateway counts itself (the patched sqlx; `/metrics`).
    let by_sqlx = || {
        let trips = s
            .app
            .state
            .databases
            .round_trips()
            .expect("counted on PostgreSQL");
        trips.users + trips.academic + trips.projects
    };
    let mut windows = Vec::new();
    for _ in 0..5 {
        let (trips, statements, counted) = (wire.counts(), s.app.statements(), by_sqlx());
        for _ in 0..times {
            s.app.data_as(&s.owner, query, variables.clone()).await;
        }
        let trips = wire.counts() - trips;
        let counted = by_sqlx() - counted;
        assert_eq!(counted, trips.total(), "counted by sqlx and on the wire");
        let statements = s.app.statements() - statements;
        let statements = statements.users + statements.academic + statements.projects;
        let even = [trips.statements, trips.pings, statements]
            .iter()
            .all(|n| n % times == 0);
        if trips.simple_queries == 0 && even {
            let each = RoundTrips {
                statements: trips.statements / times,
                pings: trips.pings / times,
                simple_queries: 0,
            };
            return (each, statements / times);
        }
        windows.push((trips, statements));
    }
    panic!("no quiet window in five: {windows:?}");
}

/// One workload's cost per request, printed, with the asserts every workload shares:
/// each statement is one round trip (prepared statements are cached per connection
/// after the warm-up), and no connection is pinged on its way back to the pool (stock
/// sqlx pinged every one, one more round trip per statement; see vendor/README.md).
async fn measured(
    wire: &Wire,
    s: &Scene,
    name: &str,
    query: &str,
    variables: serde_json::Value,
) -> u64 {
    let (trips, statements) = per_request(wire, s, query, variables, 10).await;
    println!(
        "{name} per request: {statements} statements counted, {} round trips on the wire ({trips:?})",
        trips.total()
    );
    assert_eq!(trips.statements, statements, "{name}: {trips:?}");
    assert_eq!(trips.pings, 0, "{name}: {trips:?}");
    assert_eq!(trips.total(), statements, "{name}: {trips:?}");
    trips.total()
}

async fn three_deployments_by_the_collaborator(s: &Scene, project: &str) {
    for commit in ["aaa1111", "bbb2222", "ccc3333"] {
        let payload = deploy::Payload {
            project_id: project.parse().expect("an id"),
            slug: "wire-count".into(),
            repository_url: "https://git.example.edu/team/wire-count.git".into(),
            container_port: 8080,
            static_path: None,
            source_deployment: None,
        };
        deploy::queue::record(
            &s.app.state.databases.projects,
            &payload,
            s.collaborator_id,
            entities::projects::enums::JobStatus::Succeeded,
            Some(commit.to_owned()),
        )
        .await
        .expect("recorded");
    }
}

#[tokio::test]
async fn the_benchmark_workloads_cost_the_round_trips_issue_14_allows() {
    let Some((wire, s)) = scene_on_the_wire().await else {
        return;
    };
    let project = create_project(&s, "wire-count").await;
    for n in 0..3 {
        create_project(&s, &format!("wire-page-{n}")).await;
    }
    // Q3 reads deployments and who triggered them: three, by one user.
    three_deployments_by_the_collaborator(&s, &project).await;
    let id = json!({ "id": project });
    // The viewer is kept in process (0); the project with its mean rating,
    // collaborator ids, course ids and tags (1); owner and collaborators (1); courses
    // with subjects (1); teachers (1).
    let q1 = measured(
        &wire,
        &s,
        "Q1",
        include_str!("../../../bench/workloads/q1.graphql"),
        id.clone(),
    )
    .await;
    assert!(q1 <= 4, "Q1: {q1} round trips");
    // The same, for 50 projects, with the count read by the page's statement.
    let q2 = measured(
        &wire,
        &s,
        "Q2",
        include_str!("../../../bench/workloads/q2.graphql"),
        json!({}),
    )
    .await;
    assert!(q2 <= 5, "Q2: {q2} round trips");
    // The project, its deployments, who triggered them (the viewer is kept).
    let q3 = measured(
        &wire,
        &s,
        "Q3",
        include_str!("../../../bench/workloads/q3.graphql"),
        id,
    )
    .await;
    assert!(q3 <= 3, "Q3: {q3} round trips");
    let metrics = s.app.metrics().await;
    assert!(
        metrics.contains("gateway_database_round_trips_total{database=\"projects\"}"),
        "{metrics}"
    );
}
