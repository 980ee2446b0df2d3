//! Liveness and readiness probes.

use std::time::Duration;

use axum::{Json, extract::State, http::StatusCode};
use serde_json::{Value, json};

use super::HttpState;

const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// `GET /livez`: the process answers.
pub async fn livez() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: each database answers and has every migration applied; 503 otherwise,
/// naming what failed, and 503 at once when the gateway is shutting down (a load balancer
/// sends it no new work).
pub async fn readyz(State(http): State<HttpState>) -> (StatusCode, Json<Value>) {
    if http.state.shutdown.is_cancelled() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "shutting down" })),
        );
    }
    let dbs = &http.state.databases;
    let (users, academic, projects) = tokio::join!(
        bounded(dbs.users.check()),
        bounded(dbs.academic.check()),
        bounded(dbs.projects.check())
    );
    let connections = listener(&http.state.occupancy);
    let disk = data_disk(&http.state.config.data_dir);
    let ready = [&users, &academic, &projects, &connections, &disk]
        .iter()
        .all(|check| check.is_ok());
    let show = |result: Result<(), String>| match result {
        Ok(()) => Value::from("ok"),
        Err(reason) => Value::from(reason),
    };
    let body = json!({
        "status": if ready { "ready" } else { "unavailable" },
        "checks": {
            "users": show(users), "academic": show(academic), "projects": show(projects),
            "connections": show(connections), "dataDisk": show(disk),
        },
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}

/// Whether the main listener has a free slot (`MAX_CONNECTIONS`).
fn listener(occupancy: &crate::http::server::Occupancy) -> Result<(), String> {
    match occupancy.get() {
        (open, max) if max > 0 && open >= max => Err(format!(
            "saturated: {open} of {max} connections (MAX_CONNECTIONS) are open"
        )),
        _ => Ok(()),
    }
}

/// Whether DATA_DIR's file system has room: full below 1% of its size (at least 1 MiB).
fn data_disk(dir: &std::path::Path) -> Result<(), String> {
    let stats = rustix::fs::statvfs(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let size = stats.f_blocks.saturating_mul(stats.f_frsize);
    let free = stats.f_bavail.saturating_mul(stats.f_frsize);
    let floor = (size / 100).max(1024 * 1024);
    if free < floor {
        Err(format!(
            "full: {} KiB free of {} KiB on DATA_DIR's file system",
            free / 1024,
            size / 1024
        ))
    } else {
        Ok(())
    }
}

async fn bounded(check: impl Future<Output = Result<(), String>>) -> Result<(), String> {
    tokio::time::timeout(CHECK_TIMEOUT, check)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {} s", CHECK_TIMEOUT.as_secs())))
}

/// `GET /metrics`: Prometheus text with the SQL statements each database has run (the
/// benchmark reads it to count statements per request).
pub async fn metrics(
    State(http): State<HttpState>,
) -> ([(axum::http::HeaderName, &'static str); 1], String) {
    let counts = http.state.databases.statements();
    let (occurred, recorded) = http.state.databases.errors.counts();
    let mut body = format!(
        "# HELP gateway_sql_statements_total SQL statements run, per domain database.\n\
         # TYPE gateway_sql_statements_total counter\n\
         gateway_sql_statements_total{{database=\"users\"}} {}\n\
         gateway_sql_statements_total{{database=\"academic\"}} {}\n\
         gateway_sql_statements_total{{database=\"projects\"}} {}\n\
         # HELP gateway_internal_errors_total Internal errors that occurred.\n\
         # TYPE gateway_internal_errors_total counter\n\
         gateway_internal_errors_total {occurred}\n\
         # HELP gateway_internal_errors_recorded_total Internal errors written to error_logs (once per cause per minute).\n\
         # TYPE gateway_internal_errors_recorded_total counter\n\
         gateway_internal_errors_recorded_total {recorded}\n",
        counts.users, counts.academic, counts.projects
    );
    if let Some(trips) = http.state.databases.round_trips() {
        body.push_str(&format!(
            "# HELP gateway_database_round_trips_total Exchanges that waited on the database server (statements, pings, BEGIN and COMMIT; background work included), per domain database (PostgreSQL).\n\
             # TYPE gateway_database_round_trips_total counter\n\
             gateway_database_round_trips_total{{database=\"users\"}} {}\n\
             gateway_database_round_trips_total{{database=\"academic\"}} {}\n\
             gateway_database_round_trips_total{{database=\"projects\"}} {}\n",
            trips.users, trips.academic, trips.projects
        ));
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        body,
    )
}
