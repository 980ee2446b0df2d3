//! GraphQL types of deploys: Job, Deployment, its log lines, workers, the queue.

use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};
use entities::projects::{deployment, deployment_log, enums, job};

use super::loaders;
use crate::projects::{loaders as project_loaders, types::Project};

/// The state of a job, and of the deployment it runs.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum DeploymentStatus {
    /// Queued, waiting for a worker.
    Pending,
    /// A worker holds it and runs its steps.
    Running,
    /// Every step ended well.
    Succeeded,
    /// A step failed; `message` says why.
    Failed,
    /// Cancelled by a person before it ended.
    Cancelled,
}

impl From<enums::JobStatus> for DeploymentStatus {
    fn from(status: enums::JobStatus) -> Self {
        match status {
            enums::JobStatus::Pending => DeploymentStatus::Pending,
            enums::JobStatus::Running => DeploymentStatus::Running,
            enums::JobStatus::Succeeded => DeploymentStatus::Succeeded,
            enums::JobStatus::Failed => DeploymentStatus::Failed,
            enums::JobStatus::Cancelled => DeploymentStatus::Cancelled,
        }
    }
}

/// What a job does.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// Fetch, build, start and route the project.
    Deploy,
    /// Start the last successful build again.
    Start,
}

impl From<enums::JobKind> for JobKind {
    fn from(kind: enums::JobKind) -> Self {
        match kind {
            enums::JobKind::Deploy => JobKind::Deploy,
            enums::JobKind::Start => JobKind::Start,
        }
    }
}

/// Which log of a deployment.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum LogKind {
    /// Fetch and build output.
    Build,
    /// The running app's output.
    Runtime,
}

impl From<LogKind> for enums::LogKind {
    fn from(kind: LogKind) -> Self {
        match kind {
            LogKind::Build => enums::LogKind::Build,
            LogKind::Runtime => enums::LogKind::Runtime,
        }
    }
}

impl From<enums::LogKind> for LogKind {
    fn from(kind: enums::LogKind) -> Self {
        match kind {
            enums::LogKind::Build => LogKind::Build,
            enums::LogKind::Runtime => LogKind::Runtime,
        }
    }
}

/// A durable unit of deploy work, claimed by one worker under a lease.
pub struct Job(pub job::Model);

/// A durable unit of deploy work, claimed by one worker under a lease.
#[Object]
impl Job {
    /// The job's id.
    async fn id(&self) -> ID {
        self.0.id.into()
    }

    /// The job's unique id, as the deploy engine and its logs name it.
    async fn uuid(&self) -> String {
        self.0.uuid.to_string()
    }

    /// What it does.
    async fn kind(&self) -> JobKind {
        self.0.kind.into()
    }

    /// Where it stands.
    async fn status(&self) -> DeploymentStatus {
        self.0.status.into()
    }

    /// 0 to 100: fetched 20, built 40, started 60, published 80, routed 100.
    async fn progress(&self) -> i32 {
        self.0.progress
    }

    /// What the last step said (the failure's cause when FAILED).
    async fn message(&self) -> &str {
        &self.0.message
    }

    /// How many times a worker claimed it.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }

    /// When it was queued.
    async fn created_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.created_at
    }

    /// When a worker first claimed it.
    async fn started_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.0.started_at
    }

    /// When its state last changed.
    async fn updated_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.updated_at
    }

    /// The deployment it runs.
    async fn deployment(&self, ctx: &Context<'_>) -> Result<Option<Deployment>> {
        Ok(loaders::deployment_of_job(ctx, self.0.id)
            .await?
            .map(Deployment))
    }
}

/// One deploy of a project.
pub struct Deployment(pub deployment::Model);

/// Where a deployment's `triggeredBy` sits in the type; `crate::links` resolves it.
pub struct DeploymentLinks {
    pub triggered_by: i32,
}

/// One deploy of a project: the commit built, where the app listens, and its logs.
#[Object]
impl Deployment {
    /// The deployment's id.
    async fn id(&self) -> ID {
        self.0.id.into()
    }

    /// Where it stands (the status of the job that runs it).
    async fn status(&self) -> DeploymentStatus {
        self.0.status.into()
    }

    /// Whether it ended with the app built, started and routed.
    async fn successful(&self) -> bool {
        self.0.successful
    }

    /// Short hash of the deployed commit.
    async fn commit(&self) -> Option<&str> {
        self.0.commit.as_deref()
    }

    /// Where the app listened (a loopback address on the deploy host).
    async fn endpoint(&self) -> Option<&str> {
        self.0.endpoint.as_deref()
    }

    // `triggeredBy`, from the users database.
    #[graphql(flatten)]
    async fn links(&self) -> DeploymentLinks {
        DeploymentLinks {
            triggered_by: self.0.triggered_by,
        }
    }

    /// The project deployed.
    async fn project(&self, ctx: &Context<'_>) -> Result<Option<Project>> {
        Ok(project_loaders::project(ctx, self.0.project_id)
            .await?
            .map(Project))
    }

    /// The job that runs it (progress, message, attempts).
    async fn job(&self, ctx: &Context<'_>) -> Result<Option<Job>> {
        Ok(loaders::job(ctx, self.0.job_id).await?.map(Job))
    }

    /// The newest `last` lines of one log, oldest first. Owner, collaborators and admins
    /// only (an app may print its secrets).
    #[graphql(complexity = "crate::graphql::budget::paged(last, 1000) * child_complexity + 1")]
    async fn logs(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which log: BUILD or RUNTIME.")] kind: LogKind,
        #[graphql(desc = "How many of the newest lines, 1 to 1000.", default = 100)] last: i32,
    ) -> Result<Vec<DeploymentLog>> {
        let rows = loaders::logs(ctx, &self.0, kind, last).await?;
        crate::graphql::budget::listed(ctx, rows.into_iter().map(DeploymentLog).collect())
    }

    /// When it was asked for.
    async fn created_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.created_at
    }

    /// When its state last changed.
    async fn updated_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.updated_at
    }
}

/// One line of a deployment's output.
pub struct DeploymentLog(pub deployment_log::Model);

/// One line of a deployment's output.
#[Object]
impl DeploymentLog {
    /// Which log it belongs to (BUILD or RUNTIME).
    async fn kind(&self) -> LogKind {
        self.0.kind.into()
    }

    /// The line, without its end-of-line.
    async fn line(&self) -> &str {
        &self.0.line
    }

    /// When it was written.
    async fn created_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.created_at
    }
}

/// A deploy worker running a job, on any replica.
pub struct Worker(pub deploy::ReplicaWorker);

/// A deploy worker running a job, on any replica.
#[Object]
impl Worker {
    /// The worker's id (known for the replica that answers; null for the others').
    async fn uuid(&self) -> Option<String> {
        self.0.uuid.map(|u| u.to_string())
    }

    /// The replica running it (its lease owner).
    async fn replica(&self) -> &str {
        &self.0.replica
    }

    /// When it claimed its job.
    async fn started_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.started_at
    }

    /// The job it runs.
    async fn job(&self, ctx: &Context<'_>) -> Result<Option<Job>> {
        Ok(loaders::job(ctx, self.0.job_id).await?.map(Job))
    }

    /// The project the job deploys.
    async fn project(&self, ctx: &Context<'_>) -> Result<Option<Project>> {
        Ok(project_loaders::project(ctx, self.0.project_id)
            .await?
            .map(Project))
    }
}

/// The deploy queue and its workers' slots.
#[derive(SimpleObject)]
pub struct DeployQueue {
    /// Jobs waiting for a worker.
    pub pending: u64,
    /// Seconds the oldest pending job has waited.
    pub oldest_pending_age_seconds: Option<f64>,
    /// Workers running a job on the replica that answers.
    pub slots_used: usize,
    /// Workers the replica that answers could still start.
    pub slots_free: usize,
    /// How many jobs the replica that answers runs at once (DEPLOY_MAX_WORKERS).
    pub max_workers: usize,
    /// How student code is isolated here.
    pub sandbox: String,
    /// Why deploys are refused here, when they are.
    pub unavailable_reason: Option<String>,
}

impl From<deploy::QueueView> for DeployQueue {
    fn from(view: deploy::QueueView) -> Self {
        let age = view
            .stats
            .oldest_pending
            .map(|t| (chrono::Utc::now() - t).num_milliseconds() as f64 / 1000.0);
        Self {
            pending: view.stats.pending,
            oldest_pending_age_seconds: age,
            slots_used: view.slots_used,
            slots_free: view.max_workers.saturating_sub(view.slots_used),
            max_workers: view.max_workers,
            sandbox: view.sandbox,
            unavailable_reason: view.refusal,
        }
    }
}
