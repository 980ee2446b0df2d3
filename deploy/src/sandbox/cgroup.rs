//! cgroups v1 (memory and pids controllers), where the machine lets us create groups:
//! a group per build or app caps its memory and process count, and finds every process
//! to kill, even one that left its process group.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use nix::{
    sys::signal::{Signal, kill},
    unistd::Pid,
};

use crate::config::Limits;

const CONTROLLERS: [&str; 2] = ["memory", "pids"];

/// Our parent groups, one per controller, under the gateway's own group.
#[derive(Clone, Debug)]
pub struct CgroupRoot {
    dirs: Vec<PathBuf>,
}

impl CgroupRoot {
    /// The parent groups, created if missing; `None` where cgroups v1 memory and pids
    /// are not mounted or not writable (not root, cgroups v2 only).
    pub fn detect() -> Option<Self> {
        let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
        let mut dirs = Vec::new();
        for controller in CONTROLLERS {
            let mount = Path::new("/sys/fs/cgroup").join(controller);
            if !mount.join("cgroup.procs").exists() {
                return None;
            }
            let path = own
                .lines()
                .filter_map(|line| {
                    let mut parts = line.splitn(3, ':').skip(1);
                    parts.next().zip(parts.next())
                })
                .find(|(names, _)| names.split(',').any(|n| n == controller))
                .map_or("/", |(_, path)| path);
            let dir = mount
                .join(path.trim_start_matches('/'))
                .join("students-project");
            std::fs::create_dir_all(&dir).ok()?;
            dirs.push(dir);
        }
        Some(Self { dirs })
    }

    /// What the groups limit, for the start-up line and `deployQueue { sandbox }`.
    pub fn describe(&self) -> String {
        "cgroups v1 (memory, pids)".into()
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
            dirs: self.dirs.iter().map(|d| d.join(name)).collect(),
        }
    }

    /// A fresh group `name` with `limits`.
    pub fn create(&self, name: &str, limits: &Limits) -> std::io::Result<Cgroup> {
        let group = Cgroup {
            dirs: self.dirs.iter().map(|d| d.join(name)).collect(),
        };
        // A group left by a crashed run of the same name: empty it first.
        group.kill_all();
        group.remove();
        for dir in &group.dirs {
            std::fs::create_dir_all(dir)?;
        }
        let memory = &group.dirs[0];
        std::fs::write(
            memory.join("memory.limit_in_bytes"),
            limits.memory_bytes.to_string(),
        )?;
        // Swap counts too where the kernel accounts it; absent otherwise.
        let memsw = memory.join("memory.memsw.limit_in_bytes");
        if memsw.exists() {
            let _ = std::fs::write(memsw, limits.memory_bytes.to_string());
        }
        std::fs::write(group.dirs[1].join("pids.max"), limits.processes.to_string())?;
        Ok(group)
    }
}

/// One build's or app's group.
#[derive(Clone, Debug)]
pub struct Cgroup {
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
        std::fs::read_to_string(self.dirs[0].join("memory.usage_in_bytes"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// SIGKILLs every process in the group until it is empty (a fork between two reads
    /// is caught by the next round).
    pub fn kill_all(&self) {
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
