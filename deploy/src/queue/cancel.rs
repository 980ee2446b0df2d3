//! Cancelling: one deployment (a person's `cancelDeployment`), or every active one of a
//! project as it is deleted. A cancel moves the fencing token on, so whatever the
//! running worker writes afterwards is refused.

use chrono::{DateTime, Utc};
use entities::projects::{deployment, enums::JobStatus, job, project};
use sea_orm::{
    ActiveEnum as _, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QuerySelect,
    sea_query::{Expr, ExprTrait},
};

use super::{ACTIVE, begin};
use crate::error::EngineError;

/// What a cancel found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cancelled {
    pub job_id: i32,
    pub deployment_id: i32,
    pub project_id: i32,
    /// It was running (a worker must stop it), not only pending.
    pub was_running: bool,
    /// Where it got to.
    pub progress: i32,
}

/// Cancels a pending or running deployment. The cancel moves the fencing token on, so
/// whatever the running worker writes afterwards is refused.
pub async fn cancel(db: &DatabaseConnection, deployment_id: i32) -> Result<Cancelled, EngineError> {
    let txn = begin(db).await?;
    let found = deployment::Entity::find_by_id(deployment_id)
        .one(&txn)
        .await?
        .ok_or(EngineError::NotFound("deployment"))?;
    let job = job::Entity::find_by_id(found.job_id)
        .one(&txn)
        .await?
        .ok_or(EngineError::NotFound("job"))?;
    if !ACTIVE.contains(&job.status) {
        return Err(EngineError::Conflict(format!(
            "the deployment has already ended ({})",
            job.status.to_value()
        )));
    }
    let cancelled = cancel_in(&txn, &found, &job).await?;
    txn.commit().await?;
    Ok(cancelled)
}

/// Cancels one active job and its deployment inside `txn`.
async fn cancel_in(
    txn: &impl ConnectionTrait,
    found: &deployment::Model,
    job: &job::Model,
) -> Result<Cancelled, EngineError> {
    let now = Utc::now();
    let done = job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value(JobStatus::Cancelled))
        .col_expr(job::Column::Message, Expr::value("cancelled"))
        .col_expr(
            job::Column::LeaseToken,
            Expr::col(job::Column::LeaseToken).add(1),
        )
        .col_expr(job::Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(
            job::Column::LeaseExpiresAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(job::Column::UpdatedAt, Expr::value(now))
        .filter(job::Column::Id.eq(job.id))
        // A claim may move it from PENDING to RUNNING meanwhile: still cancellable.
        .filter(job::Column::Status.is_in(ACTIVE))
        .exec(txn)
        .await?;
    if done.rows_affected != 1 {
        return Err(EngineError::Conflict(
            "the deployment ended meanwhile".into(),
        ));
    }
    deployment::Entity::update_many()
        .col_expr(
            deployment::Column::Status,
            Expr::value(JobStatus::Cancelled),
        )
        .col_expr(deployment::Column::Successful, Expr::value(false))
        .col_expr(deployment::Column::UpdatedAt, Expr::value(now))
        .filter(deployment::Column::Id.eq(found.id))
        .exec(txn)
        .await?;
    Ok(Cancelled {
        job_id: job.id,
        deployment_id: found.id,
        project_id: found.project_id,
        was_running: job.status == JobStatus::Running,
        progress: job.progress,
    })
}

/// Deletes the project's row, first cancelling every deploy of it still active, in one
/// transaction that holds the project (a deploy queued meanwhile either committed
/// before, and is cancelled here, or finds no project); returns what it cancelled.
/// Its deployments go with it (the schema cascades); the cancelled jobs stay, ended.
pub async fn delete_project(
    db: &DatabaseConnection,
    project_id: i32,
) -> Result<Vec<Cancelled>, EngineError> {
    let txn = begin(db).await?;
    let mut found = project::Entity::find_by_id(project_id);
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        found = found.lock_exclusive();
    }
    if found.one(&txn).await?.is_none() {
        return Err(EngineError::NotFound("project"));
    }
    let active = deployment::Entity::find()
        .filter(deployment::Column::ProjectId.eq(project_id))
        .filter(deployment::Column::Status.is_in(ACTIVE))
        .all(&txn)
        .await?;
    let mut cancelled = Vec::new();
    for found in &active {
        if let Some(job) = job::Entity::find_by_id(found.job_id).one(&txn).await? {
            match cancel_in(&txn, found, &job).await {
                Ok(one) => cancelled.push(one),
                Err(EngineError::Conflict(_)) => {}
                Err(other) => return Err(other),
            }
        }
    }
    project::Entity::delete_by_id(project_id).exec(&txn).await?;
    txn.commit().await?;
    Ok(cancelled)
}
