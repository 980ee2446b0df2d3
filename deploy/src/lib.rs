//! The deploy engine: a durable queue of jobs in the projects database, a dispatcher
//! that claims them oldest first while a bounded worker manager has free slots, the
//! pipeline each job runs, the runtimes and the sandbox student code runs in, and the
//! route table the gateway proxies `/apps/<slug>/` with. No GraphQL and no HTTP server
//! here: the gateway holds an [`Engine`] and calls it with plain values.

pub mod apps;
pub mod config;
mod dispatcher;
mod error;
pub mod events;
mod lifecycle;
pub mod logs;
mod lookups;
pub mod manager;
pub mod pipeline;
mod placement;
mod prune;
pub mod queue;
pub mod restart;
mod routines;
pub mod runtime;
pub mod sandbox;

use std::sync::Arc;

use entities::projects::{
    deployment,
    enums::{JobKind, JobStatus},
    job, project,
};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use tokio::sync::{Mutex, Notify, broadcast};

use self::events::Events;
use tokio_util::sync::CancellationToken;

use self::{
    apps::Apps,
    pipeline::Pipeline,
    runtime::{Runtime, docker::DockerRuntime, process::ProcessRuntime},
    sandbox::Sandbox,
};
pub use self::{
    apps::Route,
    config::{EngineConfig, Limits, RuntimeKind, SandboxMode},
    error::EngineError,
    events::Event,
    manager::{Manager, WorkerInfo},
    pipeline::{JobRunner, NoopRunner, Secrets},
    queue::{Payload, QueueStats},
    restart::Backoff,
};

pub(crate) struct Shared {
    config: EngineConfig,
    db: DatabaseConnection,
    manager: Manager,
    apps: Apps,
    sandbox: Arc<Sandbox>,
    runner: Arc<dyn JobRunner>,
    events: Events,
    wake: Arc<Notify>,
    stop_claiming: CancellationToken,
    dispatcher: Mutex<Option<tokio::task::JoinHandle<()>>>,
    runtime: tokio::runtime::Handle,
    /// CPU time of each app at its previous sample, for the CPU share between samples.
    cpu_seen: std::sync::Mutex<std::collections::HashMap<i32, (u64, std::time::Instant)>>,
    crashes: restart::Crashes,
}

/// A handle to the running engine; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    shared: Arc<Shared>,
}

/// A worker running a job, on any replica.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaWorker {
    /// This replica's workers only.
    pub uuid: Option<uuid::Uuid>,
    pub replica: String,
    pub job_id: i32,
    pub project_id: i32,
    pub started_at: chrono::DateTime<chrono::Utc>,
}

/// The queue and the slots, for the admin's view.
#[derive(Clone, Debug)]
pub struct QueueView {
    pub stats: QueueStats,
    pub slots_used: usize,
    pub max_workers: usize,
    pub sandbox: String,
    /// Why deploys are refused here, if they are.
    pub refusal: Option<String>,
}

impl Engine {
    /// The engine with the real pipeline, on the current tokio runtime. It claims
    /// nothing until [`Engine::dispatch`] (commands that only read the databases never
    /// run jobs).
    pub fn new(
        config: EngineConfig,
        db: DatabaseConnection,
        secrets: Arc<dyn Secrets>,
    ) -> Result<Self, EngineError> {
        lifecycle::prepare_deploy_dir(&config)?;
        let sandbox = Arc::new(Sandbox::new(&config));
        let runtime: Arc<dyn Runtime> = match config.runtime {
            RuntimeKind::Process => Arc::new(ProcessRuntime {
                sandbox: sandbox.clone(),
            }),
            RuntimeKind::Docker => Arc::new(DockerRuntime),
        };
        let apps = Apps::default();
        let pipeline = Pipeline {
            config: config.clone(),
            sandbox: sandbox.clone(),
            runtime,
            apps: apps.clone(),
            secrets,
        };
        Ok(Self::with_runner(
            config,
            db,
            sandbox,
            apps,
            Arc::new(pipeline),
        ))
    }

    /// The engine with another runner (tests, the queue benchmark), dispatching.
    pub fn start_with_runner(
        config: EngineConfig,
        db: DatabaseConnection,
        runner: Arc<dyn JobRunner>,
    ) -> Self {
        let sandbox = Arc::new(Sandbox::new(&EngineConfig {
            sandbox: SandboxMode::None,
            ..config.clone()
        }));
        let engine = Self::with_runner(config, db, sandbox, Apps::default(), runner);
        engine.dispatch();
        engine
    }

    /// Starts claiming jobs (once; later calls do nothing), and says at start how
    /// student code is isolated, or why deploys are refused.
    pub fn dispatch(&self) {
        let Ok(mut slot) = self.shared.dispatcher.try_lock() else {
            return;
        };
        if slot.is_some() || self.shared.stop_claiming.is_cancelled() {
            return;
        }
        match (self.shared.config.sandbox, self.shared.sandbox.refusal()) {
            (_, Some(refusal)) => tracing::warn!("{refusal}"),
            (SandboxMode::None, None) => tracing::warn!(
                "DEPLOY_SANDBOX=none: student code runs as the gateway's user, with its \
                 files readable; development only"
            ),
            (SandboxMode::User, None) => {
                tracing::info!(sandbox = %self.shared.sandbox.describe(), "deploy sandbox ready");
            }
        }
        *slot = Some(tokio::spawn(dispatcher::dispatch(self.shared.clone())));
        if self.shared.db.get_database_backend() == sea_orm::DbBackend::Postgres {
            tokio::spawn(events::listen(
                self.shared.db.clone(),
                self.shared.events.clone(),
                self.shared.wake.clone(),
                self.shared.manager.clone(),
                self.shared.stop_claiming.clone(),
            ));
        }
        tokio::spawn(routines::run(self.shared.clone()));
    }

    fn with_runner(
        config: EngineConfig,
        db: DatabaseConnection,
        sandbox: Arc<Sandbox>,
        apps: Apps,
        runner: Arc<dyn JobRunner>,
    ) -> Self {
        let events = Events::new(&db, &config.replica);
        let shared = Arc::new(Shared {
            manager: Manager::new(config.max_workers),
            config,
            db,
            apps,
            sandbox,
            runner,
            events,
            wake: Arc::new(Notify::new()),
            stop_claiming: CancellationToken::new(),
            dispatcher: Mutex::new(None),
            runtime: tokio::runtime::Handle::current(),
            cpu_seen: Default::default(),
            crashes: Default::default(),
        });
        Self { shared }
    }

    pub fn manager(&self) -> &Manager {
        &self.shared.manager
    }

    /// Follows every state change and log line.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.shared.events.subscribe()
    }

    /// The instance of `slug` this replica runs, if any (requests are routed by
    /// [`Engine::resolve`], the project's record, not by this).
    pub fn route(&self, slug: &str) -> Option<Route> {
        self.shared.apps.route(slug)
    }

    /// Why deploys are refused here, if they are.
    pub fn refusal(&self) -> Option<String> {
        self.shared.sandbox.refusal().map(str::to_owned)
    }

    fn check_available(&self) -> Result<(), EngineError> {
        match self.shared.sandbox.refusal() {
            Some(refusal) => Err(EngineError::Unavailable(refusal.to_owned())),
            None => Ok(()),
        }
    }

    /// Queues a deploy of `project` (CONFLICT while one is pending or running) and wakes
    /// the dispatcher.
    pub async fn deploy(
        &self,
        project: &project::Model,
        triggered_by: i32,
    ) -> Result<(job::Model, deployment::Model), EngineError> {
        self.check_available()?;
        self.shared.crashes.forget(project.id);
        let queued = queue::enqueue_within(
            &self.shared.db,
            JobKind::Deploy,
            &Payload::of(project),
            triggered_by,
            self.shared.config.max_active_per_user,
        )
        .await?;
        self.queued(&queued.0, &queued.1);
        Ok(queued)
    }

    fn queued(&self, job: &job::Model, deployment: &deployment::Model) {
        self.shared.events.send(Event::Changed {
            job_id: job.id,
            deployment_id: deployment.id,
            project_id: deployment.project_id,
            status: job.status,
            progress: job.progress,
            message: job.message.clone(),
        });
        self.shared.wake.notify_one();
    }

    /// Cancels a pending or running deployment; a running one's processes are killed at
    /// once and the previous instance keeps serving.
    pub async fn cancel(&self, deployment_id: i32) -> Result<queue::Cancelled, EngineError> {
        let cancelled = queue::cancel(&self.shared.db, deployment_id).await?;
        self.cancelled(&cancelled);
        Ok(cancelled)
    }

    /// Stops a cancelled job's run (here at once; on another replica when the event
    /// reaches it) and tells its followers.
    fn cancelled(&self, cancelled: &queue::Cancelled) {
        self.shared.manager.finish_job(cancelled.job_id);
        self.shared.events.send(Event::Changed {
            job_id: cancelled.job_id,
            deployment_id: cancelled.deployment_id,
            project_id: cancelled.project_id,
            status: JobStatus::Cancelled,
            progress: cancelled.progress,
            message: "cancelled".into(),
        });
    }

    /// Deletes a project: its deploys cancelled (one queued while this runs included),
    /// its app stopped, its row (the schema takes its deployments along) and its folders
    /// removed.
    pub async fn delete_project(&self, project_id: i32) -> Result<(), EngineError> {
        self.remove_project(project_id).await?;
        for straggler in queue::delete_project(&self.shared.db, project_id).await? {
            self.cancelled(&straggler);
        }
        // What a straggler's run wrote before its cancel reached it.
        self.remove_folders(project_id).await;
        Ok(())
    }

    /// Stops a project's app (the first system's maintenance mode) and marks it not
    /// running; true when something was running.
    pub async fn stop_project(&self, project_id: i32) -> Result<bool, EngineError> {
        self.shared.crashes.forget(project_id);
        let apps = self.shared.apps.remove_project(project_id);
        let stopped = !apps.is_empty();
        let _ = tokio::task::spawn_blocking(move || {
            for app in apps {
                app.instance.stop();
            }
        })
        .await;
        queue::set_running(&self.shared.db, project_id, false).await?;
        self.shared.events.send(Event::AppChanged {
            project_id,
            running: false,
            message: "stopped".into(),
        });
        Ok(stopped)
    }

    /// Before a project is deleted: cancels its active deploy, stops its app and
    /// removes its deployment folders.
    pub async fn remove_project(&self, project_id: i32) -> Result<(), EngineError> {
        let active = deployment::Entity::find()
            .filter(deployment::Column::ProjectId.eq(project_id))
            .filter(deployment::Column::Status.is_in([JobStatus::Pending, JobStatus::Running]))
            .all(&self.shared.db)
            .await?;
        for found in active {
            match self.cancel(found.id).await {
                Ok(_) | Err(EngineError::Conflict(_)) => {}
                Err(other) => return Err(other),
            }
        }
        self.stop_project(project_id).await?;
        self.remove_folders(project_id).await;
        Ok(())
    }

    /// Removes a project's disk and folders.
    async fn remove_folders(&self, project_id: i32) {
        let config = &self.shared.config;
        // Its disk first (the folder is that disk's mount point), then its folders.
        self.shared
            .sandbox
            .release_disk(&config.project_dir(project_id), project_id);
        for dir in [
            config.project_dir(project_id),
            config.published_root(project_id),
        ] {
            // A cancelled worker may still be writing there for a moment; retry.
            // (`remove_dir_all` never follows a symlink the project's code left.)
            for _ in 0..20 {
                if !dir.exists() || std::fs::remove_dir_all(&dir).is_ok() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }

    /// Samples every running app's CPU, memory and disk IO now (the statistics routine
    /// does this every `stats_interval`); keeps the newest 50 samples per project.
    pub async fn sample_statistics(&self) -> Result<usize, EngineError> {
        routines::sample(&self.shared).await
    }

    /// Marks apps that died not running now (the liveness routine does this every
    /// `liveness_interval`); returns how many.
    pub async fn check_liveness(&self) -> Result<usize, EngineError> {
        routines::liveness(&self.shared).await
    }

    /// Pending jobs and slots.
    pub async fn queue_view(&self) -> Result<QueueView, EngineError> {
        let stats = queue::stats(&self.shared.db).await?;
        Ok(QueueView {
            stats,
            slots_used: self.shared.manager.running().len(),
            max_workers: self.shared.manager.max_workers(),
            sandbox: self.shared.sandbox.describe(),
            refusal: self.refusal(),
        })
    }
}
