//! The `docker` runtime: `docker build` of the repository's Dockerfile and `docker run`
//! through the CLI, with the same limits as the process runtime. No Docker engine runs
//! on the machines this project is tested on: the command lines are unit-tested here,
//! the end-to-end path runs only where `docker info` succeeds.

use std::{path::Path, process::Stdio};

use async_trait::async_trait;

use super::{BuildContext, Handle, Instance, Runtime, StartContext};
use crate::{
    config::Limits,
    pipeline::{StepError, spec::Spec},
};

pub mod stats;

pub struct DockerRuntime;

/// Whether a Docker engine answers here.
pub fn available() -> bool {
    std::process::Command::new("docker")
        .arg("info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

pub fn image(slug: &str, deployment_id: i32) -> String {
    format!("students-project/{slug}:{deployment_id}")
}

pub fn container(slug: &str, deployment_id: i32) -> String {
    format!("sp-{slug}-{deployment_id}")
}

/// `docker build` arguments.
pub fn build_args(slug: &str, deployment_id: i32, src: &Path, limits: &Limits) -> Vec<String> {
    vec![
        "build".into(),
        "--pull".into(),
        "--memory".into(),
        limits.memory_bytes.to_string(),
        "--tag".into(),
        image(slug, deployment_id),
        src.display().to_string(),
    ]
}

/// `docker run` arguments: published on loopback only, no capabilities, no new
/// privileges, memory/pids/files limits, the project's variables.
pub fn run_args(
    slug: &str,
    deployment_id: i32,
    port: u16,
    container_port: i32,
    env: &[(String, String)],
    limits: &Limits,
) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "run".into(),
        "--detach".into(),
        "--init".into(),
        "--name".into(),
        container(slug, deployment_id),
        "--publish".into(),
        format!("127.0.0.1:{port}:{container_port}"),
        "--memory".into(),
        limits.memory_bytes.to_string(),
        "--pids-limit".into(),
        limits.processes.to_string(),
        "--cpus".into(),
        format!("{:.2}", f64::from(limits.cpu_percent) / 100.0),
        "--ulimit".into(),
        format!("nofile={0}:{0}", limits.open_files),
        "--cap-drop".into(),
        "ALL".into(),
        "--security-opt".into(),
        "no-new-privileges".into(),
    ];
    for (name, value) in env {
        // Inside the container the app listens on its own port.
        let value = if name == "PORT" {
            container_port.to_string()
        } else {
            value.clone()
        };
        args.push("--env".into());
        args.push(format!("{name}={value}"));
    }
    args.push(image(slug, deployment_id));
    args
}

/// Removes a container, running or not.
pub fn remove(container: &str) {
    let _ = std::process::Command::new("docker")
        .args(["rm", "--force", container])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

async fn docker(args: &[String], log: &crate::logs::LogSink) -> Result<(), StepError> {
    let mut child = tokio::process::Command::new("docker")
        .args(args)
        .env_clear()
        .env("PATH", crate::sandbox::PATH)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| StepError::Failed(format!("cannot run docker: {e}")))?;
    if let (Some(out), Some(err)) = (child.stdout.take(), child.stderr.take()) {
        log.pump(out, err).await;
    }
    let status = child
        .wait()
        .await
        .map_err(|e| StepError::Failed(format!("docker: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(StepError::Failed(format!(
            "docker {} {}",
            args.first().map_or("", String::as_str),
            super::process::describe(status)
        )))
    }
}

#[async_trait]
impl Runtime for DockerRuntime {
    fn name(&self) -> &'static str {
        "docker"
    }

    fn spec(&self, src: &Path) -> Result<Spec, String> {
        if !src.join("Dockerfile").is_file() {
            return Err("the repository has no Dockerfile at its root".into());
        }
        // deploy.toml is optional here (static folder, health path).
        if src.join(super::super::pipeline::spec::FILE).exists() {
            Spec::read(src)
        } else {
            Ok(Spec::default())
        }
    }

    async fn build(&self, ctx: BuildContext<'_>) -> Result<(), StepError> {
        let args = build_args(ctx.slug, ctx.deployment_id, ctx.src, &Limits::default());
        tokio::select! {
            result = docker(&args, ctx.log) => result,
            () = ctx.cancel.cancelled() => Err(StepError::Cancelled),
            () = tokio::time::sleep(ctx.timeout) => Err(StepError::Failed("the docker build took too long".into())),
        }
    }

    async fn start(&self, ctx: StartContext<'_>) -> Result<Instance, StepError> {
        let name = container(ctx.slug, ctx.deployment_id);
        remove(&name);
        let args = run_args(
            ctx.slug,
            ctx.deployment_id,
            ctx.port,
            ctx.container_port,
            ctx.env,
            &ctx.limits,
        );
        docker(&args, &ctx.log).await?;
        let instance = Instance {
            handle: Handle::Docker {
                container: name.clone(),
            },
            exited: Default::default(),
        };
        let log = ctx.log.clone();
        let exited = instance.exited.clone();
        tokio::spawn(async move {
            let _ = docker(&["logs".into(), "--follow".into(), name.clone()], &log).await;
            let how = tokio::task::spawn_blocking(move || stats::ended(&name))
                .await
                .ok()
                .flatten()
                .unwrap_or_else(|| "stopped".into());
            log.line(format!("the app {how}")).await;
            *exited
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(how);
        });
        Ok(instance)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_publishes_on_loopback_with_limits_and_no_privileges() {
        let limits = Limits {
            memory_bytes: 256,
            processes: 32,
            open_files: 64,
            cpu_secs: 10,
            cpu_percent: 50,
        };
        let env = vec![
            ("PORT".into(), "41000".into()),
            ("API_KEY".into(), "k".into()),
        ];
        let args = run_args("my-app", 7, 41000, 8080, &env, &limits).join(" ");
        assert_eq!(
            args,
            "run --detach --init --name sp-my-app-7 --publish 127.0.0.1:41000:8080 --memory 256 \
             --pids-limit 32 --cpus 0.50 --ulimit nofile=64:64 --cap-drop ALL --security-opt \
             no-new-privileges --env PORT=8080 --env API_KEY=k students-project/my-app:7"
        );
    }

    #[test]
    fn build_tags_the_image_per_deployment() {
        let args = build_args("my-app", 7, Path::new("/d/7/src"), &Limits::default());
        assert_eq!(args.last().map(String::as_str), Some("/d/7/src"));
        assert!(args.contains(&"students-project/my-app:7".to_owned()));
    }
}
