//! Step 1: a shallow clone of the repository into the deployment's fresh folder, and
//! the short hash of what was fetched. Git runs with no user or system configuration,
//! no hooks, no prompts and no submodules.

use std::{path::Path, process::Stdio, time::Duration};

use tokio_util::sync::CancellationToken;

use super::StepError;
use crate::{logs::LogSink, sandbox::PATH};

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

fn git(args: &[&str], home: &Path, allow_local: bool) -> tokio::process::Command {
    let mut command = tokio::process::Command::new("git");
    command
        .arg("-c")
        .arg("core.hooksPath=/dev/null")
        .arg("-c")
        .arg(format!(
            "protocol.file.allow={}",
            if allow_local { "always" } else { "never" }
        ))
        .args(args)
        .env_clear()
        .env("PATH", PATH)
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        // No `ext::` or other transports that run commands.
        .env(
            "GIT_ALLOW_PROTOCOL",
            if allow_local {
                "https:http:git:ssh:file"
            } else {
                "https:http:git:ssh"
            },
        )
        .env("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Clones `url` into `dest` (which must not exist); returns the short commit hash.
pub async fn clone(
    url: &str,
    dest: &Path,
    log: &LogSink,
    cancel: &CancellationToken,
    timeout: Duration,
    allow_local: bool,
) -> Result<String, StepError> {
    let source = source(url, allow_local)?;
    let home = dest.parent().unwrap_or(dest);
    let dest_arg = dest.display().to_string();
    log.line(format!("$ git clone --depth 1 {url}")).await;
    let mut child = git(
        &[
            "clone",
            "--depth",
            "1",
            "--no-recurse-submodules",
            "--",
            &source,
            &dest_arg,
        ],
        home,
        allow_local,
    )
    .spawn()
    .map_err(|e| StepError::Failed(format!("cannot run git: {e}")))?;
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(StepError::Failed("git's output is not piped".into()));
    };
    let pump_log = log.clone();
    let pump = tokio::spawn(async move { pump_log.pump(stdout, stderr).await });
    let status = tokio::select! {
        status = child.wait() => status.map_err(|e| StepError::Failed(format!("git: {e}")))?,
        () = cancel.cancelled() => {
            let _ = child.kill().await;
            return Err(StepError::Cancelled);
        }
        () = tokio::time::sleep(timeout) => {
            let _ = child.kill().await;
            return Err(StepError::Failed(format!("fetching took longer than {} s", timeout.as_secs())));
        }
    };
    let _ = pump.await;
    if !status.success() {
        let tail = log.tail(3).await.join("\n");
        return Err(StepError::Failed(format!(
            "git clone failed ({}): {tail}",
            crate::runtime::process::describe(status)
        )));
    }
    let commit = head_commit(&dest_arg, home, allow_local).await?;
    log.line(format!("fetched commit {commit}")).await;
    Ok(commit)
}

/// The short hash of the clone's `HEAD`.
async fn head_commit(dest: &str, home: &Path, allow_local: bool) -> Result<String, StepError> {
    let output = git(
        &["-C", dest, "rev-parse", "--short", "HEAD"],
        home,
        allow_local,
    )
    .output()
    .await
    .map_err(|e| StepError::Failed(format!("git rev-parse: {e}")))?;
    let commit = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if !output.status.success() || commit.is_empty() {
        return Err(StepError::Failed(
            "the repository has no commit to deploy".into(),
        ));
    }
    Ok(commit)
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
}
