//! How student code runs: never as the gateway's user, never in the gateway's network,
//! never seeing its files. In `user` mode each project has its own uid and gid
//! (`DEPLOY_UID_BASE + project id`, no supplementary groups, no capabilities, no new
//! privileges); every command starts a new session, gets a clean environment, rlimits
//! (processes, open files, CPU seconds, core dumps off; address space when no memory
//! cgroup), a cgroup capping memory, processes and CPU where the machine allows, a
//! network namespace of its own (`net.rs`), and bubblewrap's view of the filesystem:
//! the system read-only, its own PID namespace and `/proc`, a private `/tmp` and
//! `/dev/shm` (tmpfs: counted against its memory, gone with it), the gateway's folders
//! (DATA_DIR, DEPLOY_DIR, `/root`, `/home`, `/run`, ...) replaced by empty ones, and only
//! its own deployment folder writable. The chain is made of maintained tools
//! (util-linux's `setsid`, `nsenter`, `setpriv`, `prlimit`; `bwrap`; `pasta`) so the
//! gateway needs no `unsafe` code between fork and exec.

pub mod beneath;
pub mod cgroup;
pub mod disk;
mod isolation;
pub mod net;
mod requirements;
mod spawn;

use std::{
    path::{Path, PathBuf},
    process::Stdio,
};

use nix::{
    sys::signal::{Signal, killpg},
    unistd::{Pid, geteuid},
};

pub use self::cgroup::{Cgroup, CgroupRoot};
pub use self::spawn::{Network, Prepared, Spawn};
use self::{
    isolation::Isolation,
    net::Netns,
    requirements::{TOOLS, refusal_for, tool},
    spawn::join_first,
};
use crate::{
    config::{EngineConfig, Limits, SandboxMode},
    error::EngineError,
};

/// The PATH every sandboxed command gets.
pub const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

#[derive(Clone, Debug)]
pub struct Sandbox {
    /// Prefixes this engine's cgroup and namespace names, so two gateways on one host
    /// (replicas, or tests) never share one.
    prefix: String,
    mode: SandboxMode,
    uid_base: u32,
    limits: Limits,
    cgroups: Option<CgroupRoot>,
    isolation: Option<Isolation>,
    /// A disk per project (`DEPLOY_DISK_MB`), where isolation is had.
    disks: Option<disk::Disks>,
    refusal: Option<String>,
}

impl Sandbox {
    /// Checks what the machine allows. Deploys are refused (with `refusal`) where
    /// `user` mode cannot be had.
    pub fn new(config: &EngineConfig) -> Self {
        let root = geteuid().is_root();
        let missing: Vec<(&str, &str)> = TOOLS
            .into_iter()
            .filter(|(t, _)| tool(t).is_none())
            .collect();
        let mut refusal = refusal_for(config.sandbox, root, &missing);
        let user = config.sandbox == SandboxMode::User && refusal.is_none();
        let isolation = if user {
            match Isolation::new(config) {
                Ok(isolation) => Some(isolation),
                Err(error) => {
                    refusal = Some(format!(
                        "deploys are refused: the sandboxes' network namespaces cannot be \
                         made here ({error})"
                    ));
                    None
                }
            }
        } else {
            None
        };
        let isolation_ok = isolation.is_some();
        Self {
            // `p<pid>.<random>`: a later replica can tell a dead process's groups.
            prefix: format!(
                "p{}.{}",
                std::process::id(),
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            ),
            mode: config.sandbox,
            uid_base: config.uid_base,
            limits: config.limits,
            cgroups: if isolation_ok {
                CgroupRoot::detect()
            } else {
                None
            },
            disks: isolation_ok
                .then(|| disk::Disks::new(&config.deploy_dir, config.disk_mb))
                .flatten(),
            isolation,
            refusal,
        }
    }

    /// Kills and removes the groups and namespaces (builds and apps) that gateways
    /// which no longer run left on this host; returns how many.
    pub fn sweep_orphans(&self) -> usize {
        let dead = |name: &str| {
            name.strip_prefix('p')
                .and_then(|rest| rest.split('.').next())
                .and_then(|pid| pid.parse::<u32>().ok())
                .is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists())
        };
        let groups = match &self.cgroups {
            Some(root) => root.sweep(dead),
            None => 0,
        };
        let namespaces = match &self.isolation {
            Some(isolation) => net::sweep(&isolation.netns_dir, dead),
            None => 0,
        };
        groups + namespaces
    }

    /// Why deploys cannot run here, if they cannot.
    pub fn refusal(&self) -> Option<&str> {
        self.refusal.as_deref()
    }

    pub fn mode(&self) -> SandboxMode {
        self.mode
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// One line saying how student code is isolated here.
    pub fn describe(&self) -> String {
        if self.mode == SandboxMode::None {
            return "none: student code runs as the gateway's user, on its network \
                    (development only)"
                .into();
        }
        if let Some(refusal) = &self.refusal {
            return format!("user (unavailable): {refusal}");
        }
        let cgroups = match &self.cgroups {
            Some(root) => root.describe(),
            None => "no cgroups here (rlimits only)".into(),
        };
        let egress = match &self.isolation {
            Some(isolation) if !isolation.app_egress => "apps without public egress",
            _ => "public egress",
        };
        format!(
            "user: a uid per project; own network namespace (pasta; host loopback, private \
             and link-local ranges unreachable; {egress}), PID namespace, private /tmp and \
             /dev/shm, read-only system (bubblewrap); rlimits; {cgroups}"
        )
    }

    /// The uid (and gid) project `project_id` runs as, in `user` mode.
    pub fn uid_of(&self, project_id: i32) -> Option<u32> {
        match self.mode {
            SandboxMode::User => Some(self.uid_base + project_id.unsigned_abs()),
            SandboxMode::None => None,
        }
    }

    /// The local repository `path` as the sandbox may be shown it (resolved, so no link
    /// leads elsewhere), or why not: never inside the gateway's or the system's private
    /// folders (DATA_DIR, DEPLOY_DIR, `/root`, `/home`, ...).
    pub fn local_repository(&self, path: &Path) -> Result<PathBuf, String> {
        let resolved = std::fs::canonicalize(path)
            .map_err(|e| format!("the local repository {}: {e}", path.display()))?;
        match &self.isolation {
            Some(isolation) if isolation.hides(&resolved) => Err(format!(
                "the local repository {} lies in a folder the sandbox never shows (the \
                 gateway's data, deployments, or a home folder): fetches cannot read it",
                path.display()
            )),
            _ => Ok(resolved),
        }
    }

    /// The project's own disk mounted at `project_dir`, where there are disks.
    pub fn ensure_disk(&self, project_dir: &Path, project_id: i32) -> Result<(), EngineError> {
        match &self.disks {
            Some(disks) => disks
                .ensure(project_dir, project_id)
                .map_err(|e| EngineError::Io(format!("the project's disk: {e}"))),
            None => Ok(()),
        }
    }

    /// Unmounts and removes the project's disk (the project is being deleted).
    pub fn release_disk(&self, project_dir: &Path, project_id: i32) {
        if let Some(disks) = &self.disks {
            disks.release(project_dir, project_id);
        }
    }

    /// Gives a folder the gateway just made to the project's user (before any of the
    /// project's code runs: nothing in it yet to follow).
    pub fn hand_over(&self, dir: &Path, project_id: i32) -> Result<(), EngineError> {
        let Some(uid) = self.uid_of(project_id) else {
            return Ok(());
        };
        std::os::unix::fs::lchown(dir, Some(uid), Some(uid))
            .map_err(|e| EngineError::io(dir.display(), e))
    }

    /// The command that runs `spawn.shell` sandboxed, with piped output.
    pub fn command(&self, spawn: &Spawn<'_>) -> Result<Prepared, EngineError> {
        if let Some(refusal) = &self.refusal {
            return Err(EngineError::Unavailable(refusal.clone()));
        }
        let name = format!("{}-{}", self.prefix, spawn.name);
        let cgroup = match &self.cgroups {
            Some(root) => Some(
                root.create(&name, &self.limits)
                    .map_err(|e| EngineError::io(format!("cgroup {}", spawn.name), e))?,
            ),
            None => None,
        };
        let netns = match &self.isolation {
            Some(isolation) => match isolation.network(&name, spawn.network) {
                Ok(netns) => Some(netns),
                Err(error) => {
                    if let Some(group) = &cgroup {
                        group.remove();
                    }
                    return Err(EngineError::Io(format!(
                        "the network of {}: {error}",
                        spawn.name
                    )));
                }
            },
            None => None,
        };
        let argv = self.argv(spawn, cgroup.as_ref(), netns.as_ref());
        let mut command = tokio::process::Command::new(&argv[0]);
        command
            .args(&argv[1..])
            // Inside bubblewrap the folder is entered by `--chdir`, after the mounts.
            .current_dir(if self.isolation.is_some() {
                Path::new("/")
            } else {
                spawn.cwd
            })
            .env_clear()
            .envs(spawn.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(false);
        Ok(Prepared {
            command,
            cgroup,
            netns,
        })
    }
    /// The command line: join the cgroup, a new session, the namespaces, the project's
    /// user, the rlimits, then the shell.
    fn argv(
        &self,
        spawn: &Spawn<'_>,
        cgroup: Option<&Cgroup>,
        netns: Option<&Netns>,
    ) -> Vec<String> {
        let cpu = spawn
            .cpu_secs
            .map_or(self.limits.cpu_secs, |s| s.min(self.limits.cpu_secs));
        let mut argv: Vec<String> = cgroup.map(join_first).unwrap_or_default();
        argv.push("setsid".into());
        if let (Some(isolation), Some(netns)) = (&self.isolation, netns) {
            argv.extend(isolation.confine(spawn, netns, self.limits));
        }
        if let Some(uid) = self.uid_of(spawn.project_id) {
            argv.extend([
                "setpriv".into(),
                format!("--reuid={uid}"),
                format!("--regid={uid}"),
                "--clear-groups".into(),
                "--inh-caps=-all".into(),
                "--bounding-set=-all".into(),
                "--no-new-privs".into(),
                "--".into(),
            ]);
        }
        argv.extend([
            "prlimit".into(),
            format!("--nproc={}", self.limits.processes),
            format!("--nofile={}", self.limits.open_files),
            format!("--cpu={cpu}"),
            "--core=0".into(),
        ]);
        if cgroup.is_none() {
            argv.push(format!("--as={}", self.limits.memory_bytes));
        }
        argv.extend(["--".into(), "sh".into(), "-c".into(), spawn.shell.into()]);
        argv.push("sandbox".into());
        argv.extend(spawn.args.iter().cloned());
        argv
    }
}

/// Kills a sandboxed command's whole session: its process group (bubblewrap's PID
/// namespace dies with its first process), then whatever is left in its cgroup (a
/// process that started its own group or session), then removes its network.
pub fn kill_tree(pid: Option<u32>, cgroup: Option<&Cgroup>, netns: Option<&Netns>) {
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
        let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
    }
    if let Some(group) = cgroup {
        group.kill_all();
        group.remove();
    }
    if let Some(netns) = netns {
        netns.remove();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_sandbox_runs_nothing() {
        let dir = tempfile::tempdir().expect("a folder");
        let mut config = EngineConfig::new(dir.path().to_owned());
        config.sandbox = SandboxMode::User;
        let mut sandbox = Sandbox::new(&config);
        sandbox.refusal = Some("no".into());
        let spawn = Spawn {
            project_id: 1,
            name: "build-1".into(),
            cwd: dir.path(),
            writable: &[],
            readable: &[],
            env: &[],
            shell: "true",
            args: &[],
            cpu_secs: None,
            network: Network::None,
        };
        assert!(matches!(
            sandbox.command(&spawn),
            Err(EngineError::Unavailable(_))
        ));
        assert!(sandbox.describe().starts_with("user (unavailable)"));
    }

    #[test]
    fn none_mode_runs_as_the_gateway_with_no_user_switch() {
        let dir = tempfile::tempdir().expect("a folder");
        let mut config = EngineConfig::new(dir.path().to_owned());
        config.sandbox = SandboxMode::None;
        let sandbox = Sandbox::new(&config);
        assert!(sandbox.uid_of(7).is_none());
        assert!(sandbox.describe().starts_with("none"));
    }
}
