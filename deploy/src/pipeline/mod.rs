//! The deploy pipeline, one job on one worker thread: fetch (20) → build (40) → start
//! (60) → publish (80) → route (100). Each step records its progress and a message under
//! the job's lease; every line of output goes to the deployment's BUILD log, the app's
//! to its RUNTIME log. Any failure stops what the deploy started and leaves the previous
//! instance serving.

pub mod fetch;
pub mod publish;
pub mod spec;
mod start;

use std::{
    collections::BTreeMap,
    net::{Ipv4Addr, SocketAddr},
    path::Path,
    sync::Arc,
    time::Duration,
};

use async_trait::async_trait;
use entities::projects::enums::{JobKind, LogKind};
use sea_orm::DatabaseConnection;
use tokio_util::sync::CancellationToken;

use self::{
    spec::Spec,
    start::{free_port, fresh_dir, prune, stop, wait_up},
};
use crate::{
    apps::{App, Apps, Route},
    config::EngineConfig,
    error::EngineError,
    events::Event,
    logs::LogSink,
    queue::{self, Claimed, Lease},
    runtime::{BuildContext, Handle, Runtime, StartContext},
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
pub const RESERVED: [&str; 6] = ["PORT", "HOST", "HOME", "PATH", "LANG", "APP_BASE_PATH"];

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
        env.insert("APP_BASE_PATH".into(), format!("/apps/{slug}/"));
        if let Some(port) = port {
            env.insert("PORT".into(), port.to_string());
            env.insert("HOST".into(), "127.0.0.1".into());
        }
        Ok(env.into_iter().collect())
    }

    async fn deploy(&self, job: &Claimed, ctx: &JobContext) -> Result<Done, StepError> {
        let payload = &job.payload;
        let deployment_id = job.deployment.id;
        let build_log = self.log(ctx, LogKind::Build);
        let project_dir = self.config.deploy_dir.join(payload.project_id.to_string());
        // The folder whose build runs: this deployment's, or the one a START reuses.
        let (folder_id, spec) = match job.job.kind {
            JobKind::Deploy => {
                let dir = project_dir.join(deployment_id.to_string());
                let src = dir.join("src");
                fresh_dir(&project_dir, &dir)?;
                let commit = fetch::clone(
                    &payload.repository_url,
                    &src,
                    &build_log,
                    &ctx.cancel,
                    self.config.build_timeout,
                    self.config.allow_local_repositories,
                )
                .await?;
                queue::set_commit(&ctx.db, &ctx.lease, &commit).await?;
                self.sandbox.hand_over(&dir, payload.project_id)?;
                ctx.progress(20, &format!("fetched commit {commit}"))
                    .await?;
                let spec = self.spec(&src, &build_log).await?;
                let env = self
                    .environment(payload.project_id, &payload.slug, &dir, None)
                    .await?;
                self.runtime
                    .build(BuildContext {
                        project_id: payload.project_id,
                        deployment_id,
                        slug: &payload.slug,
                        src: &src,
                        spec: &spec,
                        env: &env,
                        log: &build_log,
                        cancel: &ctx.cancel,
                        timeout: self.config.build_timeout,
                    })
                    .await?;
                ctx.progress(40, "built").await?;
                (deployment_id, spec)
            }
            JobKind::Start => {
                let source = payload.source_deployment.ok_or_else(|| {
                    StepError::Failed("a start job names no build to start".into())
                })?;
                let src = project_dir.join(source.to_string()).join("src");
                if !src.is_dir() {
                    return Err(StepError::Failed(format!(
                        "the build of deployment {source} is no longer on disk: deploy again"
                    )));
                }
                build_log
                    .line(format!("reusing the build of deployment {source}"))
                    .await;
                ctx.progress(20, &format!("reusing the build of deployment {source}"))
                    .await?;
                let spec = self.spec(&src, &build_log).await?;
                ctx.progress(40, "build reused").await?;
                (source, spec)
            }
        };
        let dir = project_dir.join(folder_id.to_string());
        let src = dir.join("src");

        // start
        let port = free_port()?;
        let env = self
            .environment(payload.project_id, &payload.slug, &dir, Some(port))
            .await?;
        let instance = self
            .runtime
            .start(StartContext {
                project_id: payload.project_id,
                deployment_id,
                slug: &payload.slug,
                src: &src,
                spec: &spec,
                env: &env,
                port,
                container_port: payload.container_port,
                log: self.log(ctx, LogKind::Runtime),
                limits: self.sandbox.limits(),
            })
            .await?;
        if let Err(error) = wait_up(
            &instance,
            port,
            spec.health_path.as_deref(),
            self.config.start_timeout,
            &ctx.cancel,
        )
        .await
        {
            stop(instance).await;
            return Err(error);
        }
        let serves = !matches!(instance.handle, Handle::Nothing);
        let started = if serves {
            format!("started; the app answers on port {port}")
        } else {
            "no start command: a static site".into()
        };
        if let Err(error) = ctx.progress(60, &started).await {
            stop(instance).await;
            return Err(error);
        }

        // publish
        let static_path = payload.static_path.clone().or(spec.static_dir.clone());
        let public = dir.join("public");
        let static_dir = match &static_path {
            None => None,
            Some(relative) => {
                match publish::publish(
                    &self.sandbox,
                    payload.project_id,
                    deployment_id,
                    &src,
                    relative,
                    &public,
                    &build_log,
                )
                .await
                {
                    Ok(files) => {
                        build_log
                            .line(format!("published {relative}/ ({files} files)"))
                            .await;
                        Some(public.clone())
                    }
                    Err(error) => {
                        stop(instance).await;
                        return Err(error);
                    }
                }
            }
        };
        let published = match &static_path {
            Some(relative) => format!("published {relative}/"),
            None => "no static folder".into(),
        };
        if let Err(error) = ctx.progress(80, &published).await {
            stop(instance).await;
            return Err(error);
        }

        // route (once the success is committed)
        let route = Route {
            project_id: payload.project_id,
            deployment_id: folder_id,
            addr: serves.then(|| SocketAddr::from((Ipv4Addr::LOCALHOST, port))),
            static_dir,
        };
        let instance_record = match &instance.handle {
            Handle::Process {
                pid: Some(pid),
                cgroup,
            } => i32::try_from(*pid)
                .ok()
                .map(|pid| (pid, cgroup.as_ref().and_then(|c| c.name()))),
            _ => None,
        };
        let apps = self.apps.clone();
        let slug = payload.slug.clone();
        let keep_dir = project_dir.clone();
        let activate = move |committed: bool| {
            if !committed {
                instance.stop();
                return;
            }
            let previous = apps.replace(
                &slug,
                App {
                    route: route.clone(),
                    instance,
                },
            );
            let mut keep = vec![route.deployment_id];
            for old in previous {
                keep.push(old.route.deployment_id);
                apps.retire(old);
            }
            prune(&keep_dir, &keep);
        };
        let process = instance_record.clone();
        Ok(Done {
            endpoint: serves.then(|| format!("127.0.0.1:{port}")),
            process,
            message: format!("serving at /apps/{}/", payload.slug),
            activate: Some(Box::new(activate)),
        })
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
            message: "done".into(),
            activate: None,
        })
    }
}
