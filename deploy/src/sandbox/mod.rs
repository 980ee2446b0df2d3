//! How student code runs: never as the gateway's user. In `user` mode each project has
//! its own uid and gid (`DEPLOY_UID_BASE + project id`, no supplementary groups, no new
//! privileges), every command starts a new session and process group, gets a clean
//! environment, rlimits (processes, open files, CPU seconds, core dumps off; address
//! space when no memory cgroup), and a cgroup capping memory and processes where the
//! machine allows. The chain is made of util-linux tools (`setpriv`, `setsid`,
//! `prlimit`) so the gateway needs no `unsafe` code between fork and exec.

pub mod cgroup;

use std::{
    path::{Path, PathBuf},
    process::Stdio,
};

use nix::{
    sys::signal::{Signal, killpg},
    unistd::{Pid, geteuid},
};

pub use self::cgroup::{Cgroup, CgroupRoot};
use crate::{
    config::{Limits, SandboxMode},
    error::EngineError,
};

/// The PATH every sandboxed command gets.
pub const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

#[derive(Clone, Debug)]
pub struct Sandbox {
    /// Prefixes this engine's cgroup names, so two gateways on one host (replicas, or
    /// tests) never share a group.
    prefix: String,
    mode: SandboxMode,
    uid_base: u32,
    limits: Limits,
    cgroups: Option<CgroupRoot>,
    refusal: Option<String>,
}

/// What to run, where, with which variables.
pub struct Spawn<'a> {
    pub project_id: i32,
    /// Names the cgroup (`build-12`, `app-12`).
    pub name: String,
    pub cwd: &'a Path,
    pub env: &'a [(String, String)],
    /// A shell command line (`sh -c`).
    pub shell: &'a str,
    /// CPU seconds, when lower than the configured limit (a build's time limit).
    pub cpu_secs: Option<u64>,
}

/// A command ready to spawn, and the group it joins.
pub struct Prepared {
    pub command: tokio::process::Command,
    pub cgroup: Option<Cgroup>,
}

fn tool(name: &str) -> Option<PathBuf> {
    ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]
        .iter()
        .map(|dir| Path::new(dir).join(name))
        .find(|path| path.exists())
}

impl Sandbox {
    /// Checks what the machine allows. Deploys are refused (with `refusal`) where
    /// `user` mode cannot be had.
    pub fn new(mode: SandboxMode, uid_base: u32, limits: Limits, deploy_dir: &Path) -> Self {
        let missing: Vec<&str> = ["setpriv", "setsid", "prlimit"]
            .into_iter()
            .filter(|t| tool(t).is_none())
            .collect();
        let mut refusal = None;
        if !missing.is_empty() {
            refusal = Some(format!(
                "deploys need util-linux's {} on this machine",
                missing.join(", ")
            ));
        }
        let cgroups = match mode {
            SandboxMode::User if geteuid().is_root() => CgroupRoot::detect(),
            _ => None,
        };
        if mode == SandboxMode::User && refusal.is_none() {
            if !geteuid().is_root() {
                refusal = Some(
                    "deploys are refused: the gateway cannot run student code as another user \
                     (it is not running as root). Start it as root, or set DEPLOY_SANDBOX=none \
                     on a development machine (student code then runs as the gateway's user)"
                        .into(),
                );
            } else if let Some(blocked) = untraversable(deploy_dir) {
                refusal = Some(format!(
                    "deploys are refused: {} is not searchable by other users, so apps could \
                     not reach their folders under DEPLOY_DIR (chmod o+x it or move DEPLOY_DIR)",
                    blocked.display()
                ));
            }
        }
        Self {
            // `p<pid>.<random>`: a later replica can tell a dead process's groups.
            prefix: format!(
                "p{}.{}",
                std::process::id(),
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            ),
            mode,
            uid_base,
            limits,
            cgroups,
            refusal,
        }
    }

    /// Kills and removes the groups (builds and apps) that gateways which no longer
    /// run left on this host; returns how many.
    pub fn sweep_orphans(&self) -> usize {
        match &self.cgroups {
            Some(root) => root.sweep(|name| {
                name.strip_prefix('p')
                    .and_then(|rest| rest.split('.').next())
                    .and_then(|pid| pid.parse::<u32>().ok())
                    .is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists())
            }),
            None => 0,
        }
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
        match (self.mode, &self.cgroups) {
            (SandboxMode::None, _) => {
                "none: student code runs as the gateway's user (development only)".into()
            }
            (SandboxMode::User, Some(_)) => {
                "user: a uid per project, rlimits, cgroups v1 (memory, pids)".into()
            }
            (SandboxMode::User, None) => {
                "user: a uid per project, rlimits (no cgroups here)".into()
            }
        }
    }

    /// The uid (and gid) project `project_id` runs as, in `user` mode.
    pub fn uid_of(&self, project_id: i32) -> Option<u32> {
        match self.mode {
            SandboxMode::User => Some(self.uid_base + project_id.unsigned_abs()),
            SandboxMode::None => None,
        }
    }

    /// Gives a deployment's folder to the project's user (symlinks are not followed).
    pub fn hand_over(&self, dir: &Path, project_id: i32) -> Result<(), EngineError> {
        let Some(uid) = self.uid_of(project_id) else {
            return Ok(());
        };
        chown_tree(dir, uid).map_err(|e| EngineError::io(dir.display(), e))
    }

    /// The command that runs `spawn.shell` sandboxed, with piped output.
    pub fn command(&self, spawn: &Spawn<'_>) -> Result<Prepared, EngineError> {
        if let Some(refusal) = &self.refusal {
            return Err(EngineError::Unavailable(refusal.clone()));
        }
        let cgroup = match &self.cgroups {
            Some(root) => Some(
                root.create(&format!("{}-{}", self.prefix, spawn.name), &self.limits)
                    .map_err(|e| EngineError::io(format!("cgroup {}", spawn.name), e))?,
            ),
            None => None,
        };
        let cpu = spawn
            .cpu_secs
            .map_or(self.limits.cpu_secs, |s| s.min(self.limits.cpu_secs));
        let mut argv: Vec<String> = cgroup.as_ref().map(join_first).unwrap_or_default();
        if let Some(uid) = self.uid_of(spawn.project_id) {
            argv.extend([
                "setpriv".into(),
                format!("--reuid={uid}"),
                format!("--regid={uid}"),
                "--clear-groups".into(),
                "--no-new-privs".into(),
                "--".into(),
            ]);
        }
        argv.extend([
            "setsid".into(),
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
        let mut command = tokio::process::Command::new(&argv[0]);
        command
            .args(&argv[1..])
            .current_dir(spawn.cwd)
            .env_clear()
            .envs(spawn.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(false);
        Ok(Prepared { command, cgroup })
    }
}

/// The words that make the command join `group` before anything else runs, so no child
/// is born outside it: a shell writes its pid into each of the group's `cgroup.procs`
/// files, then execs the rest.
fn join_first(group: &Cgroup) -> Vec<String> {
    let files = group.procs_files();
    let joins: Vec<String> = (1..=files.len())
        .map(|i| format!("echo $$ > \"${i}\""))
        .collect();
    let mut argv: Vec<String> = vec!["sh".into(), "-c".into()];
    argv.push(format!(
        "{} && shift {} && exec \"$@\"",
        joins.join(" && "),
        files.len()
    ));
    argv.push("sandbox".into());
    argv.extend(files.iter().map(|f| f.display().to_string()));
    argv
}

/// Kills a sandboxed command's whole session: its process group, then whatever is left
/// in its cgroup (a process that started its own group or session).
pub fn kill_tree(pid: Option<u32>, cgroup: Option<&Cgroup>) {
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
        let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
    }
    if let Some(group) = cgroup {
        group.kill_all();
        group.remove();
    }
}

/// The first ancestor of `dir` (or `dir` itself) that others cannot search.
fn untraversable(dir: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let absolute = std::path::absolute(dir).ok()?;
    let mut path = PathBuf::from("/");
    for part in absolute.components().skip(1) {
        path.push(part);
        match std::fs::metadata(&path) {
            Ok(meta) if meta.permissions().mode() & 0o001 == 0 => return Some(path),
            Ok(_) => {}
            // Not created yet: created with 0711 by the engine.
            Err(_) => return None,
        }
    }
    None
}

fn chown_tree(path: &Path, uid: u32) -> std::io::Result<()> {
    std::os::unix::fs::lchown(path, Some(uid), Some(uid))?;
    let meta = std::fs::symlink_metadata(path)?;
    if meta.is_dir() {
        for entry in std::fs::read_dir(path)? {
            chown_tree(&entry?.path(), uid)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn user_mode_refuses_deploys_it_cannot_isolate_and_says_why() {
        let closed = tempfile::tempdir().expect("a folder");
        std::fs::set_permissions(closed.path(), std::fs::Permissions::from_mode(0o700))
            .expect("chmod");
        let sandbox = Sandbox::new(
            SandboxMode::User,
            100_000,
            Limits::default(),
            &closed.path().join("deployments"),
        );
        let refusal = sandbox.refusal().expect("refused");
        // As root: the folder others cannot search; otherwise: not root.
        assert!(
            refusal.contains("not searchable") || refusal.contains("not running as root"),
            "{refusal}"
        );
        let spawn = Spawn {
            project_id: 1,
            name: "build-1".into(),
            cwd: closed.path(),
            env: &[],
            shell: "true",
            cpu_secs: None,
        };
        assert!(matches!(
            sandbox.command(&spawn),
            Err(EngineError::Unavailable(_))
        ));
    }

    #[test]
    fn none_mode_runs_as_the_gateway_with_no_user_switch() {
        let dir = tempfile::tempdir().expect("a folder");
        let sandbox = Sandbox::new(SandboxMode::None, 100_000, Limits::default(), dir.path());
        assert!(sandbox.uid_of(7).is_none());
        assert!(sandbox.describe().starts_with("none"));
    }
}
