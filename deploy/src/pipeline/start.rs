//! Helpers of the start and route steps: a fresh folder, a free port, waiting for the
//! app to answer, pruning old folders.

use std::{
    net::{Ipv4Addr, SocketAddr},
    path::Path,
    time::{Duration, Instant},
};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use super::StepError;
use crate::runtime::{Handle, Instance};

/// A free loopback port (the app binds it right after; a clash fails the start step).
pub(super) fn free_port() -> Result<u16, StepError> {
    std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| StepError::Failed(format!("no free port: {e}")))
}

/// A folder only its owner enters (the gateway, then the project's user).
pub(super) fn fresh_dir(project_dir: &Path, dir: &Path) -> Result<(), StepError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let fail = |e: std::io::Error| StepError::Failed(format!("{}: {e}", dir.display()));
    std::fs::create_dir_all(project_dir).map_err(fail)?;
    // Others may pass through (each app reaches its own folder), not list.
    std::fs::set_permissions(project_dir, std::fs::Permissions::from_mode(0o711)).map_err(fail)?;
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(fail)?;
    }
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(dir)
        .map_err(fail)
}

/// Whether the app answers HTTP on `port` (with a health path: below 500). A connect
/// alone proves nothing: the sandbox's network forwarder accepts on the app's behalf.
async fn probe(port: u16, health_path: Option<&str>) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let connect =
        tokio::time::timeout(Duration::from_secs(1), tokio::net::TcpStream::connect(addr));
    let Ok(Ok(mut stream)) = connect.await else {
        return false;
    };
    let path = health_path.unwrap_or("/");
    let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    let exchange = async {
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await.ok()?;
        let text = std::str::from_utf8(&head).ok()?;
        if !text.starts_with("HTTP/") {
            return None;
        }
        text.get(9..12)?.parse::<u16>().ok()
    };
    match tokio::time::timeout(Duration::from_secs(2), exchange).await {
        Ok(Some(code)) => health_path.is_none() || code < 500,
        _ => false,
    }
}

pub(super) async fn wait_up(
    instance: &Instance,
    port: u16,
    health_path: Option<&str>,
    timeout: Duration,
    cancel: &CancellationToken,
) -> Result<(), StepError> {
    if matches!(instance.handle, Handle::Nothing) {
        return Ok(());
    }
    let deadline = Instant::now() + timeout;
    loop {
        if cancel.is_cancelled() {
            return Err(StepError::Cancelled);
        }
        if let Some(how) = instance.exit_status() {
            return Err(StepError::Failed(format!(
                "the app {how} before answering on its port (see the RUNTIME log)"
            )));
        }
        if probe(port, health_path).await {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(StepError::Failed(format!(
                "the app did not answer on port {port} (the PORT variable) within {} s",
                timeout.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Stops an instance off the async threads (it waits for the group to empty).
pub(super) async fn stop(instance: Instance) {
    let _ = tokio::task::spawn_blocking(move || instance.stop()).await;
}

/// Removes a project's deployment folders but `keep` (the one serving, and the one it
/// replaced, so a start can go back to it).
pub(super) fn prune(project_dir: &Path, keep: &[i32]) {
    let Ok(entries) = std::fs::read_dir(project_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let id = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok());
        if id.is_some_and(|id| !keep.contains(&id)) {
            let path = entry.path();
            if let Err(error) = std::fs::remove_dir_all(&path) {
                tracing::warn!(%error, path = %path.display(), "cannot remove an old deployment folder");
            }
        }
    }
}
