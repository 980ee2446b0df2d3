//! The `process` runtime: `deploy.toml`'s build and start commands, run sandboxed as
//! supervised child processes with their output in the deployment's logs.

use std::{path::Path, process::ExitStatus, sync::Arc};

use async_trait::async_trait;
use std::os::unix::process::ExitStatusExt;

use super::{BuildContext, Handle, Instance, Runtime, StartContext};
use crate::{
    pipeline::{StepError, spec::Spec},
    sandbox::{self, Network, Sandbox, Spawn},
};

/// The deployment's folder (`src`'s parent: its home, caches and build output), the only
/// one its commands write.
pub fn deployment_folder(src: &Path) -> Vec<std::path::PathBuf> {
    vec![src.parent().unwrap_or(src).to_owned()]
}

pub struct ProcessRuntime {
    pub sandbox: Arc<Sandbox>,
}

/// "exited with code 1", "killed by signal 9 (SIGKILL)".
pub fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(signal)) => {
            let name = nix::sys::signal::Signal::try_from(signal)
                .map(|s| format!(" ({})", s.as_str()))
                .unwrap_or_default();
            format!("killed by signal {signal}{name}")
        }
        (None, None) => "ended".into(),
    }
}

#[async_trait]
impl Runtime for ProcessRuntime {
    fn name(&self) -> &'static str {
        "process"
    }

    fn spec(&self, src: &Path) -> Result<Spec, String> {
        let spec = Spec::read(src)?;
        if spec.start.is_none() && spec.static_dir.is_none() {
            return Err("deploy.toml needs `start` (or `static` for a static-only site)".into());
        }
        Ok(spec)
    }

    async fn build(&self, ctx: BuildContext<'_>) -> Result<(), StepError> {
        let Some(build) = &ctx.spec.build else {
            ctx.log.line("no build command in deploy.toml").await;
            return Ok(());
        };
        ctx.log.line(format!("$ {build}")).await;
        let writable = deployment_folder(ctx.src);
        let prepared = self
            .sandbox
            .command(&Spawn {
                project_id: ctx.project_id,
                name: format!("build-{}", ctx.deployment_id),
                cwd: ctx.src,
                writable: &writable,
                readable: &[],
                env: ctx.env,
                shell: build,
                args: &[],
                cpu_secs: Some(ctx.timeout.as_secs().max(1)),
                network: Network::Build,
            })
            .map_err(|e| StepError::Failed(e.to_string()))?;
        let mut command = prepared.command;
        let (cgroup, netns) = (prepared.cgroup, prepared.netns);
        let mut child = command
            .spawn()
            .map_err(|e| StepError::Failed(format!("cannot run the build command: {e}")))?;
        let pid = child.id();
        let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(StepError::Failed("the build's output is not piped".into()));
        };
        let log = ctx.log.clone();
        let pump = tokio::spawn(async move { log.pump(stdout, stderr).await });
        let outcome = tokio::select! {
            status = child.wait() => Ok(status),
            () = ctx.cancel.cancelled() => Err(StepError::Cancelled),
            () = tokio::time::sleep(ctx.timeout) => Err(StepError::Failed(format!(
                "the build took longer than {} s and was stopped", ctx.timeout.as_secs()
            ))),
        };
        // Whatever happened, nothing of the build outlives it.
        let _ = tokio::task::spawn_blocking(move || {
            sandbox::kill_tree(pid, cgroup.as_ref(), netns.as_ref());
        })
        .await;
        let _ = child.wait().await;
        let _ = pump.await;
        let status = outcome?.map_err(|e| StepError::Failed(format!("the build: {e}")))?;
        if status.success() {
            Ok(())
        } else {
            let tail = ctx.log.tail(5).await.join("\n");
            Err(StepError::Failed(format!(
                "the build command {}: {tail}",
                describe(status)
            )))
        }
    }

    async fn start(&self, ctx: StartContext<'_>) -> Result<Instance, StepError> {
        let Some(start) = &ctx.spec.start else {
            return Ok(Instance::nothing());
        };
        ctx.log.line(format!("$ {start}")).await;
        let writable = deployment_folder(ctx.src);
        let prepared = self
            .sandbox
            .command(&Spawn {
                project_id: ctx.project_id,
                name: format!("app-{}", ctx.deployment_id),
                cwd: ctx.src,
                writable: &writable,
                readable: &[],
                env: ctx.env,
                shell: start,
                args: &[],
                cpu_secs: None,
                network: Network::App { port: ctx.port },
            })
            .map_err(|e| StepError::Failed(e.to_string()))?;
        let mut command = prepared.command;
        let mut child = command
            .spawn()
            .map_err(|e| StepError::Failed(format!("cannot run the start command: {e}")))?;
        let pid = child.id();
        let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(StepError::Failed("the app's output is not piped".into()));
        };
        let instance = Instance {
            handle: Handle::Process {
                pid,
                cgroup: prepared.cgroup,
                netns: prepared.netns,
            },
            exited: Default::default(),
        };
        let exited = instance.exited.clone();
        let log = ctx.log.clone();
        tokio::spawn(async move {
            let pump = {
                let log = log.clone();
                tokio::spawn(async move { log.pump(stdout, stderr).await })
            };
            let how = match child.wait().await {
                Ok(status) => describe(status),
                Err(error) => format!("lost ({error})"),
            };
            let _ = pump.await;
            log.line(format!("the app {how}")).await;
            *exited
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(how);
        });
        Ok(instance)
    }
}
