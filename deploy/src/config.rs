//! What the engine needs to know, as plain values (the gateway fills it from its own
//! configuration).

use std::{path::PathBuf, time::Duration};

/// How builds and apps are isolated from the gateway.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SandboxMode {
    /// Each project runs as its own unprivileged uid, in its own session and process
    /// group, with rlimits and (where the machine allows) cgroups. Needs root.
    User,
    /// No user switch and no cgroups: development only. Clean environment, own process
    /// group and rlimits still apply.
    None,
}

/// Which runtime builds and runs apps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuntimeKind {
    /// Build and start commands from the repository's `deploy.toml`, run as supervised
    /// child processes.
    Process,
    /// `docker build` of the repository's Dockerfile and `docker run`, through the CLI.
    Docker,
}

/// Resource limits of one build or app.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Memory (cgroup limit where available, else address space).
    pub memory_bytes: u64,
    /// Processes (and threads) at once.
    pub processes: u64,
    /// Open file descriptors per process.
    pub open_files: u64,
    /// CPU seconds per process.
    pub cpu_secs: u64,
    /// Share of one core (percent) a build or app may use at once (cgroup CPU quota).
    pub cpu_percent: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_bytes: 512 * 1024 * 1024,
            processes: 128,
            open_files: 1024,
            cpu_secs: 3600,
            cpu_percent: 100,
        }
    }
}

#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Where each deployment gets its folder (`<dir>/<project id>/<deployment id>`).
    pub deploy_dir: PathBuf,
    pub max_workers: usize,
    pub runtime: RuntimeKind,
    pub sandbox: SandboxMode,
    /// Project `p` runs as uid and gid `uid_base + p`: no two projects share a user, so
    /// one cannot read another's files or `/proc/<pid>/environ`.
    pub uid_base: u32,
    pub limits: Limits,
    /// A build command running longer is killed (whole process group).
    pub build_timeout: Duration,
    /// How long a started app has to answer on its port.
    pub start_timeout: Duration,
    /// A running job's lease; renewed every third of it.
    pub lease: Duration,
    /// How often the dispatcher looks for jobs (and expired leases) when nothing woke it.
    pub poll_interval: Duration,
    /// How long a shutdown waits for running deploys before giving them back.
    pub shutdown_grace: Duration,
    /// How often running apps are sampled (CPU, memory, IO).
    pub stats_interval: Duration,
    /// How often running apps are checked for having died.
    pub liveness_interval: Duration,
    /// Restart apps that die on their own, after a growing wait; `None`: leave them
    /// stopped.
    pub restart_on_crash: Option<crate::restart::Backoff>,
    /// Claims a job gets before an expired lease fails it instead of queueing it again.
    pub max_attempts: i32,
    /// Lines kept per deployment and log kind (oldest dropped).
    pub log_max_lines: u64,
    /// Accept `file://` and local paths as repositories (tests, demos).
    pub allow_local_repositories: bool,
    /// Extra variables every app gets (the student database servers' addresses).
    pub extra_env: Vec<(String, String)>,
    /// Identifies this replica in leases.
    pub replica: String,
    /// Servers on the host or the campus network that builds and apps may reach
    /// although their addresses are blocked otherwise (the student database servers).
    pub reachable: Vec<crate::sandbox::net::Reachable>,
    /// Folders of the gateway that sandboxed code must not even see (DATA_DIR, FILES_DIR,
    /// its working folder); DEPLOY_DIR and the system's are hidden anyway.
    pub hidden: Vec<PathBuf>,
    /// Whether apps reach public addresses (builds always do).
    pub app_egress: bool,
    /// An app's public address, `{slug}` in it (`APPS_PUBLIC_URL`).
    pub public_url: String,
    /// Each project's own disk, MiB (`DEPLOY_DISK_MB`); 0: none (folders on the disk
    /// that holds DEPLOY_DIR).
    pub disk_mb: u64,
    /// Deploys and starts one person may have pending or running at once
    /// (`DEPLOY_MAX_ACTIVE_PER_USER`); 0: no cap.
    pub max_active_per_user: u32,
    /// Days a deployment's log lines are kept (`DEPLOY_LOG_RETENTION_DAYS`), unless it
    /// still serves; `None`: forever.
    pub log_retention_days: Option<u32>,
}

impl EngineConfig {
    /// Defaults for a deploy folder; the gateway overrides from its configuration. A
    /// relative folder is made absolute against the working directory now: the sandbox
    /// binds paths under it, and a child's working directory is not the gateway's.
    pub fn new(deploy_dir: PathBuf) -> Self {
        Self {
            deploy_dir: std::path::absolute(&deploy_dir).unwrap_or(deploy_dir),
            max_workers: 2,
            runtime: RuntimeKind::Process,
            sandbox: SandboxMode::User,
            uid_base: 100_000,
            limits: Limits::default(),
            build_timeout: Duration::from_secs(600),
            start_timeout: Duration::from_secs(30),
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_secs(2),
            max_attempts: 3,
            shutdown_grace: Duration::from_secs(20),
            stats_interval: Duration::from_secs(30),
            liveness_interval: Duration::from_secs(5),
            restart_on_crash: None,
            log_max_lines: 2000,
            allow_local_repositories: false,
            extra_env: Vec::new(),
            reachable: Vec::new(),
            hidden: Vec::new(),
            app_egress: true,
            public_url: "http://{slug}.apps.localhost".into(),
            disk_mb: 0,
            max_active_per_user: 0,
            log_retention_days: None,
            // Host and process, and a suffix: two engines in one process (tests) differ.
            replica: format!(
                "{}-{}-{}",
                hostname(),
                std::process::id(),
                &uuid::Uuid::new_v4().simple().to_string()[..6]
            ),
        }
    }
}

/// The folder under `DEPLOY_DIR` that holds published static files.
pub const PUBLISHED: &str = "published";

impl EngineConfig {
    /// `<deploy_dir>/<project>`: the project's checkouts and builds, which its own code
    /// writes.
    pub fn project_dir(&self, project_id: i32) -> PathBuf {
        self.deploy_dir.join(project_id.to_string())
    }

    /// `<deploy_dir>/published/<project>`: the project's published static folders,
    /// written by the gateway only, outside every folder student code can write or see.
    pub fn published_root(&self, project_id: i32) -> PathBuf {
        self.deploy_dir.join(PUBLISHED).join(project_id.to_string())
    }

    /// The published static folder of one build.
    pub fn published_dir(&self, project_id: i32, build: i32) -> PathBuf {
        self.published_root(project_id).join(build.to_string())
    }
}

impl EngineConfig {
    /// The public address of the app of `slug`, ending in `/`.
    pub fn app_url(&self, slug: &str) -> String {
        let url = self.public_url.replace("{slug}", slug);
        if url.ends_with('/') {
            url
        } else {
            format!("{url}/")
        }
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "replica".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relative_deploy_folder_is_made_absolute() {
        let config = EngineConfig::new("./deployments".into());
        assert!(config.deploy_dir.is_absolute(), "{:?}", config.deploy_dir);
        assert!(config.deploy_dir.ends_with("deployments"));
        assert_eq!(
            config.deploy_dir.parent(),
            Some(
                std::env::current_dir()
                    .expect("the working folder")
                    .as_path()
            )
        );
    }
}
