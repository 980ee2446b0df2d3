//! The deploy engine's settings (`DEPLOY_*`), turned into the engine's own config.

use std::{path::PathBuf, time::Duration};

use clap::{Args, ValueEnum};

/// How student code is isolated (see the README's deploy section).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Sandbox {
    /// A uid per project, own session and process group, clean environment, rlimits,
    /// cgroups where available. Needs the gateway to run as root.
    User,
    /// Student code runs as the gateway's user: development only.
    None,
}

/// Which runtime builds and runs apps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Runtime {
    /// `deploy.toml` commands as supervised child processes.
    Process,
    /// The repository's Dockerfile, through the docker CLI.
    Docker,
}

/// Whether deployed apps reach public addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Egress {
    /// Public addresses through the sandbox's user-mode network (never the host's
    /// loopback, private or link-local ranges).
    Public,
    /// Nothing but the student database servers.
    None,
}

#[derive(Clone, Debug, Args)]
pub struct DeployConfig {
    /// Folder holding each deployment's checkout, build and published static files.
    #[arg(
        long,
        env = "DEPLOY_DIR",
        value_name = "DEPLOY_DIR",
        default_value = "./deployments"
    )]
    pub deploy_dir: PathBuf,

    /// Deploy jobs running at once (each on its own thread); 0 for a replica that serves
    /// but runs no deploys.
    #[arg(long, env = "DEPLOY_MAX_WORKERS", value_name = "DEPLOY_MAX_WORKERS", default_value_t = 2, value_parser = clap::value_parser!(u16).range(0..=64))]
    pub deploy_max_workers: u16,

    /// `process` (deploy.toml) or `docker` (Dockerfile).
    #[arg(long, env = "DEPLOY_RUNTIME", value_name = "DEPLOY_RUNTIME", value_enum, default_value_t = Runtime::Process)]
    pub deploy_runtime: Runtime,

    /// `user` (isolated; needs root) or `none` (development only).
    #[arg(long, env = "DEPLOY_SANDBOX", value_name = "DEPLOY_SANDBOX", value_enum, default_value_t = Sandbox::User)]
    pub deploy_sandbox: Sandbox,

    /// Project p runs as uid and gid DEPLOY_UID_BASE + p.
    #[arg(long, env = "DEPLOY_UID_BASE", value_name = "DEPLOY_UID_BASE", default_value_t = 100_000, value_parser = clap::value_parser!(u32).range(1000..=2_000_000_000))]
    pub deploy_uid_base: u32,

    /// Memory of one build or app, in MiB.
    #[arg(long, env = "DEPLOY_MEMORY_MB", value_name = "DEPLOY_MEMORY_MB", default_value_t = 512, value_parser = clap::value_parser!(u64).range(16..=1_048_576))]
    pub deploy_memory_mb: u64,

    /// Processes (and threads) of one build or app at once.
    #[arg(long, env = "DEPLOY_MAX_PROCESSES", value_name = "DEPLOY_MAX_PROCESSES", default_value_t = 128, value_parser = clap::value_parser!(u64).range(4..=100_000))]
    pub deploy_max_processes: u64,

    /// Open files per process of a build or app.
    #[arg(long, env = "DEPLOY_MAX_OPEN_FILES", value_name = "DEPLOY_MAX_OPEN_FILES", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(16..=1_048_576))]
    pub deploy_max_open_files: u64,

    /// CPU seconds per process of an app (builds: at most their time limit).
    #[arg(long, env = "DEPLOY_CPU_SECS", value_name = "DEPLOY_CPU_SECS", default_value_t = 86_400, value_parser = clap::value_parser!(u64).range(1..))]
    pub deploy_cpu_secs: u64,

    /// Share of one core a build or app may use at once, in percent (a cgroup CPU
    /// quota: 50 is half a core, 200 two cores), so no app starves the gateway.
    #[arg(long, env = "DEPLOY_CPU_PERCENT", value_name = "DEPLOY_CPU_PERCENT", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=6400))]
    pub deploy_cpu_percent: u32,

    /// Each project's own disk, in MiB: its checkouts, builds, caches and what its app
    /// writes (an ext4 image loop-mounted at DEPLOY_DIR/<project>); 0 for none.
    #[arg(long, env = "DEPLOY_DISK_MB", value_name = "DEPLOY_DISK_MB", default_value_t = 2048, value_parser = clap::value_parser!(u64).range(0..=1_048_576))]
    pub deploy_disk_mb: u64,

    /// Seconds a fetch or a build may take.
    #[arg(long, env = "DEPLOY_BUILD_TIMEOUT_SECS", value_name = "DEPLOY_BUILD_TIMEOUT_SECS", default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub deploy_build_timeout_secs: u64,

    /// Seconds a started app has to answer on its port.
    #[arg(long, env = "DEPLOY_START_TIMEOUT_SECS", value_name = "DEPLOY_START_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub deploy_start_timeout_secs: u64,

    /// Seconds a running job's lease lasts without a heartbeat.
    #[arg(long, env = "DEPLOY_LEASE_SECS", value_name = "DEPLOY_LEASE_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(3..=3600))]
    pub deploy_lease_secs: u64,

    /// Claims a job gets: a job whose server died is queued again until then, then FAILED.
    #[arg(long, env = "DEPLOY_MAX_ATTEMPTS", value_name = "DEPLOY_MAX_ATTEMPTS", default_value_t = 3, value_parser = clap::value_parser!(i32).range(1..=100))]
    pub deploy_max_attempts: i32,

    /// Seconds between two samples of each running app (CPU, memory, IO).
    #[arg(long, env = "DEPLOY_STATS_INTERVAL_SECS", value_name = "DEPLOY_STATS_INTERVAL_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub deploy_stats_interval_secs: u64,

    /// Seconds between two checks that running apps are alive.
    #[arg(long, env = "DEPLOY_LIVENESS_INTERVAL_SECS", value_name = "DEPLOY_LIVENESS_INTERVAL_SECS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub deploy_liveness_interval_secs: u64,

    /// Restart an app that dies on its own (its last successful build, as startProject
    /// does), after DEPLOY_RESTART_BACKOFF_SECS, doubled for each crash in a row.
    #[arg(long, env = "DEPLOY_RESTART_ON_CRASH", value_name = "DEPLOY_RESTART_ON_CRASH", default_value_t = false, action = clap::ArgAction::Set)]
    pub deploy_restart_on_crash: bool,

    /// Seconds before the first restart of a crashed app; each crash in a row doubles
    /// it, up to 60 times this.
    #[arg(long, env = "DEPLOY_RESTART_BACKOFF_SECS", value_name = "DEPLOY_RESTART_BACKOFF_SECS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub deploy_restart_backoff_secs: u64,

    /// Seconds a shutdown waits for running deploys to finish; the rest go back to the
    /// queue for another replica (or the next start).
    #[arg(long, env = "DEPLOY_SHUTDOWN_GRACE_SECS", value_name = "DEPLOY_SHUTDOWN_GRACE_SECS", default_value_t = 20, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub deploy_shutdown_grace_secs: u64,

    /// Lines kept per deployment log (BUILD, RUNTIME); older lines are dropped.
    #[arg(long, env = "DEPLOY_LOG_MAX_LINES", value_name = "DEPLOY_LOG_MAX_LINES", default_value_t = 2000, value_parser = clap::value_parser!(u64).range(10..=1_000_000))]
    pub deploy_log_max_lines: u64,

    /// The domain whose subdomains are the apps: `<slug>.<APPS_DOMAIN>` is the app of
    /// `<slug>`, at the root of its own origin. Make it a registrable domain of its own
    /// (as herokuapp.com is), never a subdomain of the gateway's: browsers resolve
    /// `*.localhost` to loopback, so the default works on a laptop without DNS.
    #[arg(
        long,
        env = "APPS_DOMAIN",
        value_name = "APPS_DOMAIN",
        default_value = "apps.localhost"
    )]
    pub apps_domain: String,

    /// The address the API reports for an app, with `{slug}` in it (for example
    /// `https://{slug}.apps.example.edu`); default `http://{slug}.<APPS_DOMAIN>:<port of
    /// BIND_ADDR>`.
    #[arg(long, env = "APPS_PUBLIC_URL", value_name = "APPS_PUBLIC_URL")]
    pub apps_public_url: Option<String>,

    /// `public` or `none`: whether apps reach public addresses (builds always may, to
    /// fetch packages). The host's loopback, private and link-local ranges never.
    #[arg(long, env = "DEPLOY_APP_EGRESS", value_name = "DEPLOY_APP_EGRESS", value_enum, default_value_t = Egress::Public)]
    pub deploy_app_egress: Egress,

    /// Deploys and starts one person may have pending or running at once (past it:
    /// LIMIT_REACHED); 0 for no cap.
    #[arg(long, env = "DEPLOY_MAX_ACTIVE_PER_USER", value_name = "DEPLOY_MAX_ACTIVE_PER_USER", default_value_t = 3, value_parser = clap::value_parser!(u32).range(0..=1000))]
    pub deploy_max_active_per_user: u32,

    /// Days a deployment's BUILD and RUNTIME lines are kept, unless it (or its build)
    /// still serves; 0 keeps them forever.
    #[arg(long, env = "DEPLOY_LOG_RETENTION_DAYS", value_name = "DEPLOY_LOG_RETENTION_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(0..=36500))]
    pub deploy_log_retention_days: u32,

    /// Seconds the proxy waits for an app's response headers (504 after).
    #[arg(long, env = "DEPLOY_PROXY_TIMEOUT_SECS", value_name = "DEPLOY_PROXY_TIMEOUT_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub deploy_proxy_timeout_secs: u64,
}

impl DeployConfig {
    /// The engine's config; `extra_env` carries the student database servers' addresses.
    pub fn engine(
        &self,
        allow_local_repositories: bool,
        extra_env: Vec<(String, String)>,
    ) -> deploy::EngineConfig {
        let mut config = deploy::EngineConfig::new(self.deploy_dir.clone());
        config.max_workers = usize::from(self.deploy_max_workers);
        config.runtime = match self.deploy_runtime {
            Runtime::Process => deploy::RuntimeKind::Process,
            Runtime::Docker => deploy::RuntimeKind::Docker,
        };
        config.sandbox = match self.deploy_sandbox {
            Sandbox::User => deploy::SandboxMode::User,
            Sandbox::None => deploy::SandboxMode::None,
        };
        config.uid_base = self.deploy_uid_base;
        config.max_active_per_user = self.deploy_max_active_per_user;
        config.log_retention_days =
            (self.deploy_log_retention_days > 0).then_some(self.deploy_log_retention_days);
        config.limits = deploy::Limits {
            memory_bytes: self.deploy_memory_mb * 1024 * 1024,
            processes: self.deploy_max_processes,
            open_files: self.deploy_max_open_files,
            cpu_secs: self.deploy_cpu_secs,
            cpu_percent: self.deploy_cpu_percent,
        };
        config.build_timeout = Duration::from_secs(self.deploy_build_timeout_secs);
        config.start_timeout = Duration::from_secs(self.deploy_start_timeout_secs);
        config.lease = Duration::from_secs(self.deploy_lease_secs);
        config.log_max_lines = self.deploy_log_max_lines;
        config.max_attempts = self.deploy_max_attempts;
        config.shutdown_grace = Duration::from_secs(self.deploy_shutdown_grace_secs);
        config.stats_interval = Duration::from_secs(self.deploy_stats_interval_secs);
        config.liveness_interval = Duration::from_secs(self.deploy_liveness_interval_secs);
        config.restart_on_crash = self.deploy_restart_on_crash.then(|| {
            let first = Duration::from_secs(self.deploy_restart_backoff_secs);
            deploy::Backoff {
                first,
                max: first * 60,
            }
        });
        config.allow_local_repositories = allow_local_repositories;
        config.extra_env = extra_env;
        config.app_egress = self.deploy_app_egress == Egress::Public;
        config.disk_mb = self.deploy_disk_mb;
        config
    }

    /// `APPS_PUBLIC_URL` as resolved at start (the default names the bound port).
    pub fn apps_url(&self) -> &str {
        self.apps_public_url
            .as_deref()
            .unwrap_or("http://{slug}.apps.localhost")
    }

    pub fn proxy_timeout(&self) -> Duration {
        Duration::from_secs(self.deploy_proxy_timeout_secs)
    }
}
