//! The engine's start and end: its folder, taking over what a crashed replica on this
//! host left running, and a shutdown that lets deploys finish within a grace period.

use std::sync::Arc;

use entities::projects::{deployment, project};
use nix::{
    sys::signal::{Signal, killpg},
    unistd::Pid,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::{
    Engine, EngineConfig, EngineError, Event, Shared, queue, routines, sandbox::CgroupRoot,
};

pub(crate) fn prepare_deploy_dir(config: &EngineConfig) -> Result<(), EngineError> {
    use std::os::unix::fs::PermissionsExt;
    let dir = &config.deploy_dir;
    std::fs::create_dir_all(dir).map_err(|e| EngineError::io(dir.display(), e))?;
    // Apps pass through to their own folders; nobody but the gateway lists them.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o711))
        .map_err(|e| EngineError::io(dir.display(), e))?;
    // Published static files: the gateway's alone.
    let published = dir.join(crate::config::PUBLISHED);
    std::fs::create_dir_all(&published).map_err(|e| EngineError::io(published.display(), e))?;
    std::fs::set_permissions(&published, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| EngineError::io(published.display(), e))
}

/// The host and process of a replica id (`host-pid-suffix`).
fn host_and_pid(replica: &str) -> Option<(&str, i32)> {
    let mut parts = replica.rsplitn(3, '-');
    let _suffix = parts.next()?;
    let pid = parts.next()?.parse().ok()?;
    Some((parts.next()?, pid))
}

/// Whether the replica that recorded an app is gone: on this host, and its process no
/// longer exists. (A replica on another host is that host's business.)
fn dead_here(replica: &str, host: &str) -> bool {
    match host_and_pid(replica) {
        Some((their_host, pid)) => {
            their_host == host && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        }
        None => false,
    }
}

/// Stops the apps that replicas which died on this host left running and clears their
/// place in the projects' records (they should still run: [`crate::placement`] starts
/// them again from their builds). Only processes of the project's own uid are killed (a
/// recorded process group may have been reused since); without the user sandbox there
/// is no such proof, and only the record is corrected.
pub(crate) async fn recover(shared: &Arc<Shared>) -> Result<usize, EngineError> {
    // Builds and apps of dead gateways, found by their cgroups' names.
    let sandbox = shared.sandbox.clone();
    let swept = tokio::task::spawn_blocking(move || sandbox.sweep_orphans())
        .await
        .unwrap_or(0);
    if swept > 0 {
        tracing::warn!(swept, "killed what dead gateways' builds and apps left");
    }
    let host = shared
        .config
        .replica
        .rsplitn(3, '-')
        .nth(2)
        .unwrap_or_default()
        .to_owned();
    let served = project::Entity::find()
        .filter(project::Column::ServingDeploymentId.is_not_null())
        .all(&shared.db)
        .await?;
    let mut recovered = 0;
    for found in served {
        let Some(serving) = found.serving_deployment_id else {
            continue;
        };
        if shared.apps.of_project(found.id).is_some() {
            continue;
        }
        let Some(last) = orphaned(shared, serving, &host).await? else {
            continue;
        };
        let replica = last.replica.clone().unwrap_or_default();
        stop_orphan(shared, found.id, &last).await?;
        if !queue::vacate(&shared.db, found.id, serving, true).await? {
            continue;
        }
        shared.events.send(Event::AppChanged {
            project_id: found.id,
            running: false,
            message: format!("the replica that ran it ({replica}) is gone: starting it again"),
        });
        tracing::warn!(
            project = found.id,
            replica,
            "stopped an app a dead replica left; it starts again from its build"
        );
        recovered += 1;
    }
    Ok(recovered)
}

/// The deployment whose instance serves, if a replica of this host that is gone
/// started it.
async fn orphaned(
    shared: &Shared,
    serving: i32,
    host: &str,
) -> Result<Option<deployment::Model>, EngineError> {
    let last = deployment::Entity::find_by_id(serving)
        .one(&shared.db)
        .await?;
    Ok(last.filter(|last| {
        last.replica
            .as_deref()
            .is_some_and(|replica| dead_here(replica, host))
    }))
}

/// Kills what the deployment left: its process group when every process in it is the
/// project's uid, and its cgroup.
async fn stop_orphan(
    shared: &Shared,
    project_id: i32,
    last: &deployment::Model,
) -> Result<(), EngineError> {
    let uid = shared.sandbox.uid_of(project_id);
    let group = last.process_group;
    let cgroup = last.cgroup.clone();
    let netns_dir = std::path::Path::new(crate::sandbox::net::DIR);
    tokio::task::spawn_blocking(move || {
        if let (Some(uid), Some(group)) = (uid, group) {
            let owned = routines::processes()
                .iter()
                .filter(|p| p.pgid == group)
                .all(|p| owner_of(p.pid) == Some(uid));
            if owned {
                let _ = killpg(Pid::from_raw(group), Signal::SIGKILL);
            }
        }
        if let Some(name) = cgroup {
            if let Some(root) = CgroupRoot::detect() {
                let left = root.existing(&name);
                left.kill_all();
                left.remove();
            }
            crate::sandbox::net::Netns::existing(netns_dir, &name).remove();
        }
    })
    .await
    .map_err(|e| EngineError::Io(format!("recovery: {e}")))
}

fn owner_of(pid: i32) -> Option<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

impl Engine {
    /// Stops claiming; lets running deploys finish within the config's shutdown grace,
    /// then gives the rest back to the queue (another replica, or this one's next
    /// start, takes them); stops every app, and clears its place in its project's
    /// record: the app should still run, and the next gateway (or another replica, once
    /// this one's lease has passed) starts it again from its build. Static sites stay
    /// served: their files do not need this process.
    pub async fn shutdown(&self) {
        let shared = &self.shared;
        shared.stop_claiming.cancel();
        if let Some(task) = shared.dispatcher.lock().await.take() {
            let _ = task.await;
        }
        let grace = shared.config.shutdown_grace;
        if tokio::time::timeout(grace, shared.manager.idle())
            .await
            .is_err()
        {
            shared.manager.drain().await;
        }
        let apps = shared.apps.take_all();
        let served: Vec<(i32, i32)> = apps
            .iter()
            .filter(|a| a.route.addr.is_some())
            .map(|a| (a.route.project_id, a.deployment_id))
            .collect();
        let _ = tokio::task::spawn_blocking(move || {
            for app in apps {
                app.instance.stop();
            }
        })
        .await;
        for (project_id, deployment_id) in served {
            if let Err(error) = queue::vacate(&shared.db, project_id, deployment_id, true).await {
                tracing::warn!(%error, project_id, "cannot record that an app stopped");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replica_id_names_its_host_and_process() {
        assert_eq!(host_and_pid("build-host-7-12ab3c"), Some(("build-host", 7)));
        assert_eq!(host_and_pid("nonsense"), None);
        assert!(dead_here("h-999999999-abc", "h"));
        assert!(!dead_here("other-999999999-abc", "h"));
        assert!(!dead_here(&format!("h-{}-abc", std::process::id()), "h"));
    }
}
