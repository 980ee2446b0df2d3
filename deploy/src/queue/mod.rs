//! The durable queue: jobs and their deployments in the projects database. A claim is
//! atomic (`FOR UPDATE SKIP LOCKED` on PostgreSQL; a conditional `UPDATE` checked by
//! rows affected on SQLite, whose writers are serialised) and takes a lease whose
//! fencing token grows on every claim. Every later state change carries the token and is
//! refused when a newer claim (or a cancel) has moved it on.

use chrono::{DateTime, Utc};
use entities::projects::{
    deployment,
    enums::{JobKind, JobStatus},
    job, project,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, SqlErr, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};
use serde::{Deserialize, Serialize};

use crate::error::EngineError;

mod cancel;
mod claim;
mod lease;
mod rescue;

pub use self::cancel::{Cancelled, cancel, delete_project};
pub use self::claim::claim;
pub use self::lease::{finish, progress, release, renew, set_commit, set_running, vacate};
pub use self::rescue::{Rescued, rescue};

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

/// Where a routed app's processes are, for a replica that starts after a crash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppRecord {
    pub process_group: i32,
    pub cgroup: Option<String>,
    pub replica: String,
}

/// How a job ended.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub status: JobStatus,
    pub message: String,
    pub endpoint: Option<String>,
    pub app: Option<AppRecord>,
    /// The project's `running` flag, set in the same transaction (with `true`, the
    /// project's record names this deployment's instance as the one serving).
    pub project_running: Option<bool>,
    /// The build folder the instance serves from (a START's is the build it started);
    /// `None`: the deployment's own.
    pub folder: Option<i32>,
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
    enqueue_within(db, kind, payload, triggered_by, 0).await
}

/// [`enqueue`], refused with `LimitReached` when `triggered_by` already has
/// `max_active` deploys pending or running (0: no cap), checked in the same
/// transaction.
pub async fn enqueue_within(
    db: &DatabaseConnection,
    kind: JobKind,
    payload: &Payload,
    triggered_by: i32,
    max_active: u32,
) -> Result<(job::Model, deployment::Model), EngineError> {
    let txn = begin(db).await?;
    // The project, locked against a delete until this commits (SQLite: the write lock
    // taken at BEGIN): a delete either sees this deploy and cancels it, or comes first
    // and this finds no project.
    let mut project = project::Entity::find_by_id(payload.project_id);
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        project = project.lock_shared();
    }
    if project.one(&txn).await?.is_none() {
        return Err(EngineError::NotFound("project"));
    }
    let active = deployment::Entity::find()
        .filter(deployment::Column::ProjectId.eq(payload.project_id))
        .filter(deployment::Column::Status.is_in(ACTIVE))
        .count(&txn)
        .await?;
    if active > 0 {
        return Err(already_active());
    }
    if max_active > 0 {
        let theirs = deployment::Entity::find()
            .filter(deployment::Column::TriggeredBy.eq(triggered_by))
            .filter(deployment::Column::Status.is_in(ACTIVE))
            .count(&txn)
            .await?;
        if theirs >= u64::from(max_active) {
            return Err(EngineError::LimitReached {
                limit: "DEPLOY_MAX_ACTIVE_PER_USER",
                reason: format!(
                    "you have {theirs} deploys pending or running, the most one person may have at once; wait for one to end"
                ),
            });
        }
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
        process_group: Set(None),
        cgroup: Set(None),
        replica: Set(None),
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
