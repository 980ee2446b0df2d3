//! Claims: a pending job taken under a new fencing token, its attempt logged in the
//! same transaction. Turns are fair between people: the next job is the oldest of
//! whoever has the fewest jobs running now (on every replica), so one person's queue of
//! slow builds never holds another's deploy for longer than one build.

use std::time::Duration;

use super::{Claimed, Lease, Payload, begin};
use crate::error::EngineError;
use chrono::Utc;
use entities::projects::{
    deployment, deployment_log,
    enums::{JobStatus, LogKind},
    job,
};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    Statement,
    sea_query::{Expr, ExprTrait},
};

/// The next pending job: the oldest of the person (who asked for it) with the fewest
/// jobs running now.
const NEXT: &str = "SELECT j.id FROM jobs j JOIN deployments d ON d.job_id = j.id \
     WHERE j.status = 'PENDING' \
     ORDER BY (SELECT COUNT(*) FROM deployments r \
               WHERE r.status = 'RUNNING' AND r.triggered_by = d.triggered_by), \
              j.created_at, j.id \
     LIMIT 1";

/// What one attempt at a claim found.
enum Attempt {
    Claimed(Box<Claimed>),
    /// No job is pending.
    Empty,
    /// Another replica took the candidate first.
    Lost,
}

/// Claims the next pending job for `owner`, or `None` when none is pending.
pub async fn claim(
    db: &DatabaseConnection,
    owner: &str,
    lease: Duration,
) -> Result<Option<Claimed>, EngineError> {
    // A lost race (another replica took the row between our read and our update) is
    // retried with the next candidate; PostgreSQL's SKIP LOCKED makes that rare.
    for _ in 0..8 {
        match try_claim(db, owner, lease).await? {
            Attempt::Claimed(claimed) => return Ok(Some(*claimed)),
            Attempt::Empty => return Ok(None),
            Attempt::Lost => {}
        }
    }
    Ok(None)
}

/// One attempt, in one transaction: the next pending job, taken under a new token.
async fn try_claim(
    db: &DatabaseConnection,
    owner: &str,
    lease: Duration,
) -> Result<Attempt, EngineError> {
    let txn = begin(db).await?;
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => format!("{NEXT} FOR UPDATE OF j SKIP LOCKED"),
        _ => NEXT.to_owned(),
    };
    let next = txn
        .query_one_raw(Statement::from_string(backend, sql))
        .await?
        .map(|row| row.try_get_by_index::<i32>(0))
        .transpose()?;
    let Some(id) = next else {
        txn.commit().await?;
        return Ok(Attempt::Empty);
    };
    let Some(candidate) = job::Entity::find_by_id(id).one(&txn).await? else {
        txn.rollback().await?;
        return Ok(Attempt::Lost);
    };
    let now = Utc::now();
    let taken = job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value(JobStatus::Running))
        .col_expr(job::Column::LeaseOwner, Expr::value(owner))
        .col_expr(job::Column::LeaseExpiresAt, Expr::value(now + lease))
        .col_expr(
            job::Column::LeaseToken,
            Expr::col(job::Column::LeaseToken).add(1),
        )
        .col_expr(
            job::Column::Attempts,
            Expr::col(job::Column::Attempts).add(1),
        )
        .col_expr(job::Column::StartedAt, Expr::value(now))
        .col_expr(job::Column::UpdatedAt, Expr::value(now))
        .col_expr(job::Column::Message, Expr::value("started"))
        .filter(job::Column::Id.eq(candidate.id))
        .filter(job::Column::Status.eq(JobStatus::Pending))
        .exec(&txn)
        .await?;
    if taken.rows_affected != 1 {
        txn.rollback().await?;
        return Ok(Attempt::Lost);
    }
    deployment::Entity::update_many()
        .col_expr(deployment::Column::Status, Expr::value(JobStatus::Running))
        .col_expr(deployment::Column::UpdatedAt, Expr::value(now))
        .filter(deployment::Column::JobId.eq(candidate.id))
        .exec(&txn)
        .await?;
    let claimed = claimed(&txn, candidate.id).await?;
    log_attempt(&txn, &claimed, owner).await?;
    txn.commit().await?;
    Ok(Attempt::Claimed(Box::new(claimed)))
}

/// Each attempt says in the BUILD log who ran it under which token (a retried job's log
/// shows both), written with the claim: an attempt counted is an attempt logged, even
/// when its replica dies the next moment.
async fn log_attempt(
    txn: &impl ConnectionTrait,
    claimed: &Claimed,
    owner: &str,
) -> Result<(), EngineError> {
    let line = format!(
        "attempt {} on {owner} (lease token {})",
        claimed.job.attempts, claimed.lease.token
    );
    deployment_log::Entity::insert(deployment_log::ActiveModel {
        deployment_id: Set(claimed.deployment.id),
        kind: Set(LogKind::Build),
        line: Set(line),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(txn)
    .await?;
    Ok(())
}

/// The job just taken and its deployment, read back under the claim's transaction.
async fn claimed(txn: &impl ConnectionTrait, job_id: i32) -> Result<Claimed, EngineError> {
    let job = job::Entity::find_by_id(job_id)
        .one(txn)
        .await?
        .ok_or(EngineError::NotFound("job"))?;
    let deployment = deployment::Entity::find()
        .filter(deployment::Column::JobId.eq(job.id))
        .one(txn)
        .await?
        .ok_or(EngineError::NotFound("deployment"))?;
    let payload: Payload = serde_json::from_value(job.payload.clone())
        .map_err(|error| EngineError::Io(format!("job {} payload: {error}", job.id)))?;
    let lease = Lease {
        job_id: job.id,
        deployment_id: deployment.id,
        project_id: deployment.project_id,
        token: job.lease_token,
    };
    Ok(Claimed {
        job,
        deployment,
        payload,
        lease,
    })
}
