//! Step 1: a shallow clone of the repository into the deployment's fresh folder, and
//! the short hash of what was fetched. Git runs in the project's sandbox, as its user,
//! in its own network (never as the gateway, never with root's home or keys, never on
//! the host's loopback), with no user or system configuration, no hooks, no prompts and
//! no submodules.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use tokio::io::AsyncReadExt;
use tokio_util::sync::CancellationToken;

use super::StepError;
use crate::{
    logs::LogSink,
    sandbox::{self, Network, PATH, Sandbox, Spawn},
};

/// The URL git is given: local paths become `file://` URLs (so `--depth` applies), and
/// only when local repositories are allowed.
pub fn source(url: &str, allow_local: bool) -> Result<String, StepError> {
    let remote = ["https://", "http://", "git://", "ssh://"]
        .iter()
        .any(|scheme| url.starts_with(scheme));
    if remote {
        return Ok(url.to_owned());
    }
    if allow_local {
        if let Some(path) = url.strip_prefix("file://") {
            return Ok(format!("file://{path}"));
        }
        if url.starts_with('/') {
            return Ok(format!("file://{url}"));
        }
    }
    Err(StepError::Failed(format!(
        "{url:?} is not a repository URL this server fetches (https, http, git or ssh)"
    )))
}

/// Where one fetch runs: the deployment's folder, and the local repository it may read.
pub struct Fetch<'a> {
    pub sandbox: &'a Sandbox,
    pub project_id: i32,
    pub deployment_id: i32,
    /// The deployment's folder; the clone goes to `src` in it.
    pub dir: &'a Path,
    pub allow_local: bool,
}

impl Fetch<'_> {
    /// The global configuration git reads: none, but for a local repository (tests,
    /// demos), which belongs to another user and needs `safe.directory` in a file (git
    /// clears `-c` settings for the local transport's own process).
    fn global_config(&self) -> Result<String, StepError> {
        if !self.allow_local {
            return Ok("/dev/null".into());
        }
        let path = self.dir.join(".gitconfig");
        std::fs::write(
            &path,
            "[safe]\n\tdirectory = *\n[core]\n\thooksPath = /dev/null\n",
        )
        .map_err(|e| StepError::Failed(format!("{}: {e}", path.display())))?;
        Ok(path.display().to_string())
    }

    fn env(&self, global: &str) -> Vec<(String, String)> {
        let protocols = if self.allow_local {
            "https:http:git:ssh:file"
        } else {
            "https:http:git:ssh"
        };
        [
            ("PATH", PATH),
            ("HOME", &self.dir.display().to_string()),
            ("LANG", "C.UTF-8"),
            ("GIT_CONFIG_NOSYSTEM", "1"),
            ("GIT_CONFIG_GLOBAL", global),
            ("GIT_TERMINAL_PROMPT", "0"),
            // No `ext::` or other transports that run commands.
            ("GIT_ALLOW_PROTOCOL", protocols),
            ("GIT_SSH_COMMAND", "ssh -o BatchMode=yes"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
    }

    /// `git` with the safe configuration and `args`, sandboxed.
    fn git(
        &self,
        name: &str,
        args: &[String],
        readable: &[PathBuf],
        network: Network,
    ) -> Result<sandbox::Prepared, StepError> {
        let file = if self.allow_local { "always" } else { "never" };
        let shell = format!(
            "exec git -c core.hooksPath=/dev/null -c protocol.file.allow={file} \
             \"$@\""
        );
        let writable = [self.dir.to_owned()];
        let global = self.global_config()?;
        self.sandbox
            .command(&Spawn {
                project_id: self.project_id,
                name: format!("{name}-{}", self.deployment_id),
                cwd: self.dir,
                writable: &writable,
                readable,
                env: &self.env(&global),
                shell: &shell,
                args,
                cpu_secs: None,
                network,
            })
            .map_err(|e| StepError::Failed(e.to_string()))
    }

    /// What git fetches, and what the sandbox may read for it: a local repository (tests,
    /// demos) is resolved and shown read-only.
    fn source(&self, url: &str) -> Result<(String, Vec<PathBuf>), StepError> {
        let source = source(url, self.allow_local)?;
        let Some(path) = source.strip_prefix("file://") else {
            return Ok((source, Vec::new()));
        };
        let resolved = self
            .sandbox
            .local_repository(Path::new(path))
            .map_err(StepError::Failed)?;
        Ok((format!("file://{}", resolved.display()), vec![resolved]))
    }

    /// Clones `url` into `src` of the folder; returns the short commit hash.
    pub async fn clone(
        &self,
        url: &str,
        log: &LogSink,
        cancel: &CancellationToken,
        timeout: Duration,
    ) -> Result<String, StepError> {
        let (source, readable) = self.source(url)?;
        let src = self.dir.join("src").display().to_string();
        log.line(format!("$ git clone --depth 1 {}", redacted(url)))
            .await;
        let args: Vec<String> = ["clone", "--depth", "1", "--no-recurse-submodules", "--"]
            .iter()
            .map(|s| (*s).to_owned())
            .chain([source.clone(), src.clone()])
            .collect();
        let prepared = self.git("fetch", &args, &readable, Network::Build)?;
        let (mut command, group, netns) = (prepared.command, prepared.cgroup, prepared.netns);
        let mut child = command
            .spawn()
            .map_err(|e| StepError::Failed(format!("cannot run git: {e}")))?;
        let pid = child.id();
        let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(StepError::Failed("git's output is not piped".into()));
        };
        let pump_log = log.clone();
        let pump = tokio::spawn(async move { pump_log.pump(stdout, stderr).await });
        let outcome = tokio::select! {
            status = child.wait() => status.map_err(|e| StepError::Failed(format!("git: {e}"))),
            () = cancel.cancelled() => Err(StepError::Cancelled),
            () = tokio::time::sleep(timeout) => Err(StepError::Failed(format!(
                "fetching took longer than {} s", timeout.as_secs()
            ))),
        };
        let _ = tokio::task::spawn_blocking(move || {
            sandbox::kill_tree(pid, group.as_ref(), netns.as_ref());
        })
        .await;
        let _ = child.wait().await;
        let _ = pump.await;
        let status = outcome?;
        if !status.success() {
            let tail = log.tail(3).await.join("\n");
            return Err(StepError::Failed(format!(
                "git clone failed ({}): {tail}",
                crate::runtime::process::describe(status)
            )));
        }
        let commit = self.head_commit(&src).await?;
        log.line(format!("fetched commit {commit}")).await;
        Ok(commit)
    }

    /// The short hash of the clone's `HEAD`, asked of git in the sandbox too (a
    /// repository's files are never git's input as root).
    async fn head_commit(&self, src: &str) -> Result<String, StepError> {
        let args: Vec<String> = ["-C", src, "rev-parse", "--short", "HEAD"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let prepared = self.git("commit", &args, &[], Network::None)?;
        let (mut command, group, netns) = (prepared.command, prepared.cgroup, prepared.netns);
        let mut child = command
            .spawn()
            .map_err(|e| StepError::Failed(format!("git rev-parse: {e}")))?;
        let pid = child.id();
        let (mut out, mut errors) = (String::new(), String::new());
        if let Some(stdout) = child.stdout.take() {
            let _ = stdout.take(256).read_to_string(&mut out).await;
        }
        if let Some(stderr) = child.stderr.take() {
            let _ = stderr.take(4096).read_to_string(&mut errors).await;
        }
        let status = tokio::time::timeout(Duration::from_secs(30), child.wait()).await;
        let _ = tokio::task::spawn_blocking(move || {
            sandbox::kill_tree(pid, group.as_ref(), netns.as_ref());
        })
        .await;
        let commit = out.trim().to_owned();
        let valid = !commit.is_empty() && commit.bytes().all(|b| b.is_ascii_hexdigit());
        if !matches!(status, Ok(Ok(s)) if s.success()) || !valid {
            return Err(StepError::Failed(format!(
                "the repository has no commit to deploy: {}",
                errors.trim()
            )));
        }
        Ok(commit)
    }
}

/// `url` without the credentials a URL can carry (`scheme://user:password@host`): never
/// written to a log. (New projects cannot have them; older rows might.)
pub fn redacted(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((userinfo, host)) if !userinfo.contains('/') => {
                format!("{scheme}://***@{host}")
            }
            _ => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_are_refused_unless_allowed_and_become_file_urls() {
        assert!(source("/srv/repo", false).is_err());
        assert_eq!(
            source("/srv/repo", true).ok().as_deref(),
            Some("file:///srv/repo")
        );
        assert!(source("-uhttps://x", true).is_err());
        assert!(source("https://git.example.edu/a.git", false).is_ok());
    }

    #[test]
    fn credentials_never_reach_the_log() {
        assert_eq!(
            redacted("https://u:hunter2@git.example.edu/a.git"),
            "https://***@git.example.edu/a.git"
        );
        assert_eq!(redacted("/srv/repo"), "/srv/repo");
        assert_eq!(
            redacted("https://git.example.edu/a@b.git"),
            "https://git.example.edu/a@b.git"
        );
    }
}
