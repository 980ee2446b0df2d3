//! Round trips to PostgreSQL per request, counted on the wire (see `wire.rs`), next to
//! the statements the gateway counts itself. The statement counter cannot see pings,
//! prepares or transaction control; these tests do.

use serde_json::json;

use crate::{
    helpers::{Backend, TestApp, TestDatabases, backends},
    projects::{Scene, create_project, scene_in},
    wire::{RoundTrips, Wire},
};

/// The Q1 workload of the benchmark: one project and its links.
const Q1: &str = "query($id: ID!) { project(id: $id) { name owner { username }
    collaborators { username } tags { name type } courses { subject { code } teacher { username } }
    averageRating } }";

/// A scene on PostgreSQL reached through a counting proxy.
async fn scene_on_the_wire() -> Option<(Wire, Scene)> {
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
    let app = TestApp::spawn_on(databases, &[] as &[&str]).await;
    Some((wire, scene_in(app).await))
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
    let mut windows = Vec::new();
    for _ in 0..5 {
        let (trips, statements) = (wire.counts(), s.app.statements());
        for _ in 0..times {
            s.app.data_as(&s.owner, query, variables.clone()).await;
        }
        let trips = wire.counts() - trips;
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

#[tokio::test]
async fn every_statement_of_q1_costs_a_second_round_trip_for_the_ping_on_release() {
    let Some((wire, s)) = scene_on_the_wire().await else {
        return;
    };
    let project = create_project(&s, "wire-count").await;
    let (trips, statements) = per_request(&wire, &s, Q1, json!({ "id": project }), 10).await;
    println!(
        "Q1 per request: {statements} statements counted, {} round trips on the wire ({trips:?})",
        trips.total()
    );
    // Prepared statements are cached per connection: after the warm-up each statement
    // is one round trip. sqlx (sqlx-core 0.9.0, pool/connection.rs `return_to_pool`)
    // pings every connection it takes back: one more round trip per statement, since
    // the loaders take a connection per statement. Issue 14 removes these.
    assert_eq!(trips.statements, statements, "{trips:?}");
    assert_eq!(trips.pings, statements, "{trips:?}");
}

#[tokio::test]
async fn a_page_of_projects_pings_once_per_statement_too() {
    let Some((wire, s)) = scene_on_the_wire().await else {
        return;
    };
    for n in 0..3 {
        create_project(&s, &format!("wire-page-{n}")).await;
    }
    let q2 = "query { projects(first: 50) { edges { node { name owner { username }
        collaborators { username } tags { name type } courses { subject { code }
        teacher { username } } averageRating } } } }";
    let (trips, statements) = per_request(&wire, &s, q2, json!({}), 10).await;
    println!(
        "Q2 per request: {statements} statements counted, {} round trips on the wire ({trips:?})",
        trips.total()
    );
    assert_eq!(trips.statements, statements, "{trips:?}");
    assert_eq!(trips.pings, statements, "{trips:?}");
}
