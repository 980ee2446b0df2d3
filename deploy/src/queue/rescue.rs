//! Taking back jobs whose replica stopped renewing their lease.

use chrono::{DateTime, Utc};
use entities::projects::{deployment, enums::JobStatus, job};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait},
};

use super::begin;
use crate::error::EngineError;

/// A job taken back, for the event that tells its followers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rescued {
    pub job_id: i32,
    pub deployment_id: i32,
    pub project_id: i32,
    pub status: JobStatus,
    pub progress: i32,
    pub message: String,
}

/// Takes back jobs whose lease expired (the server running them died or hung): queued
/// again (progress back to 0) while they have attempts left, else FAILED saying why.
pub async fn rescue(
    db: &DatabaseConnection,
    max_attempts: i32,
) -> Result<Vec<Rescued>, EngineError> {
    let now = Utc::now();
    let expired = job::Entity::find()
        .filter(job::Column::Status.eq(JobStatus::Running))
        .filter(job::Column::LeaseExpiresAt.lt(now))
        .all(db)
        .await?;
    let mut rescued = Vec::new();
    for found in expired {
        if let Some(taken) = take_back(db, &found, max_attempts, now).await? {
            rescued.push(taken);
        }
    }
    Ok(rescued)
}

/// What becomes of an expired job: PENDING again while it has attempts left, else
/// FAILED; with the message that says why.
fn verdict(found: &job::Model, max_attempts: i32) -> (JobStatus, String) {
    if found.attempts < max_attempts {
        (
            JobStatus::Pending,
            format!(
                "queued again: the lease of {} expired (attempt {} of {max_attempts})",
                found.lease_owner.as_deref().unwrap_or("a server"),
                found.attempts
            ),
        )
    } else {
        (
            JobStatus::Failed,
            format!(
                "gave up after {} attempts: the server running it stopped answering",
                found.attempts
            ),
        )
    }
}

/// Takes back one expired job and its deployment in one transaction; `None` when its
/// holder renewed the lease meanwhile.
async fn take_back(
    db: &DatabaseConnection,
    found: &job::Model,
    max_attempts: i32,
    now: DateTime<Utc>,
) -> Result<Option<Rescued>, EngineError> {
    let (status, message) = verdict(found, max_attempts);
    let progress = if status == JobStatus::Pending {
        0
    } else {
        found.progress
    };
    let txn = begin(db).await?;
    // Guarded by the token it had: a holder that renews meanwhile keeps it.
    let done = job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value(status))
        .col_expr(job::Column::Message, Expr::value(message.clone()))
        .col_expr(job::Column::Progress, Expr::value(progress))
        .col_expr(job::Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(
            job::Column::LeaseExpiresAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            job::Column::LeaseToken,
            Expr::col(job::Column::LeaseToken).add(1),
        )
        .col_expr(job::Column::UpdatedAt, Expr::value(now))
        .filter(job::Column::Id.eq(found.id))
        .filter(job::Column::LeaseToken.eq(found.lease_token))
        .filter(job::Column::Status.eq(JobStatus::Running))
        .filter(job::Column::LeaseExpiresAt.lt(now))
        .exec(&txn)
        .await?;
    let mut rescued = None;
    if done.rows_affected == 1 {
        deployment::Entity::update_many()
            .col_expr(deployment::Column::Status, Expr::value(status))
            .col_expr(deployment::Column::UpdatedAt, Expr::value(now))
            .filter(deployment::Column::JobId.eq(found.id))
            .exec(&txn)
            .await?;
        rescued = deployment::Entity::find()
            .filter(deployment::Column::JobId.eq(found.id))
            .one(&txn)
            .await?
            .map(|moved| Rescued {
                job_id: found.id,
                deployment_id: moved.id,
                project_id: moved.project_id,
                status,
                progress,
                message,
            });
    }
    txn.commit().await?;
    Ok(rescued)
}
