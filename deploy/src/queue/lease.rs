//! Everything a claim (`claim.rs`) guards: progress, heartbeats, the end of a job and
//! the project's record with it, giving it back. Cancels are in `cancel.rs`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use entities::projects::{deployment, enums::JobStatus, job, project};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    sea_query::{Expr, SimpleExpr},
};

use super::{Lease, Outcome, begin};
use crate::error::EngineError;

/// Updates the job (and its deployment) only while `lease` is current; `LeaseLost`
/// otherwise, with nothing written.
async fn with_lease(
    txn: &impl ConnectionTrait,
    lease: &Lease,
    job_changes: Vec<(job::Column, SimpleExpr)>,
    deployment_changes: Vec<(deployment::Column, SimpleExpr)>,
) -> Result<(), EngineError> {
    let now = Utc::now();
    let mut update = job::Entity::update_many().col_expr(job::Column::UpdatedAt, Expr::value(now));
    for (column, value) in job_changes {
        update = update.col_expr(column, value);
    }
    let done = update
        .filter(job::Column::Id.eq(lease.job_id))
        .filter(job::Column::LeaseToken.eq(lease.token))
        .filter(job::Column::Status.eq(JobStatus::Running))
        .exec(txn)
        .await?;
    if done.rows_affected != 1 {
        return Err(EngineError::LeaseLost);
    }
    let mut update =
        deployment::Entity::update_many().col_expr(deployment::Column::UpdatedAt, Expr::value(now));
    for (column, value) in deployment_changes {
        update = update.col_expr(column, value);
    }
    update
        .filter(deployment::Column::Id.eq(lease.deployment_id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Records a step: progress, message, and a lease extended by `extend`.
pub async fn progress(
    db: &DatabaseConnection,
    lease: &Lease,
    progress: i32,
    message: &str,
    extend: Duration,
) -> Result<(), EngineError> {
    with_lease(
        db,
        lease,
        vec![
            (job::Column::Progress, Expr::value(progress)),
            (job::Column::Message, Expr::value(message)),
            (
                job::Column::LeaseExpiresAt,
                Expr::value(Utc::now() + extend),
            ),
        ],
        vec![],
    )
    .await
}

/// Renews the lease (the heartbeat); `LeaseLost` when it was taken or cancelled.
pub async fn renew(
    db: &DatabaseConnection,
    lease: &Lease,
    extend: Duration,
) -> Result<(), EngineError> {
    with_lease(
        db,
        lease,
        vec![(
            job::Column::LeaseExpiresAt,
            Expr::value(Utc::now() + extend),
        )],
        vec![],
    )
    .await
}

/// Records the fetched commit's short hash on the deployment.
pub async fn set_commit(
    db: &DatabaseConnection,
    lease: &Lease,
    commit: &str,
) -> Result<(), EngineError> {
    with_lease(
        db,
        lease,
        vec![],
        vec![(deployment::Column::Commit, Expr::value(commit))],
    )
    .await
}

/// Ends the job and its deployment (and sets the project's running flag) in one
/// transaction, if the lease is still current.
pub async fn finish(
    db: &DatabaseConnection,
    lease: &Lease,
    outcome: &Outcome,
) -> Result<(), EngineError> {
    let txn = begin(db).await?;
    let succeeded = outcome.status == JobStatus::Succeeded;
    let mut job_changes = vec![
        (job::Column::Status, Expr::value(outcome.status)),
        (job::Column::Message, Expr::value(outcome.message.clone())),
        (job::Column::LeaseOwner, Expr::value(Option::<String>::None)),
        (
            job::Column::LeaseExpiresAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        ),
    ];
    if succeeded {
        job_changes.push((job::Column::Progress, Expr::value(100)));
    }
    let mut deployment_changes = vec![
        (deployment::Column::Status, Expr::value(outcome.status)),
        (deployment::Column::Successful, Expr::value(succeeded)),
    ];
    if let Some(endpoint) = &outcome.endpoint {
        deployment_changes.push((deployment::Column::Endpoint, Expr::value(endpoint.clone())));
    }
    if let Some(app) = &outcome.app {
        deployment_changes.extend([
            (
                deployment::Column::ProcessGroup,
                Expr::value(app.process_group),
            ),
            (deployment::Column::Cgroup, Expr::value(app.cgroup.clone())),
            (
                deployment::Column::Replica,
                Expr::value(app.replica.clone()),
            ),
        ]);
    }
    with_lease(&txn, lease, job_changes, deployment_changes).await?;
    record_place(&txn, lease, outcome).await?;
    txn.commit().await?;
    Ok(())
}

/// What the job's end says of the project's record.
async fn record_place(
    txn: &impl ConnectionTrait,
    lease: &Lease,
    outcome: &Outcome,
) -> Result<(), EngineError> {
    match outcome.project_running {
        Some(true) => {
            let folder = outcome.folder.unwrap_or(lease.deployment_id);
            place(txn, lease, folder, outcome.endpoint.clone()).await
        }
        Some(false) => set_running(txn, lease.project_id, false).await,
        // A job that did not succeed leaves whatever serves in place; where nothing does
        // (a START of an app whose gateway went away, say), the app is stopped, not
        // started again and again.
        None if outcome.status != JobStatus::Succeeded => {
            project::Entity::update_many()
                .col_expr(project::Column::Running, Expr::value(false))
                .filter(project::Column::Id.eq(lease.project_id))
                .filter(project::Column::Running.eq(true))
                .filter(project::Column::ServingDeploymentId.is_null())
                .exec(txn)
                .await?;
            Ok(())
        }
        None => Ok(()),
    }
}

/// The project's record says its app runs, and where: the deployment that started the
/// instance, the build folder it serves from, its address. Every replica routes by it.
async fn place(
    txn: &impl ConnectionTrait,
    lease: &Lease,
    folder: i32,
    endpoint: Option<String>,
) -> Result<(), EngineError> {
    project::Entity::update_many()
        .col_expr(project::Column::Running, Expr::value(true))
        .col_expr(
            project::Column::ServingDeploymentId,
            Expr::value(lease.deployment_id),
        )
        .col_expr(project::Column::ServingFolder, Expr::value(folder))
        .col_expr(project::Column::ServingEndpoint, Expr::value(endpoint))
        .col_expr(project::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(project::Column::Id.eq(lease.project_id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Sets what should run: `running` false also says nothing serves (the build folder is
/// kept for the next start).
pub async fn set_running(
    db: &impl ConnectionTrait,
    project_id: i32,
    running: bool,
) -> Result<(), EngineError> {
    let mut update = project::Entity::update_many()
        .col_expr(project::Column::Running, Expr::value(running))
        .col_expr(project::Column::UpdatedAt, Expr::value(Utc::now()));
    if !running {
        update = nothing_serves(update);
    }
    update
        .filter(project::Column::Id.eq(project_id))
        .exec(db)
        .await?;
    Ok(())
}

/// The record's "no instance serves" (the build folder stays, for the next start).
fn nothing_serves(
    update: sea_orm::UpdateMany<project::Entity>,
) -> sea_orm::UpdateMany<project::Entity> {
    update
        .col_expr(
            project::Column::ServingDeploymentId,
            Expr::value(Option::<i32>::None),
        )
        .col_expr(
            project::Column::ServingEndpoint,
            Expr::value(Option::<String>::None),
        )
}

/// The instance `deployment_id` started no longer serves (its app died, or its replica
/// stopped or died): nothing serves the project now; with `still_wanted` it should
/// still run (another start brings it back), else it is marked stopped. Only while that
/// instance is the one the record names (a newer one elsewhere is left alone); true
/// when it was.
pub async fn vacate(
    db: &impl ConnectionTrait,
    project_id: i32,
    deployment_id: i32,
    still_wanted: bool,
) -> Result<bool, EngineError> {
    let mut update = nothing_serves(project::Entity::update_many())
        .col_expr(project::Column::UpdatedAt, Expr::value(Utc::now()));
    if !still_wanted {
        update = update.col_expr(project::Column::Running, Expr::value(false));
    }
    let done = update
        .filter(project::Column::Id.eq(project_id))
        .filter(project::Column::ServingDeploymentId.eq(deployment_id))
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

/// Gives a claimed job back to the queue (PENDING, lease cleared).
pub async fn release(
    db: &DatabaseConnection,
    lease: &Lease,
    message: &str,
) -> Result<(), EngineError> {
    let txn = begin(db).await?;
    with_lease(
        &txn,
        lease,
        vec![
            (job::Column::Status, Expr::value(JobStatus::Pending)),
            (job::Column::LeaseOwner, Expr::value(Option::<String>::None)),
            (
                job::Column::LeaseExpiresAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            ),
            (job::Column::Message, Expr::value(message)),
            (job::Column::Progress, Expr::value(0)),
        ],
        vec![(deployment::Column::Status, Expr::value(JobStatus::Pending))],
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
