//! The framework ceiling: a bare async-graphql + axum server, with the gateway's
//! allocator and runtime, answering `{ __typename }` at `POST /graphql`. The benchmark
//! scripts measure it in the same sitting as the gateway and report Q0 as a ratio to
//! it: a figure that does not depend on how fast the machine is.
//!   bare [ADDR]   (default 127.0.0.1:18500; `GET /readyz` answers once it listens)

use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};
use async_graphql_axum::GraphQL;
use axum::{
    Router,
    routing::{get, post_service},
};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Query;

#[Object]
impl Query {
    /// A field, since a query type needs one; the workload asks only `__typename`.
    async fn ok(&self) -> bool {
        true
    }
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18500".to_owned());
    let schema = Schema::new(Query, EmptyMutation, EmptySubscription);
    let app = Router::new()
        .route("/graphql", post_service(GraphQL::new(schema)))
        .route("/readyz", get(|| async { "ready" }));
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| format!("{addr}: {e}"))?;
    axum::serve(listener, app)
        .await
        .map_err(|e| format!("serving: {e}"))
}
