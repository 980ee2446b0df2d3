//! The durable queue: jobs and their deployments in the projects database. A claim is
//! atomic (`FOR UPDATE SKIP LOCKED` on PostgreSQL; a conditional `UPDATE` checked by
//! rows affected on SQLite, whose writers are serialised) and takes a lease whose
//! fencing token grows on every claim. Every later state change carries the token and is
//! refused when a newer claim (or a cancel) has moved it on.

use std::time::Duration;

use chrono::{DateTime, Utc};
use entities::projects::{
    deployment,
    enums::{JobKind, JobStatus},
    job, project,
};
use sea_orm::ActiveEnum as _;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    DbBackend, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, SqlErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
    sea_query::{Expr, ExprTrait, LockBehavior, LockType, SimpleExpr},
};
use serde::{Deserialize, Serialize};

use crate::error::EngineError;

/// What a deploy job needs, frozen when it is queued. Variables are not here: they are
/// secrets, read (and decrypted) when the job runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payload {
    pub project_id: i32,
    pub slug: String,
    pub repository_url: String,
    pub container_port: i32,
    pub static_path: Option<String>,
    /// For START jobs: the deployment whose build is started again.
    pub source_deployment: Option<i32>,
}

impl Payload {
    pub fn of(project: &project::Model) -> Self {
        Self {
            project_id: project.id,
            slug: project.slug.clone(),
            repository_url: project.repository_url.clone(),
            container_port: project.container_port,
            static_path: project.static_path.clone(),
            source_deployment: None,
        }
    }
}

/// A claimed job's right to write: stale once another claim or a cancel moved on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    pub job_id: i32,
    pub deployment_id: i32,
    pub project_id: i32,
    pub token: i64,
}

/// A job this replica now runs.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub job: job::Model,
    pub deployment: deployment::Model,
    pub payload: Payload,
    pub lease: Lease,
}

/// How a job ended.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub status: JobStatus,
    pub message: String,
    pub endpoint: Option<String>,
    /// The project's `running` flag, set in the same transaction.
    pub project_running: Option<bool>,
}

/// Pending work, for the admin's view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueStats {
    pub pending: u64,
    pub oldest_pending: Option<DateTime<Utc>>,
}

const ACTIVE: [JobStatus; 2] = [JobStatus::Pending, JobStatus::Running];

async fn begin(db: &DatabaseConnection) -> Result<DatabaseTransaction, EngineError> {
    // SQLite: take the write lock up front, so two writers never both read "free" and
    // then collide on the upgrade.
    Ok(db
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await?)
}

fn conflict_on_unique(error: sea_orm::DbErr) -> EngineError {
    match error.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => already_active(),
        _ => EngineError::Database(error),
    }
}

fn already_active() -> EngineError {
    EngineError::Conflict("a deploy of this project is already pending or running".into())
}

/// Writes a PENDING job and its deployment in one transaction; `CONFLICT` while one of
/// the project's deployments is pending or running (checked, and enforced by a partial
/// unique index for writers that race past the check).
pub async fn enqueue(
    db: &DatabaseConnection,
    kind: JobKind,
    payload: &Payload,
    triggered_by: i32,
) -> Result<(job::Model, deployment::Model), EngineError> {
    let txn = begin(db).await?;
    let active = deployment::Entity::find()
        .filter(deployment::Column::ProjectId.eq(payload.project_id))
        .filter(deployment::Column::Status.is_in(ACTIVE))
        .count(&txn)
        .await?;
    if active > 0 {
        return Err(already_active());
    }
    let (job, deployment) = insert(&txn, kind, payload, triggered_by, JobStatus::Pending, None)
        .await
        .map_err(conflict_on_unique)?;
    txn.commit().await?;
    Ok((job, deployment))
}

async fn insert(
    txn: &DatabaseTransaction,
    kind: JobKind,
    payload: &Payload,
    triggered_by: i32,
    status: JobStatus,
    commit: Option<String>,
) -> Result<(job::Model, deployment::Model), sea_orm::DbErr> {
    let now = Utc::now();
    let finished = !ACTIVE.contains(&status);
    let payload_json = serde_json::to_value(payload)
        .map_err(|error| sea_orm::DbErr::Custom(format!("payload: {error}")))?;
    let job = job::ActiveModel {
        uuid: Set(uuid::Uuid::new_v4()),
        kind: Set(kind),
        payload: Set(payload_json),
        status: Set(status),
        progress: Set(if finished { 100 } else { 0 }),
        message: Set(if finished {
            String::new()
        } else {
            "queued".into()
        }),
        attempts: Set(i32::from(finished)),
        lease_owner: Set(None),
        lease_expires_at: Set(None),
        lease_token: Set(0),
        started_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    let deployment = deployment::ActiveModel {
        project_id: Set(payload.project_id),
        triggered_by: Set(triggered_by),
        job_id: Set(job.id),
        status: Set(status),
        successful: Set(status == JobStatus::Succeeded),
        commit: Set(commit),
        endpoint: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok((job, deployment))
}

/// Writes a job and its deployment already in `status` (the dataset generator gives
/// projects a history with it). Nothing runs it.
pub async fn record(
    db: &DatabaseConnection,
    payload: &Payload,
    triggered_by: i32,
    status: JobStatus,
    commit: Option<String>,
) -> Result<deployment::Model, EngineError> {
    let txn = begin(db).await?;
    let (_, deployment) = insert(&txn, JobKind::Deploy, payload, triggered_by, status, commit)
        .await
        .map_err(conflict_on_unique)?;
    txn.commit().await?;
    Ok(deployment)
}

/// Claims the oldest pending job for `owner`, or `None` when none is pending.
pub async fn claim(
    db: &DatabaseConnection,
    owner: &str,
    lease: Duration,
) -> Result<Option<Claimed>, EngineError> {
    // A lost race (another replica took the row between our read and our update) is
    // retried with the next candidate; PostgreSQL's SKIP LOCKED makes that rare.
    for _ in 0..8 {
        let txn = begin(db).await?;
        let mut candidate = job::Entity::find()
            .filter(job::Column::Status.eq(JobStatus::Pending))
            .order_by_asc(job::Column::CreatedAt)
            .order_by_asc(job::Column::Id)
            .limit(1);
        if db.get_database_backend() == DbBackend::Postgres {
            candidate = candidate.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        }
        let Some(candidate) = candidate.one(&txn).await? else {
            txn.commit().await?;
            return Ok(None);
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
            continue;
        }
        deployment::Entity::update_many()
            .col_expr(deployment::Column::Status, Expr::value(JobStatus::Running))
            .col_expr(deployment::Column::UpdatedAt, Expr::value(now))
            .filter(deployment::Column::JobId.eq(candidate.id))
            .exec(&txn)
            .await?;
        let job = job::Entity::find_by_id(candidate.id)
            .one(&txn)
            .await?
            .ok_or(EngineError::NotFound("job"))?;
        let deployment = deployment::Entity::find()
            .filter(deployment::Column::JobId.eq(job.id))
            .one(&txn)
            .await?
            .ok_or(EngineError::NotFound("deployment"))?;
        txn.commit().await?;
        let payload: Payload = serde_json::from_value(job.payload.clone())
            .map_err(|error| EngineError::Io(format!("job {} payload: {error}", job.id)))?;
        let lease = Lease {
            job_id: job.id,
            deployment_id: deployment.id,
            project_id: deployment.project_id,
            token: job.lease_token,
        };
        return Ok(Some(Claimed {
            job,
            deployment,
            payload,
            lease,
        }));
    }
    Ok(None)
}

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
    with_lease(&txn, lease, job_changes, deployment_changes).await?;
    if let Some(running) = outcome.project_running {
        set_running(&txn, lease.project_id, running).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Sets a project's `running` flag.
pub async fn set_running(
    db: &impl ConnectionTrait,
    project_id: i32,
    running: bool,
) -> Result<(), EngineError> {
    project::Entity::update_many()
        .col_expr(project::Column::Running, Expr::value(running))
        .col_expr(project::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(project::Column::Id.eq(project_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Gives a claimed job back to the queue (PENDING, lease cleared).
pub async fn release(db: &DatabaseConnection, lease: &Lease) -> Result<(), EngineError> {
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
            (job::Column::Message, Expr::value("queued again")),
        ],
        vec![(deployment::Column::Status, Expr::value(JobStatus::Pending))],
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// What a cancel found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cancelled {
    pub job_id: i32,
    pub project_id: i32,
    /// It was running (a worker must stop it), not only pending.
    pub was_running: bool,
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
        .exec(&txn)
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
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(Cancelled {
        job_id: job.id,
        project_id: found.project_id,
        was_running: job.status == JobStatus::Running,
    })
}

/// How many jobs wait, and since when the oldest.
pub async fn stats(db: &DatabaseConnection) -> Result<QueueStats, EngineError> {
    let pending = job::Entity::find()
        .filter(job::Column::Status.eq(JobStatus::Pending))
        .count(db)
        .await?;
    let oldest = job::Entity::find()
        .filter(job::Column::Status.eq(JobStatus::Pending))
        .order_by_asc(job::Column::CreatedAt)
        .limit(1)
        .one(db)
        .await?;
    Ok(QueueStats {
        pending,
        oldest_pending: oldest.map(|j| j.created_at),
    })
}
