//! cgroups, v2 or v1, whichever the machine has: a group per build or app caps its
//! memory (tmpfs pages included), processes and CPU, and finds every process to kill,
//! even one that left its process group.
//!
//! - **v2** (the unified hierarchy at `/sys/fs/cgroup` with the memory and pids
//!   controllers: Debian 12, Ubuntu 22.04+, RHEL 9): `memory.max`, `memory.swap.max`,
//!   `pids.max`, `cpu.max`, and `cgroup.kill`. The gateway moves itself into a leaf of
//!   its own group first (v2 lets a group with processes give its children no
//!   controllers), as container runtimes do under a delegated systemd unit.
//! - **v1** (a hierarchy per controller): `memory.limit_in_bytes` (and `memsw`),
//!   `pids.max`, `cpu.cfs_quota_us`; kills by listing `cgroup.procs`.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use nix::{
    sys::signal::{Signal, kill},
    unistd::Pid,
};

use crate::config::Limits;

/// The period CPU quotas are counted over, µs.
const CPU_PERIOD_US: u64 = 100_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Version {
    V1,
    V2,
}

/// Our parent groups: one per controller (v1: memory, pids, then cpu where mounted), or
/// the one of the unified hierarchy (v2).
#[derive(Clone, Debug)]
pub struct CgroupRoot {
    version: Version,
    dirs: Vec<PathBuf>,
    /// Whether CPU can be capped.
    cpu: bool,
}

/// Our own group in hierarchy `controller` (v1) or the unified one (`""`).
fn own_path(controller: &str) -> Option<String> {
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    own.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':').skip(1);
            parts.next().zip(parts.next())
        })
        .find(|(names, _)| {
            if controller.is_empty() {
                names.is_empty()
            } else {
                names.split(',').any(|n| n == controller)
            }
        })
        .map(|(_, path)| path.trim_start_matches('/').to_owned())
}

impl CgroupRoot {
    /// The parent groups, created if missing; `None` where neither v2 nor v1 memory and
    /// pids controllers can be had (not root, or nothing mounted).
    pub fn detect() -> Option<Self> {
        Self::v2().or_else(Self::v1)
    }

    fn v1() -> Option<Self> {
        let mut dirs = Vec::new();
        for controller in ["memory", "pids", "cpu"] {
            let mount = Path::new("/sys/fs/cgroup").join(controller);
            if !mount.join("cgroup.procs").exists() {
                if controller == "cpu" {
                    break;
                }
                return None;
            }
            let dir = mount
                .join(own_path(controller).unwrap_or_default())
                .join("students-project");
            std::fs::create_dir_all(&dir).ok()?;
            dirs.push(dir);
        }
        let cpu = dirs.len() == 3;
        Some(Self {
            version: Version::V1,
            dirs,
            cpu,
        })
    }

    fn v2() -> Option<Self> {
        let mount = Path::new("/sys/fs/cgroup");
        let available = std::fs::read_to_string(mount.join("cgroup.controllers")).ok()?;
        let has = |c: &str| available.split_whitespace().any(|a| a == c);
        if !(has("memory") && has("pids")) {
            return None;
        }
        let own = mount.join(own_path("").unwrap_or_default());
        let wanted: Vec<&str> = ["memory", "pids", "cpu"]
            .into_iter()
            .filter(|c| has(c))
            .collect();
        let enable = wanted.iter().map(|c| format!("+{c}")).collect::<Vec<_>>();
        let enable = enable.join(" ");
        // Processes may not sit in a group whose children get controllers: the gateway
        // moves to a leaf of its own group.
        let procs = std::fs::read_to_string(own.join("cgroup.procs")).unwrap_or_default();
        if own != mount && !procs.trim().is_empty() {
            let leaf = own.join("gateway");
            std::fs::create_dir_all(&leaf).ok()?;
            for pid in procs.split_whitespace() {
                let _ = std::fs::write(leaf.join("cgroup.procs"), pid);
            }
        }
        std::fs::write(own.join("cgroup.subtree_control"), &enable).ok()?;
        let dir = own.join("students-project");
        std::fs::create_dir_all(&dir).ok()?;
        std::fs::write(dir.join("cgroup.subtree_control"), &enable).ok()?;
        Some(Self {
            version: Version::V2,
            dirs: vec![dir],
            cpu: wanted.contains(&"cpu"),
        })
    }

    /// A v2 parent at `dir` as it is (tests: a hierarchy with no controllers, where
    /// tracking and `cgroup.kill` work and limits do not).
    pub fn v2_at(dir: PathBuf) -> Self {
        Self {
            version: Version::V2,
            dirs: vec![dir],
            cpu: false,
        }
    }

    /// What the groups limit, for the start-up line and `deployQueue { sandbox }`.
    pub fn describe(&self) -> String {
        let cpu = if self.cpu { ", cpu" } else { "" };
        match self.version {
            Version::V1 => format!("cgroups v1 (memory, pids{cpu})"),
            Version::V2 => format!("cgroups v2 (memory, pids{cpu}, cgroup.kill)"),
        }
    }

    /// Kills and removes every group whose name `dead` says was left by a dead gateway.
    pub fn sweep(&self, dead: impl Fn(&str) -> bool) -> usize {
        let Some(first) = self.dirs.first() else {
            return 0;
        };
        let Ok(entries) = std::fs::read_dir(first) else {
            return 0;
        };
        let mut swept = 0;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.path().is_dir() && dead(&name) {
                let group = self.existing(&name);
                group.kill_all();
                group.remove();
                swept += 1;
            }
        }
        swept
    }

    /// The existing group `name` (to find what a dead replica left).
    pub fn existing(&self, name: &str) -> Cgroup {
        Cgroup {
            version: self.version,
            dirs: self.dirs.iter().map(|d| d.join(name)).collect(),
        }
    }

    /// A fresh group `name` with `limits`.
    pub fn create(&self, name: &str, limits: &Limits) -> std::io::Result<Cgroup> {
        let group = self.existing(name);
        // A group left by a crashed run of the same name: empty it first.
        group.kill_all();
        group.remove();
        for dir in &group.dirs {
            std::fs::create_dir_all(dir)?;
        }
        let quota = u64::from(limits.cpu_percent) * CPU_PERIOD_US / 100;
        let memory = limits.memory_bytes.to_string();
        let pids = limits.processes.to_string();
        match self.version {
            Version::V1 => {
                std::fs::write(group.dirs[0].join("memory.limit_in_bytes"), &memory)?;
                // Swap counts too where the kernel accounts it; absent otherwise.
                let memsw = group.dirs[0].join("memory.memsw.limit_in_bytes");
                if memsw.exists() {
                    let _ = std::fs::write(memsw, &memory);
                }
                std::fs::write(group.dirs[1].join("pids.max"), &pids)?;
                if let Some(cpu) = group.dirs.get(2) {
                    std::fs::write(cpu.join("cpu.cfs_period_us"), CPU_PERIOD_US.to_string())?;
                    std::fs::write(cpu.join("cpu.cfs_quota_us"), quota.to_string())?;
                }
            }
            Version::V2 => {
                let dir = &group.dirs[0];
                let cpu_max = format!("{quota} {CPU_PERIOD_US}");
                let swap = "0".to_owned();
                for (file, value) in [
                    ("memory.max", &memory),
                    ("memory.swap.max", &swap),
                    ("pids.max", &pids),
                    ("cpu.max", &cpu_max),
                ] {
                    // Present wherever the controller is enabled (detect requires memory
                    // and pids; cpu and swap accounting may be missing).
                    if dir.join(file).exists() {
                        std::fs::write(dir.join(file), value)?;
                    }
                }
            }
        }
        Ok(group)
    }
}

/// One build's or app's group.
#[derive(Clone, Debug)]
pub struct Cgroup {
    version: Version,
    dirs: Vec<PathBuf>,
}

impl Cgroup {
    /// The group's name (the same under every controller).
    pub fn name(&self) -> Option<String> {
        self.dirs
            .first()
            .and_then(|d| d.file_name())
            .map(|n| n.to_string_lossy().into_owned())
    }

    /// The files a process writes its pid to, to join the group.
    pub fn procs_files(&self) -> Vec<PathBuf> {
        self.dirs.iter().map(|d| d.join("cgroup.procs")).collect()
    }

    /// Every process in the group.
    pub fn pids(&self) -> Vec<i32> {
        let mut pids: Vec<i32> = self
            .dirs
            .iter()
            .filter_map(|d| std::fs::read_to_string(d.join("cgroup.procs")).ok())
            .flat_map(|text| {
                text.lines()
                    .filter_map(|l| l.trim().parse().ok())
                    .collect::<Vec<i32>>()
            })
            .collect();
        pids.sort_unstable();
        pids.dedup();
        pids
    }

    /// Memory in use, bytes.
    pub fn memory_used(&self) -> Option<u64> {
        let file = match self.version {
            Version::V1 => "memory.usage_in_bytes",
            Version::V2 => "memory.current",
        };
        std::fs::read_to_string(self.dirs[0].join(file))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Kills every process in the group until it is empty: `cgroup.kill` on v2 (the
    /// kernel kills them all at once, forks included), else SIGKILL to each listed
    /// process, round after round (a fork between two reads is caught by the next).
    pub fn kill_all(&self) {
        if self.version == Version::V2 {
            let _ = std::fs::write(self.dirs[0].join("cgroup.kill"), "1");
        }
        for _ in 0..200 {
            let pids = self.pids();
            if pids.is_empty() {
                return;
            }
            for pid in pids {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        tracing::warn!(group = ?self.dirs, "processes survive in a deploy cgroup");
    }

    /// Removes the (empty) group.
    pub fn remove(&self) {
        for dir in &self.dirs {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The unified hierarchy this machine mounts beside v1 (no controllers in it).
    const UNIFIED: &str = "/sys/fs/cgroup/unified";

    #[test]
    fn a_v2_group_tracks_its_processes_and_cgroup_kill_ends_them_all() {
        let root = Path::new(UNIFIED);
        if !root.join("cgroup.procs").exists() || !nix::unistd::geteuid().is_root() {
            eprintln!("skipped: no writable cgroup v2 hierarchy here");
            return;
        }
        let parent = root.join(format!("students-project-test-{}", std::process::id()));
        std::fs::create_dir_all(&parent).expect("a parent group");
        let group = CgroupRoot::v2_at(parent.clone())
            .create("app-1", &Limits::default())
            .expect("a group");
        let procs = group.procs_files();
        // A shell joins the group first, then forks two sleepers of its own.
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg("echo $$ > \"$1\"; sleep 60 & sleep 60 & wait")
            .arg("sh")
            .arg(&procs[0])
            .spawn()
            .expect("sh runs");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while group.pids().len() < 2 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(group.pids().len() >= 2, "{:?}", group.pids());
        group.kill_all();
        assert!(group.pids().is_empty());
        let _ = child.wait();
        group.remove();
        let _ = std::fs::remove_dir(&parent);
        assert!(!parent.exists());
    }
}
