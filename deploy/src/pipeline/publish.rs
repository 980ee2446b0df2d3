//! Step 4: publish the repository's static folder. The folder is read by `tar` running
//! sandboxed as the project's user (so it can only pack what the app itself can read),
//! and unpacked by the gateway into a fresh root-owned folder keeping regular files and
//! folders only: no symlink or hard link in a student's repository can make the gateway
//! serve a file of its own, and the running app cannot change what is served.

use std::{
    io::Read,
    path::{Component, Path},
};

use tokio::io::AsyncReadExt;

use super::StepError;
use crate::{
    logs::LogSink,
    sandbox::{self, Network, PATH, Sandbox, Spawn},
};

/// Most bytes a static folder may hold.
pub const MAX_BYTES: u64 = 256 * 1024 * 1024;

/// Checks `relative` names a folder inside the repository.
pub fn check_path(relative: &str) -> Result<(), StepError> {
    let path = Path::new(relative);
    let inside = !relative.is_empty()
        && path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if inside {
        Ok(())
    } else {
        Err(StepError::Failed(format!(
            "the static folder {relative:?} must be a relative path inside the repository"
        )))
    }
}

/// Copies `src/relative` into `dest`; returns how many files were published.
pub async fn publish(
    sandbox: &Sandbox,
    project_id: i32,
    deployment_id: i32,
    src: &Path,
    relative: &str,
    dest: &Path,
    log: &LogSink,
) -> Result<usize, StepError> {
    check_path(relative)?;
    let folder = src.join(relative);
    match std::fs::symlink_metadata(&folder) {
        Ok(meta) if meta.is_dir() => {}
        _ => {
            return Err(StepError::Failed(format!(
                "the static folder {relative:?} is not a folder of the repository"
            )));
        }
    }
    let bytes = pack(sandbox, (project_id, deployment_id), src, &folder).await?;
    let dest = dest.to_owned();
    let (files, skipped) = tokio::task::spawn_blocking(move || unpack(&bytes, &dest))
        .await
        .map_err(|e| StepError::Failed(format!("unpacking the static folder: {e}")))?
        .map_err(|e| StepError::Failed(format!("unpacking the static folder: {e}")))?;
    for path in skipped {
        log.line(format!("static: skipped {path} (not a regular file)"))
            .await;
    }
    Ok(files)
}

/// The folder as a tar stream, written by `tar` inside the project's sandbox (so it
/// reads only what the project may read), at most `MAX_BYTES`.
async fn pack(
    sandbox: &Sandbox,
    (project_id, deployment_id): (i32, i32),
    src: &Path,
    folder: &Path,
) -> Result<Vec<u8>, StepError> {
    let prepared = tar_command(sandbox, (project_id, deployment_id), src, folder)?;
    let mut command = prepared.command;
    let mut child = command
        .spawn()
        .map_err(|e| StepError::Failed(format!("cannot run tar: {e}")))?;
    let pid = child.id();
    let (Some(stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(StepError::Failed("tar's output is not piped".into()));
    };
    let mut bytes = Vec::new();
    let read = stdout.take(MAX_BYTES + 1).read_to_end(&mut bytes).await;
    let mut errors = String::new();
    let _ = stderr.read_to_string(&mut errors).await;
    // tar has closed its output: let it exit, then clear anything it left behind.
    let status = tokio::time::timeout(std::time::Duration::from_secs(30), child.wait()).await;
    let (group, netns) = (prepared.cgroup, prepared.netns);
    let _ = tokio::task::spawn_blocking(move || {
        sandbox::kill_tree(pid, group.as_ref(), netns.as_ref());
    })
    .await;
    let status = match status {
        Ok(status) => status,
        Err(_) => child.wait().await,
    };
    read.map_err(|e| StepError::Failed(format!("reading the static folder: {e}")))?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(StepError::Failed(format!(
            "the static folder is larger than {} MB",
            MAX_BYTES / 1024 / 1024
        )));
    }
    if !status.is_ok_and(|s| s.success()) {
        return Err(StepError::Failed(format!(
            "packing the static folder failed: {}",
            errors.trim()
        )));
    }
    Ok(bytes)
}

/// `tar` packing `folder`, in the project's sandbox with no network.
fn tar_command(
    sandbox: &Sandbox,
    (project_id, deployment_id): (i32, i32),
    src: &Path,
    folder: &Path,
) -> Result<sandbox::Prepared, StepError> {
    let env = [("PATH".to_owned(), PATH.to_owned())];
    // The deployment's folder (its entry is root's), never the static folder itself: a
    // bind's source is resolved with root's rights, and the app may have made that a link.
    let readable = [src.parent().unwrap_or(src).to_owned()];
    sandbox
        .command(&Spawn {
            project_id,
            name: format!("publish-{deployment_id}"),
            cwd: folder,
            writable: &[],
            readable: &readable,
            env: &env,
            shell: "exec tar -cf - .",
            args: &[],
            cpu_secs: Some(60),
            network: Network::None,
        })
        .map_err(|e| StepError::Failed(e.to_string()))
}

fn unpack(bytes: &[u8], dest: &Path) -> std::io::Result<(usize, Vec<String>)> {
    use std::os::unix::fs::PermissionsExt;
    if dest.exists() {
        std::fs::remove_dir_all(dest)?;
    }
    std::fs::create_dir_all(dest)?;
    std::fs::set_permissions(dest, std::fs::Permissions::from_mode(0o755))?;
    let mut archive = tar::Archive::new(bytes);
    archive.set_preserve_permissions(false);
    archive.set_preserve_ownerships(false);
    let mut files = 0;
    let mut skipped = Vec::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let kind = entry.header().entry_type();
        let path = entry.path()?.display().to_string();
        if is_version_control(&path) {
            let mut sink = Vec::new();
            let _ = entry.read_to_end(&mut sink);
            continue;
        }
        if kind.is_file() || kind.is_dir() {
            // `unpack_in` refuses paths that leave `dest`.
            if entry.unpack_in(dest)? && kind.is_file() {
                files += 1;
            }
        } else {
            let mut sink = Vec::new();
            let _ = entry.read_to_end(&mut sink);
            skipped.push(path);
        }
    }
    Ok((files, skipped))
}

/// Folders of version control systems: a repository's history and remotes are never
/// published, whatever `static` names (`static = "."` included).
const VERSION_CONTROL: [&str; 5] = [".git", ".hg", ".svn", ".bzr", "CVS"];

fn is_version_control(path: &str) -> bool {
    Path::new(path)
        .components()
        .any(|c| matches!(c, Component::Normal(name) if VERSION_CONTROL.iter().any(|v| name == *v)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_paths_stay_inside_the_repository() {
        assert!(check_path("public").is_ok());
        assert!(check_path("web/dist").is_ok());
        assert!(check_path("../secrets").is_err());
        assert!(check_path("/etc").is_err());
        assert!(check_path("").is_err());
    }

    #[test]
    fn unpacking_keeps_files_and_folders_and_skips_links_and_repository_internals() {
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(5);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, "a/index.html", &b"hello"[..])
            .expect("append");
        let mut link = tar::Header::new_gnu();
        link.set_entry_type(tar::EntryType::Symlink);
        link.set_size(0);
        builder
            .append_link(&mut link, "secret", "/etc/shadow")
            .expect("append link");
        for internal in ["./.git/config", ".git/HEAD", "sub/.hg/store"] {
            let mut header = tar::Header::new_gnu();
            header.set_size(4);
            header.set_mode(0o644);
            header.set_cksum();
            builder
                .append_data(&mut header, internal, &b"repo"[..])
                .expect("append");
        }
        let bytes = builder.into_inner().expect("tar");
        let dest = tempfile::tempdir().expect("dir");
        let (files, skipped) = unpack(&bytes, &dest.path().join("public")).expect("unpacks");
        assert_eq!(files, 1);
        assert_eq!(skipped, vec!["secret".to_owned()]);
        assert!(!dest.path().join("public/secret").exists());
        assert!(!dest.path().join("public/.git").exists());
        assert!(!dest.path().join("public/sub").exists());
        assert_eq!(
            std::fs::read_to_string(dest.path().join("public/a/index.html")).expect("file"),
            "hello"
        );
    }
}
