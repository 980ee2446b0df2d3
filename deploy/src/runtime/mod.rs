//! Runtimes build and run an app behind one trait: `process` (commands from
//! `deploy.toml`, sandboxed child processes) and `docker` (the docker CLI).

pub mod docker;
pub mod process;

use std::{
    path::Path,
    sync::{Arc, Mutex},
};

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use crate::{
    config::Limits,
    logs::LogSink,
    pipeline::{StepError, spec::Spec},
    sandbox::{self, Cgroup},
};

/// What a build needs.
pub struct BuildContext<'a> {
    pub project_id: i32,
    pub deployment_id: i32,
    pub slug: &'a str,
    pub src: &'a Path,
    pub spec: &'a Spec,
    pub env: &'a [(String, String)],
    pub log: &'a LogSink,
    pub cancel: &'a CancellationToken,
    pub timeout: std::time::Duration,
}

/// What a start needs.
pub struct StartContext<'a> {
    pub project_id: i32,
    pub deployment_id: i32,
    pub slug: &'a str,
    pub src: &'a Path,
    pub spec: &'a Spec,
    pub env: &'a [(String, String)],
    /// The host port the app must answer on.
    pub port: u16,
    /// The port the app listens on inside its container (docker).
    pub container_port: i32,
    pub log: LogSink,
    pub limits: Limits,
}

#[async_trait]
pub trait Runtime: Send + Sync {
    fn name(&self) -> &'static str;
    /// Reads how to build and start the repository (`deploy.toml`, a Dockerfile).
    fn spec(&self, src: &Path) -> Result<Spec, String>;
    async fn build(&self, ctx: BuildContext<'_>) -> Result<(), StepError>;
    async fn start(&self, ctx: StartContext<'_>) -> Result<Instance, StepError>;
}

/// How a started app is stopped.
#[derive(Debug)]
pub enum Handle {
    /// A sandboxed process: its session's group, its cgroup and its network.
    Process {
        pid: Option<u32>,
        cgroup: Option<Cgroup>,
        netns: Option<sandbox::net::Netns>,
    },
    /// A container, by name.
    Docker { container: String },
    /// Nothing runs (a static-only site).
    Nothing,
}

/// A running app.
#[derive(Debug)]
pub struct Instance {
    pub handle: Handle,
    /// How the app ended, once it has (exit code or signal).
    pub exited: Arc<Mutex<Option<String>>>,
}

impl Instance {
    pub fn nothing() -> Self {
        Self {
            handle: Handle::Nothing,
            exited: Arc::new(Mutex::new(None)),
        }
    }

    /// The processes of the app: its cgroup's, else its process group's.
    pub fn pids(&self) -> Vec<i32> {
        match &self.handle {
            Handle::Process {
                cgroup: Some(group),
                ..
            } => group.pids(),
            Handle::Process { pid: Some(pid), .. } => {
                let leader = i32::try_from(*pid).unwrap_or(-1);
                crate::routines::processes()
                    .into_iter()
                    .filter(|p| p.pgid == leader)
                    .map(|p| p.pid)
                    .collect()
            }
            _ => Vec::new(),
        }
    }

    /// The host loopback port its network forwards to it, where it has a network of its
    /// own.
    pub fn host_port(&self) -> Option<u16> {
        match &self.handle {
            Handle::Process {
                netns: Some(netns), ..
            } => netns.host_port(),
            _ => None,
        }
    }

    /// Memory in use by the app: its cgroup's accounting where there is one.
    pub fn cgroup_memory(&self) -> Option<u64> {
        match &self.handle {
            Handle::Process {
                cgroup: Some(group),
                ..
            } => group.memory_used(),
            _ => None,
        }
    }

    pub fn exit_status(&self) -> Option<String> {
        self.exited
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Stops the app and everything it started. Blocking (waits for the group to
    /// empty): call it from a worker thread or `spawn_blocking`.
    pub fn stop(&self) {
        match &self.handle {
            Handle::Process { pid, cgroup, netns } => {
                sandbox::kill_tree(*pid, cgroup.as_ref(), netns.as_ref());
            }
            Handle::Docker { container } => docker::remove(container),
            Handle::Nothing => {}
        }
    }
}
