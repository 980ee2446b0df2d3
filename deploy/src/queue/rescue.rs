//! Taking back jobs whose replica stopped renewing their lease.

use chrono::{DateTime, Utc};
use entities::projects::{deployment, enums::JobStatus, job};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait},
};

use super::{Lease, begin};
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
        let lease = Lease {
            job_id: found.id,
            deployment_id: 0,
            project_id: 0,
            token: found.lease_token,
        };
        let again = found.attempts < max_attempts;
        let (status, message) = if again {
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
        };
        let txn = begin(db).await?;
        // Guarded by the token it had: a holder that renews meanwhile keeps it.
        let done = job::Entity::update_many()
            .col_expr(job::Column::Status, Expr::value(status))
            .col_expr(job::Column::Message, Expr::value(message.clone()))
            .col_expr(
                job::Column::Progress,
                Expr::value(if again { 0 } else { found.progress }),
            )
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
            .filter(job::Column::Id.eq(lease.job_id))
            .filter(job::Column::LeaseToken.eq(lease.token))
            .filter(job::Column::Status.eq(JobStatus::Running))
            .filter(job::Column::LeaseExpiresAt.lt(now))
            .exec(&txn)
            .await?;
        if done.rows_affected == 1 {
            deployment::Entity::update_many()
                .col_expr(deployment::Column::Status, Expr::value(status))
                .col_expr(deployment::Column::UpdatedAt, Expr::value(now))
                .filter(deployment::Column::JobId.eq(lease.job_id))
                .exec(&txn)
                .await?;
            if let Some(moved) = deployment::Entity::find()
                .filter(deployment::Column::JobId.eq(lease.job_id))
                .one(&txn)
                .await?
            {
                rescued.push(Rescued {
                    job_id: found.id,
                    deployment_id: moved.id,
                    project_id: moved.project_id,
                    status,
                    progress: if again { 0 } else { found.progress },
                    message,
                });
            }
        }
        txn.commit().await?;
    }
    Ok(rescued)
}
