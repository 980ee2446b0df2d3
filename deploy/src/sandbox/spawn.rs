//! What a sandboxed command is asked to be (`Spawn`), what comes back ready to run
//! (`Prepared`), and the first words of its command line.

use std::path::{Path, PathBuf};

use super::{Cgroup, net::Netns};

/// The network a sandboxed command gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Network {
    /// Loopback only (packing a static folder).
    None,
    /// Public egress and the student database servers (fetch, build).
    Build,
    /// An app: the student database servers, public egress per `DEPLOY_APP_EGRESS`, and
    /// its port forwarded from the host's loopback.
    App { port: u16 },
}

/// What to run, where, with which variables.
pub struct Spawn<'a> {
    pub project_id: i32,
    /// Names the cgroup and the network namespace (`build-12`, `app-12`).
    pub name: String,
    pub cwd: &'a Path,
    /// Folders it may write (its deployment's); the rest of the host is read-only or
    /// hidden.
    pub writable: &'a [PathBuf],
    /// Host folders it may read besides the system (a local repository to fetch).
    pub readable: &'a [PathBuf],
    pub env: &'a [(String, String)],
    /// A shell command line (`sh -c`), with `args` as `$1`, `$2`, ...
    pub shell: &'a str,
    pub args: &'a [String],
    /// CPU seconds, when lower than the configured limit (a build's time limit).
    pub cpu_secs: Option<u64>,
    pub network: Network,
}

/// A command ready to spawn, and the group and network it joins.
pub struct Prepared {
    pub command: tokio::process::Command,
    pub cgroup: Option<Cgroup>,
    pub netns: Option<Netns>,
}

/// The words that make the command join `group` before anything else runs, so no child
/// is born outside it: a shell writes its pid into each of the group's `cgroup.procs`
/// files, then execs the rest.
pub(super) fn join_first(group: &Cgroup) -> Vec<String> {
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
