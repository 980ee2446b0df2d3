//! The namespaces of `user` mode: the network one (`net.rs`) joined with `nsenter`, then
//! bubblewrap's mount, PID, IPC and UTS namespaces with the view of the filesystem a
//! build or app gets.

use std::path::{Path, PathBuf};

use super::{
    Network, Spawn,
    net::{self, Netns, Plan},
};
use crate::config::{EngineConfig, Limits};

/// Folders of the host that hold other people's things (keys, sockets, mail, other
/// services' data): replaced by empty ones inside.
const HIDDEN: [&str; 12] = [
    "/root",
    "/home",
    "/run",
    "/var/run",
    "/var/tmp",
    "/var/lib",
    "/var/log",
    "/var/backups",
    "/var/mail",
    "/var/spool",
    "/srv",
    "/mnt",
];

/// bubblewrap's own namespaces and the system, read-only.
const BWRAP: [&str; 11] = [
    "bwrap",
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-cgroup-try",
    // Not `--die-with-parent`: its signal follows the *thread* that spawned the command,
    // and a deploy's worker thread ends before its app. The kill is the process group's
    // (bubblewrap's PID 1 among it, whose namespace dies with it) and the cgroup's.
    "--hostname",
    "app",
    "--dev",
    "/dev",
    "--proc",
    "/proc",
];

/// Top-level folders never bound into a sandbox: made anew (`/dev`, `/proc`, `/tmp`),
/// or private (`/run` holds sockets and the sandboxes' own network namespaces, whose
/// comings and goings must not race bubblewrap's read-only remount of what it binds).
const UNBOUND: [&str; 10] = [
    "dev",
    "proc",
    "run",
    "tmp",
    "root",
    "home",
    "mnt",
    "media",
    "srv",
    "lost+found",
];

#[derive(Clone, Debug)]
pub(super) struct Isolation {
    plan: Plan,
    /// Existing folders replaced by empty ones inside (the system's and the gateway's).
    hidden: Vec<PathBuf>,
    /// A resolv.conf naming pasta's DNS forwarder, bound over the host's.
    resolv: Option<PathBuf>,
    pub(super) app_egress: bool,
    /// Where the network namespaces' files are (`net::prepare_dir`).
    pub(super) netns_dir: PathBuf,
    /// The system, read-only: `--ro-bind` of each top-level folder, `--symlink` of each
    /// top-level link (merged `/usr`).
    system: Vec<String>,
}

impl Isolation {
    pub(super) fn new(config: &EngineConfig) -> Result<Self, String> {
        let netns_dir = net::prepare_dir()?;
        let mut hidden: Vec<PathBuf> = HIDDEN.iter().map(PathBuf::from).collect();
        hidden.push(std::path::absolute(&config.deploy_dir).unwrap_or(config.deploy_dir.clone()));
        hidden.extend(
            config
                .hidden
                .iter()
                .map(|p| std::path::absolute(p).unwrap_or(p.clone())),
        );
        // Only real folders (a symlink such as /var/run would be followed), never `/`.
        hidden.retain(|p| {
            p.parent().is_some()
                && std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_dir())
        });
        hidden.sort();
        hidden.dedup();
        Ok(Self {
            plan: Plan::new(&config.reachable),
            hidden,
            resolv: resolv_conf(&config.deploy_dir),
            app_egress: config.app_egress,
            netns_dir,
            system: system_view(),
        })
    }

    /// The network namespace of one sandbox.
    pub(super) fn network(&self, name: &str, network: Network) -> Result<Netns, String> {
        match network {
            Network::None => Netns::create((&self.netns_dir, name), &Plan::default(), None, false),
            Network::Build => Netns::create((&self.netns_dir, name), &self.plan, None, true),
            Network::App { port } => Netns::create(
                (&self.netns_dir, name),
                &self.plan,
                Some(port),
                self.app_egress,
            ),
        }
    }

    /// The words that put the rest of the command line in `netns` and bubblewrap.
    pub(super) fn confine(&self, spawn: &Spawn<'_>, netns: &Netns, limits: Limits) -> Vec<String> {
        // Counted against the memory cgroup (tmpfs pages are charged to their writer):
        // half of it each, so a full /tmp leaves the app room to run.
        let tmp_size = (limits.memory_bytes / 2).to_string();
        let mut argv: Vec<String> = vec![
            "nsenter".into(),
            format!("--net={}", netns.path().display()),
            "--".into(),
        ];
        argv.extend(BWRAP.iter().map(|s| (*s).to_owned()));
        argv.extend(self.system.iter().cloned());
        // A private /tmp and /dev/shm.
        for dir in ["/tmp", "/dev/shm"] {
            argv.extend(["--perms", "1777", "--size", &tmp_size, "--tmpfs", dir].map(String::from));
        }
        for dir in &self.hidden {
            argv.extend(["--tmpfs".into(), dir.display().to_string()]);
        }
        if let Some(resolv) = &self.resolv {
            argv.extend([
                "--ro-bind".into(),
                resolv.display().to_string(),
                "/etc/resolv.conf".into(),
            ]);
        }
        argv.extend(self.binds(spawn));
        argv.extend([
            "--chdir".into(),
            spawn.cwd.display().to_string(),
            "--".into(),
        ]);
        argv
    }

    /// The folders the command reads and writes, over the empty ones.
    fn binds(&self, spawn: &Spawn<'_>) -> Vec<String> {
        let mut argv = Vec::new();
        let binds = spawn
            .readable
            .iter()
            .map(|d| ("--ro-bind", d))
            .chain(spawn.writable.iter().map(|d| ("--bind", d)));
        for (how, dir) in binds {
            // Folders bubblewrap makes on the way inside an empty one would be 0700 root:
            // made passable, as they are on the host.
            for parent in self.parents_on_tmpfs(dir) {
                argv.extend([
                    "--perms".into(),
                    "0711".into(),
                    "--dir".into(),
                    parent.display().to_string(),
                ]);
            }
            let dir = dir.display().to_string();
            argv.extend([how.into(), dir.clone(), dir]);
        }
        argv
    }
}

impl Isolation {
    /// Whether `path` lies in a folder sandboxed code must not see.
    pub(super) fn hides(&self, path: &Path) -> bool {
        self.hidden.iter().any(|hidden| path.starts_with(hidden))
    }

    /// The ancestors of `dir` that lie inside one of the empty folders (strictly).
    fn parents_on_tmpfs(&self, dir: &Path) -> Vec<PathBuf> {
        let tmpfs: Vec<&Path> = self
            .hidden
            .iter()
            .map(PathBuf::as_path)
            .chain([Path::new("/tmp"), Path::new("/dev/shm")])
            .collect();
        let mut parents: Vec<PathBuf> = dir
            .ancestors()
            .skip(1)
            .filter(|a| tmpfs.iter().any(|t| a.starts_with(t) && a != t))
            .map(Path::to_path_buf)
            .collect();
        parents.reverse();
        parents
    }
}

/// `--ro-bind /x /x` for each top-level folder but [`UNBOUND`], `--symlink` for each
/// top-level link.
fn system_view() -> Vec<String> {
    let mut argv = Vec::new();
    let Ok(entries) = std::fs::read_dir("/") else {
        return ["--ro-bind", "/usr", "/usr"].map(String::from).to_vec();
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if UNBOUND.contains(&name.as_str()) {
            continue;
        }
        let path = format!("/{name}");
        match entry.file_type() {
            Ok(kind) if kind.is_symlink() => {
                if let Ok(target) = std::fs::read_link(&path) {
                    argv.extend(["--symlink".into(), target.display().to_string(), path]);
                }
            }
            Ok(kind) if kind.is_dir() => argv.extend(["--ro-bind".into(), path.clone(), path]),
            _ => {}
        }
    }
    argv
}

/// A resolv.conf that sends queries to pasta's forwarder, where the host's is a plain
/// file that can be covered (not a link into `/run`).
fn resolv_conf(deploy_dir: &Path) -> Option<PathBuf> {
    let host = std::fs::symlink_metadata("/etc/resolv.conf").ok()?;
    if !host.is_file() {
        return None;
    }
    let path = deploy_dir.join("resolv.conf");
    std::fs::write(&path, format!("nameserver {}\n", net::DNS)).ok()?;
    Some(path)
}
