//! The two background routines of running apps: **liveness** (an app that died is
//! unrouted, its leftovers killed, its project marked not running, and an event says
//! how it ended) and **statistics** (CPU, memory and disk IO of each app from /proc and
//! its cgroup, or from `docker stats` for containers; one INSERT per sampling round, the
//! newest 50 per project kept).

use std::{collections::HashMap, sync::Arc, time::Instant};

use chrono::Utc;
use entities::projects::statistic;
use sea_orm::{ConnectionTrait, EntityTrait, Set, Statement};

use crate::{
    EngineError, Event, Shared, queue,
    runtime::{
        Handle, Instance,
        docker::{self, stats::Usage},
    },
};

/// Samples kept per project.
pub const KEEP: i64 = 50;
/// Linux's USER_HZ: /proc reports CPU time in these ticks.
const TICKS_PER_SECOND: f64 = 100.0;
const PAGE: u64 = 4096;

pub(crate) async fn run(shared: Arc<Shared>) {
    let mut stats = tokio::time::interval(shared.config.stats_interval);
    let mut live = tokio::time::interval(shared.config.liveness_interval);
    stats.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    live.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // A project changed on some replica (on PostgreSQL the others' events arrive too):
    // this replica's instances follow its record at once, not at the next tick.
    let mut events = shared.events.subscribe();
    loop {
        tokio::select! {
            () = shared.stop_claiming.cancelled() => return,
            event = events.recv() => {
                let changed = match event {
                    Ok(Event::AppChanged { project_id, .. }) => shared.apps.of_project(project_id).is_some(),
                    Ok(Event::Changed { project_id, status, .. }) => {
                        status == entities::projects::enums::JobStatus::Succeeded
                            && shared.apps.of_project(project_id).is_some()
                    }
                    Ok(Event::Logged { .. }) => false,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => true,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                };
                if changed && let Err(error) = crate::placement::reconcile(&shared).await {
                    tracing::warn!(%error, "cannot reconcile apps to their records");
                }
            }
            _ = live.tick() => {
                if let Err(error) = liveness(&shared).await {
                    tracing::warn!(%error, "liveness check failed");
                }
                if let Err(error) = crate::placement::reconcile(&shared).await {
                    tracing::warn!(%error, "cannot reconcile apps to their records");
                }
            }
            _ = stats.tick() => {
                if let Err(error) = sample(&shared).await {
                    tracing::warn!(%error, "statistics sampling failed");
                }
                if let Err(error) = crate::prune::prune(&shared).await {
                    tracing::warn!(%error, "pruning old logs failed");
                }
            }
        }
    }
}

/// Unroutes apps whose process ended (and restarts them when configured); returns how
/// many.
pub(crate) async fn liveness(shared: &Arc<Shared>) -> Result<usize, EngineError> {
    let mut dead = 0;
    for (slug, app) in shared.apps.all() {
        let Some(how) = app.instance.exit_status() else {
            continue;
        };
        if !shared.apps.remove_exact(&slug, &app) {
            continue;
        }
        dead += 1;
        let project_id = app.route.project_id;
        let deployment_id = app.route.deployment_id;
        let started_by = app.deployment_id;
        tracing::warn!(project_id, slug, how, "an app died");
        // Whatever it left behind (children in its group or cgroup) goes too.
        let _ = tokio::task::spawn_blocking(move || app.instance.stop()).await;
        // Only if the record still names it: a newer instance elsewhere is left alone.
        if !queue::vacate(&shared.db, project_id, started_by, false).await? {
            continue;
        }
        let message = crate::restart::after_crash(shared, project_id, deployment_id, &how).await;
        shared.events.send(Event::AppChanged {
            project_id,
            running: false,
            message,
        });
    }
    Ok(dead)
}

/// One process, from /proc.
pub(crate) struct Process {
    pub pid: i32,
    pub pgid: i32,
    /// utime + stime, in ticks.
    pub cpu: u64,
    /// Resident pages.
    pub rss: u64,
}

/// Every live process (pid, group, CPU time, resident pages).
pub(crate) fn processes() -> Vec<Process> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_str()?.parse::<i32>().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            stat_of(pid, &stat)
        })
        .collect()
}

fn stat_of(pid: i32, stat: &str) -> Option<Process> {
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let number = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    Some(Process {
        pid,
        pgid: fields.get(2)?.parse().ok()?,
        cpu: number(11)? + number(12)?,
        rss: number(21)?,
    })
}

/// Bytes read from and written to storage by `pid` (root reads any process's).
fn io_of(pid: i32) -> (u64, u64) {
    let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/io")) else {
        return (0, 0);
    };
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    (field("read_bytes:"), field("write_bytes:"))
}

fn clamp(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Samples every routed app once; returns how many samples were written.
pub(crate) async fn sample(shared: &Shared) -> Result<usize, EngineError> {
    let apps = shared.apps.all();
    if apps.is_empty() {
        return Ok(0);
    }
    let limit = shared.config.limits.memory_bytes;
    let now = Instant::now();
    let containers: Vec<String> = apps
        .iter()
        .filter_map(|(_, app)| match &app.instance.handle {
            Handle::Docker { container } => Some(container.clone()),
            _ => None,
        })
        .collect();
    let (table, docker) = tokio::task::spawn_blocking(move || {
        let table: HashMap<i32, Process> = processes().into_iter().map(|p| (p.pid, p)).collect();
        (table, docker::stats::stats(&containers))
    })
    .await
    .map_err(|e| EngineError::Io(format!("reading /proc: {e}")))?;
    let mut rows = Vec::new();
    let mut projects = Vec::new();
    for (_, app) in apps {
        let project_id = app.route.project_id;
        let usage = match &app.instance.handle {
            Handle::Docker { container } => match docker.get(container) {
                Some(usage) => usage.clone(),
                None => continue,
            },
            _ => match from_proc(shared, &app.instance, &table, project_id, now) {
                Some(usage) => usage,
                None => continue,
            },
        };
        rows.push(statistic::ActiveModel {
            project_id: Set(project_id),
            cpu_percent: Set(usage.cpu_percent),
            memory_percent: Set(usage.memory_used as f64 / limit.max(1) as f64 * 100.0),
            memory_used: Set(clamp(usage.memory_used)),
            memory_limit: Set(clamp(limit)),
            block_io_read: Set(clamp(usage.block_read)),
            block_io_write: Set(clamp(usage.block_write)),
            net_io_rx: Set(clamp(usage.net_rx)),
            net_io_tx: Set(clamp(usage.net_tx)),
            created_at: Set(Utc::now()),
            ..Default::default()
        });
        projects.push(project_id);
    }
    if rows.is_empty() {
        return Ok(0);
    }
    let written = rows.len();
    statistic::Entity::insert_many(rows)
        .exec(&shared.db)
        .await?;
    trim(&shared.db, &projects).await?;
    Ok(written)
}

/// A process app's use from /proc and its cgroup. Apps share the host's network
/// namespace: per-app traffic is not measurable here (0).
fn from_proc(
    shared: &Shared,
    instance: &Instance,
    table: &HashMap<i32, Process>,
    project_id: i32,
    now: Instant,
) -> Option<Usage> {
    let pids = instance.pids();
    if pids.is_empty() {
        return None;
    }
    let found: Vec<&Process> = pids.iter().filter_map(|pid| table.get(pid)).collect();
    let cpu: u64 = found.iter().map(|p| p.cpu).sum();
    let rss: u64 = found.iter().map(|p| p.rss * PAGE).sum();
    let (block_read, block_write) = pids
        .iter()
        .map(|pid| io_of(*pid))
        .fold((0, 0), |(r, w), (a, b)| (r + a, w + b));
    let mut seen = shared
        .cpu_seen
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let cpu_percent = match seen.get(&project_id) {
        Some((before, at)) if cpu >= *before => {
            let seconds = now.duration_since(*at).as_secs_f64().max(0.001);
            (cpu - before) as f64 / TICKS_PER_SECOND / seconds * 100.0
        }
        _ => 0.0,
    };
    seen.insert(project_id, (cpu, now));
    Some(Usage {
        cpu_percent,
        memory_used: instance.cgroup_memory().unwrap_or(rss),
        block_read,
        block_write,
        net_rx: 0,
        net_tx: 0,
    })
}

/// Keeps the newest [`KEEP`] samples of each of `projects`, in one statement.
async fn trim(db: &sea_orm::DatabaseConnection, projects: &[i32]) -> Result<(), EngineError> {
    let ids: Vec<String> = projects.iter().map(i32::to_string).collect();
    // Integers only in the list: nothing to quote.
    let sql = format!(
        "DELETE FROM statistics WHERE id IN (SELECT id FROM (SELECT id, ROW_NUMBER() OVER \
         (PARTITION BY project_id ORDER BY id DESC) AS row_rank FROM statistics \
         WHERE project_id IN ({})) ranked WHERE row_rank > {KEEP})",
        ids.join(", ")
    );
    db.execute_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_gives_group_cpu_and_memory() {
        let line = "42 (python3 -m http) S 1 42 42 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 99 1000 250 rest";
        let p = stat_of(42, line).expect("parses");
        assert_eq!((p.pgid, p.cpu, p.rss), (42, 10, 250));
    }
}
