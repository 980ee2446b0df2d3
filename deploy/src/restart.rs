//! Restarting apps that crash (`restart_on_crash`): the liveness routine reports a
//! crash here, which waits a back-off that doubles with each crash in a row (up to
//! [`Backoff::max`]) and then queues a START of the project's last successful build, the
//! same job `startProject` queues. A stop, a deploy or a manual start by a person ends
//! the streak, and a restart still waiting is dropped. The wait is in memory: a replica
//! that dies while waiting leaves the project marked not running, which is what it is.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use entities::projects::{deployment, enums::LogKind, project};
use sea_orm::EntityTrait;

use crate::{Engine, EngineError, Shared, logs::LogSink};

/// How long to wait before restarting a crashed app.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// After the first crash.
    pub first: Duration,
    /// The longest wait; an app that ran longer than this before crashing starts a new
    /// streak.
    pub max: Duration,
}

impl Backoff {
    /// The wait before restart number `crashes` of a streak (1 for the first crash).
    pub fn delay(&self, crashes: u32) -> Duration {
        let doublings = crashes.saturating_sub(1).min(31);
        self.first
            .saturating_mul(1u32 << doublings)
            .min(self.max.max(self.first))
    }
}

/// Crashes in a row, per project.
#[derive(Default)]
pub(crate) struct Crashes {
    streaks: Mutex<HashMap<i32, Streak>>,
}

struct Streak {
    count: u32,
    last: Instant,
    /// Which crash a waiting restart belongs to; a forgotten streak drops it.
    generation: u64,
}

impl Crashes {
    /// Records a crash; returns its number in the streak, the wait, and the ticket the
    /// restart presents when the wait is over.
    fn record(&self, project_id: i32, backoff: &Backoff) -> (u32, Duration, u64) {
        let mut streaks = self.streaks.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        let streak = streaks.entry(project_id).or_insert(Streak {
            count: 0,
            last: now,
            generation: 0,
        });
        // The app ran for longer than the longest wait since the restart: a new streak.
        if streak.count > 0
            && now.duration_since(streak.last) > backoff.delay(streak.count) + backoff.max
        {
            streak.count = 0;
        }
        streak.count += 1;
        streak.last = now;
        streak.generation += 1;
        (streak.count, backoff.delay(streak.count), streak.generation)
    }

    fn current(&self, project_id: i32, generation: u64) -> bool {
        self.streaks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&project_id)
            .is_some_and(|s| s.generation == generation)
    }

    /// A person acted on the project (stop, deploy, start): no restart is pending and
    /// the next crash starts a new streak.
    pub(crate) fn forget(&self, project_id: i32) {
        self.streaks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&project_id);
    }
}

/// Called by the liveness routine for an app that died on its own: schedules its
/// restart when the engine restarts crashed apps, and returns what to tell people.
pub(crate) async fn after_crash(
    shared: &Arc<Shared>,
    project_id: i32,
    deployment_id: i32,
    how: &str,
) -> String {
    let Some(backoff) = shared.config.restart_on_crash else {
        return format!("the app {how}");
    };
    let (crashes, delay, generation) = shared.crashes.record(project_id, &backoff);
    let message = format!(
        "the app {how}; restarting in {} s (crash {crashes} in a row)",
        delay.as_secs_f64()
    );
    LogSink::new(
        shared.db.clone(),
        deployment_id,
        LogKind::Runtime,
        shared.config.log_max_lines,
        shared.events.clone(),
    )
    .line(message.clone())
    .await;
    let shared = shared.clone();
    tokio::spawn(async move {
        tokio::select! {
            () = shared.stop_claiming.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
        if !shared.crashes.current(project_id, generation) {
            return;
        }
        if let Err(error) = restart(&shared, project_id, deployment_id).await {
            tracing::warn!(project_id, %error, "restarting a crashed app failed");
        }
    });
    message
}

async fn restart(
    shared: &Arc<Shared>,
    project_id: i32,
    deployment_id: i32,
) -> Result<(), EngineError> {
    let Some(project) = project::Entity::find_by_id(project_id)
        .one(&shared.db)
        .await?
    else {
        return Ok(());
    };
    // Whoever deployed what crashed is who the restart is recorded for.
    let triggered_by = deployment::Entity::find_by_id(deployment_id)
        .one(&shared.db)
        .await?
        .map_or(project.owner_id, |d| d.triggered_by);
    let engine = Engine {
        shared: shared.clone(),
    };
    match engine.queue_start(&project, triggered_by, 0).await {
        Ok((job, _)) => {
            tracing::info!(project_id, job_id = job.id, "restarting a crashed app");
            Ok(())
        }
        // Running again, or a deploy is under way: nothing to do.
        Err(EngineError::Conflict(_)) => Ok(()),
        Err(other) => Err(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_with_each_crash_up_to_the_longest() {
        let backoff = Backoff {
            first: Duration::from_secs(5),
            max: Duration::from_secs(60),
        };
        let waits: Vec<u64> = (1..=6).map(|n| backoff.delay(n).as_secs()).collect();
        assert_eq!(waits, [5, 10, 20, 40, 60, 60]);
        assert_eq!(backoff.delay(1000).as_secs(), 60);
    }

    #[test]
    fn a_forgotten_streak_drops_the_waiting_restart_and_starts_again_at_one() {
        let backoff = Backoff {
            first: Duration::from_secs(1),
            max: Duration::from_secs(60),
        };
        let crashes = Crashes::default();
        let (n, _, first) = crashes.record(7, &backoff);
        assert_eq!(n, 1);
        let (n, wait, second) = crashes.record(7, &backoff);
        assert_eq!((n, wait.as_secs()), (2, 2));
        assert!(
            !crashes.current(7, first),
            "an older crash's restart is stale"
        );
        assert!(crashes.current(7, second));
        crashes.forget(7);
        assert!(!crashes.current(7, second));
        assert_eq!(crashes.record(7, &backoff).0, 1);
    }
}
