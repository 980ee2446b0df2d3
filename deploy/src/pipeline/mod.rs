//! The deploy pipeline, one job on one worker thread: fetch (20) → build (40) → start
//! (60) → publish (80) → route (100). Each step records its progress and a message under
//! the job's lease; every line of output goes to the deployment's BUILD log, the app's
//! to its RUNTIME log. Any failure stops what the deploy started and leaves the previous
//! instance serving.

pub mod fetch;
pub mod publish;
pub mod spec;
mod start;
mod steps;

use std::{collections::BTreeMap, path::Path, sync::Arc, time::Duration};

use async_trait::async_trait;
use entities::projects::enums::LogKind;
use sea_orm::DatabaseConnection;
use tokio_util::sync::CancellationToken;

use self::spec::Spec;
use crate::{
    apps::Apps,
    config::EngineConfig,
    error::EngineError,
    events::Event,
    logs::LogSink,
    queue::{self, Claimed, Lease},
    runtime::Runtime,
    sandbox::{PATH, Sandbox},
};

/// Why a job stopped before the end.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error("{0}")]
    Failed(String),
    #[error("cancelled")]
    Cancelled,
    /// A newer claim or a cancel moved the lease on: write nothing more.
    #[error("the job's lease was lost")]
    LeaseLost,
}

impl From<EngineError> for StepError {
    fn from(error: EngineError) -> Self {
        match error {
            EngineError::LeaseLost => StepError::LeaseLost,
            other => StepError::Failed(other.to_string()),
        }
    }
}

/// What a running job has at hand.
pub struct JobContext {
    pub runtime: tokio::runtime::Handle,
    pub db: DatabaseConnection,
    pub lease: Lease,
    pub cancel: CancellationToken,
    pub events: crate::events::Events,
    pub lease_length: Duration,
    /// The last progress recorded, for the event that ends the job.
    pub last_progress: std::sync::atomic::AtomicI32,
}

impl JobContext {
    /// Records a step's progress and message (and renews the lease).
    pub async fn progress(&self, progress: i32, message: &str) -> Result<(), StepError> {
        if self.cancel.is_cancelled() {
            return Err(StepError::Cancelled);
        }
        queue::progress(&self.db, &self.lease, progress, message, self.lease_length).await?;
        self.last_progress
            .store(progress, std::sync::atomic::Ordering::Relaxed);
        self.events.send(Event::Changed {
            job_id: self.lease.job_id,
            deployment_id: self.lease.deployment_id,
            project_id: self.lease.project_id,
            status: entities::projects::enums::JobStatus::Running,
            progress,
            message: message.to_owned(),
        });
        Ok(())
    }
}

/// What a successful run hands back: where the app listens, the final message, and
/// what to do once the job's success is committed (route the new instance) or refused
/// (stop it: the job was cancelled meanwhile).
pub struct Done {
    pub endpoint: Option<String>,
    /// The app's process group and cgroup name, recorded for crash recovery.
    pub process: Option<(i32, Option<String>)>,
    /// The build folder the app serves from; `None`: the deployment's own.
    pub folder: Option<i32>,
    pub message: String,
    pub activate: Option<Box<dyn FnOnce(bool) + Send>>,
}

/// Runs one claimed job on the current (worker) thread.
pub trait JobRunner: Send + Sync + 'static {
    fn run(&self, job: &Claimed, ctx: &JobContext) -> Result<Done, StepError>;
}

/// A project's variables, decrypted when a job runs (they are never in the payload).
#[async_trait]
pub trait Secrets: Send + Sync {
    async fn variables(&self, project_id: i32) -> Result<Vec<(String, String)>, String>;
}

/// Names an app cannot set through its variables: the platform sets them.
pub const RESERVED: [&str; 7] = [
    "PORT",
    "HOST",
    "HOME",
    "PATH",
    "LANG",
    "APP_BASE_PATH",
    "APP_URL",
];

pub struct Pipeline {
    pub config: EngineConfig,
    pub sandbox: Arc<Sandbox>,
    pub runtime: Arc<dyn Runtime>,
    pub apps: Apps,
    pub secrets: Arc<dyn Secrets>,
}

impl JobRunner for Pipeline {
    fn run(&self, job: &Claimed, ctx: &JobContext) -> Result<Done, StepError> {
        ctx.runtime.block_on(self.deploy(job, ctx))
    }
}

impl Pipeline {
    fn log(&self, ctx: &JobContext, kind: LogKind) -> LogSink {
        LogSink::new(
            ctx.db.clone(),
            ctx.lease.deployment_id,
            kind,
            self.config.log_max_lines,
            ctx.events.clone(),
        )
    }

    /// The variables an app (or its build) sees, and nothing of the gateway's own.
    async fn environment(
        &self,
        project_id: i32,
        slug: &str,
        home: &Path,
        port: Option<u16>,
    ) -> Result<Vec<(String, String)>, StepError> {
        let variables = self
            .secrets
            .variables(project_id)
            .await
            .map_err(|e| StepError::Failed(format!("reading the project's variables: {e}")))?;
        let mut env: BTreeMap<String, String> = variables
            .into_iter()
            .filter(|(name, _)| !RESERVED.contains(&name.as_str()))
            .collect();
        env.extend(self.config.extra_env.iter().cloned());
        env.insert("PATH".into(), PATH.into());
        env.insert("HOME".into(), home.display().to_string());
        env.insert("LANG".into(), "C.UTF-8".into());
        // At the root of its own origin.
        env.insert("APP_BASE_PATH".into(), "/".into());
        env.insert("APP_URL".into(), self.config.app_url(slug));
        if let Some(port) = port {
            env.insert("PORT".into(), port.to_string());
            env.insert("HOST".into(), "127.0.0.1".into());
        }
        Ok(env.into_iter().collect())
    }

    async fn spec(&self, src: &Path, log: &LogSink) -> Result<Spec, StepError> {
        match self.runtime.spec(src) {
            Ok(spec) => Ok(spec),
            Err(message) => {
                log.line(message.clone()).await;
                Err(StepError::Failed(message))
            }
        }
    }
}

/// A job that does nothing: for measuring the queue itself (claims and finishes per
/// second, enqueue-to-start latency) and testing the engine without processes.
pub struct NoopRunner;

impl JobRunner for NoopRunner {
    fn run(&self, _job: &Claimed, _ctx: &JobContext) -> Result<Done, StepError> {
        Ok(Done {
            endpoint: None,
            process: None,
            folder: None,
            message: "done".into(),
            activate: None,
        })
    }
}
