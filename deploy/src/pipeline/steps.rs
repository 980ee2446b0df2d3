//! The steps of one deploy, in order: prepare a build (fetch and build, or reuse an
//! earlier one), start the app, publish its static folder, and hand back the route that
//! goes live once the job's success is committed. A step that fails after the start
//! stops the instance it started.

use std::{
    net::{Ipv4Addr, SocketAddr},
    path::{Path, PathBuf},
};

use entities::projects::enums::{JobKind, LogKind};

use super::{
    Done, JobContext, Pipeline, StepError, fetch, publish,
    spec::Spec,
    start::{free_port, fresh_dir, prune, stop, wait_up},
};
use crate::{
    apps::{App, Route},
    logs::LogSink,
    queue::{self, Claimed},
    runtime::{BuildContext, Handle, Instance, StartContext},
};

/// A step's outcome while an instance runs: a failure stops the instance first.
async fn or_stop<T>(
    result: Result<T, StepError>,
    instance: Instance,
) -> Result<(T, Instance), StepError> {
    match result {
        Ok(value) => Ok((value, instance)),
        Err(error) => {
            stop(instance).await;
            Err(error)
        }
    }
}

/// The app started by a deploy, listening on `port` (or serving nothing: a static site).
struct Started {
    instance: Instance,
    port: u16,
    serves: bool,
}

impl Pipeline {
    pub(super) async fn deploy(&self, job: &Claimed, ctx: &JobContext) -> Result<Done, StepError> {
        let build_log = self.log(ctx, LogKind::Build);
        let project_dir = self.config.project_dir(job.payload.project_id);
        // The folder whose build runs: this deployment's, or the one a START reuses.
        let (folder_id, spec) = match job.job.kind {
            JobKind::Deploy => {
                self.fetch_and_build(job, ctx, &project_dir, &build_log)
                    .await?
            }
            JobKind::Start => self.reuse_build(job, ctx, &project_dir, &build_log).await?,
        };
        let dir = project_dir.join(folder_id.to_string());
        let started = self.start_app(job, ctx, &dir, &spec).await?;
        let (static_dir, started) = self
            .publish_static(job, ctx, (&dir, folder_id), &spec, &build_log, started)
            .await?;
        Ok(self.route(job, project_dir, folder_id, started, static_dir))
    }

    /// Clones the repository into this deployment's folder and builds it.
    async fn fetch_and_build(
        &self,
        job: &Claimed,
        ctx: &JobContext,
        project_dir: &Path,
        build_log: &LogSink,
    ) -> Result<(i32, Spec), StepError> {
        let payload = &job.payload;
        let deployment_id = job.deployment.id;
        let dir = project_dir.join(deployment_id.to_string());
        let src = dir.join("src");
        self.sandbox.ensure_disk(project_dir, payload.project_id)?;
        fresh_dir(project_dir, &dir)?;
        // The project's user owns its folder before any of its code (git included) runs.
        self.sandbox.hand_over(&dir, payload.project_id)?;
        let commit = fetch::Fetch {
            sandbox: &self.sandbox,
            project_id: payload.project_id,
            deployment_id,
            dir: &dir,
            allow_local: self.config.allow_local_repositories,
        }
        .clone(
            &payload.repository_url,
            build_log,
            &ctx.cancel,
            self.config.build_timeout,
        )
        .await?;
        queue::set_commit(&ctx.db, &ctx.lease, &commit).await?;
        ctx.progress(20, &format!("fetched commit {commit}"))
            .await?;
        let spec = self.spec(&src, build_log).await?;
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
                log: build_log,
                cancel: &ctx.cancel,
                timeout: self.config.build_timeout,
            })
            .await?;
        ctx.progress(40, "built").await?;
        Ok((deployment_id, spec))
    }

    /// A START job: the build of an earlier deployment, still on disk.
    async fn reuse_build(
        &self,
        job: &Claimed,
        ctx: &JobContext,
        project_dir: &Path,
        build_log: &LogSink,
    ) -> Result<(i32, Spec), StepError> {
        let source = job
            .payload
            .source_deployment
            .ok_or_else(|| StepError::Failed("a start job names no build to start".into()))?;
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
        let spec = self.spec(&src, build_log).await?;
        ctx.progress(40, "build reused").await?;
        Ok((source, spec))
    }

    /// Starts the app on a free loopback port and waits until it answers.
    async fn start_app(
        &self,
        job: &Claimed,
        ctx: &JobContext,
        dir: &Path,
        spec: &Spec,
    ) -> Result<Started, StepError> {
        let payload = &job.payload;
        let port = free_port()?;
        let env = self
            .environment(payload.project_id, &payload.slug, dir, Some(port))
            .await?;
        let instance = self
            .runtime
            .start(StartContext {
                project_id: payload.project_id,
                deployment_id: job.deployment.id,
                slug: &payload.slug,
                src: &dir.join("src"),
                spec,
                env: &env,
                port,
                container_port: payload.container_port,
                log: self.log(ctx, LogKind::Runtime),
                limits: self.sandbox.limits(),
            })
            .await?;
        // The host side may differ from the app's `PORT` (a clash at bind time).
        let port = instance.host_port().unwrap_or(port);
        let up = wait_up(
            &instance,
            port,
            spec.health_path.as_deref(),
            self.config.start_timeout,
            &ctx.cancel,
        )
        .await;
        let ((), instance) = or_stop(up, instance).await?;
        let serves = !matches!(instance.handle, Handle::Nothing);
        let message = if serves {
            format!("started; the app answers on port {port}")
        } else {
            "no start command: a static site".into()
        };
        let ((), instance) = or_stop(ctx.progress(60, &message).await, instance).await?;
        Ok(Started {
            instance,
            port,
            serves,
        })
    }

    /// Copies the static folder (the project's, or the spec's) out of the build.
    async fn publish_static(
        &self,
        job: &Claimed,
        ctx: &JobContext,
        (dir, folder_id): (&Path, i32),
        spec: &Spec,
        build_log: &LogSink,
        started: Started,
    ) -> Result<(Option<PathBuf>, Started), StepError> {
        let payload = &job.payload;
        let Some(relative) = payload.static_path.clone().or(spec.static_dir.clone()) else {
            let result = ctx.progress(80, "no static folder").await;
            let ((), instance) = or_stop(result, started.instance).await?;
            return Ok((
                None,
                Started {
                    instance,
                    ..started
                },
            ));
        };
        // Outside the project's folder: its code can neither rename nor replace it.
        let public = self.config.published_dir(payload.project_id, folder_id);
        let published = publish::publish(
            &self.sandbox,
            payload.project_id,
            job.deployment.id,
            &dir.join("src"),
            &relative,
            &public,
            build_log,
        )
        .await;
        let (files, instance) = or_stop(published, started.instance).await?;
        build_log
            .line(format!("published {relative}/ ({files} files)"))
            .await;
        let result = ctx.progress(80, &format!("published {relative}/")).await;
        let ((), instance) = or_stop(result, instance).await?;
        Ok((
            Some(public),
            Started {
                instance,
                ..started
            },
        ))
    }

    /// What the job hands back: the route that replaces the project's current one once
    /// the success is committed (older builds pruned), or the instance stopped if not.
    fn route(
        &self,
        job: &Claimed,
        project_dir: PathBuf,
        folder_id: i32,
        started: Started,
        static_dir: Option<PathBuf>,
    ) -> Done {
        let Started {
            instance,
            port,
            serves,
        } = started;
        let route = Route {
            project_id: job.payload.project_id,
            deployment_id: folder_id,
            addr: serves.then(|| SocketAddr::from((Ipv4Addr::LOCALHOST, port))),
            static_dir,
        };
        let process = process_of(&instance);
        let apps = self.apps.clone();
        let deployment_id = job.deployment.id;
        let slug = job.payload.slug.clone();
        let published_root = self.config.published_root(job.payload.project_id);
        let activate = move |committed: bool| {
            if !committed {
                instance.stop();
                return;
            }
            let previous = apps.replace(
                &slug,
                App {
                    route: route.clone(),
                    deployment_id,
                    instance,
                },
            );
            let mut keep = vec![route.deployment_id];
            for old in previous {
                keep.push(old.route.deployment_id);
                apps.retire(old);
            }
            prune(&project_dir, &keep);
            prune(&published_root, &keep);
        };
        Done {
            endpoint: serves.then(|| format!("127.0.0.1:{port}")),
            process,
            folder: Some(folder_id),
            message: format!("serving at {}", self.config.app_url(&job.payload.slug)),
            activate: Some(Box::new(activate)),
        }
    }
}

/// The app's process group and cgroup name, recorded for crash recovery.
fn process_of(instance: &Instance) -> Option<(i32, Option<String>)> {
    match &instance.handle {
        Handle::Process {
            pid: Some(pid),
            cgroup,
            ..
        } => i32::try_from(*pid)
            .ok()
            .map(|pid| (pid, cgroup.as_ref().and_then(|c| c.name()))),
        _ => None,
    }
}
