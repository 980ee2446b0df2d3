//! The bounded worker manager, after the first system's ManageWorker: at most
//! `max_workers` tasks at once, each on its own OS thread (deploy work blocks on
//! processes and files), each known by a uuid. A slot is held by a guard released in
//! `Drop`, so it is freed on every exit path: return, error, cancel and panic (caught
//! with `catch_unwind`, so a crashing task never takes the thread's panic further).

use std::{
    collections::HashMap,
    panic::{AssertUnwindSafe, catch_unwind},
    sync::{Arc, Mutex, MutexGuard},
};

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Every slot is taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("every deploy worker is busy")]
pub struct Busy;

/// What a worker is doing, for the admin's view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerInfo {
    pub uuid: Uuid,
    pub job_id: i32,
    pub project_id: i32,
    pub started_at: DateTime<Utc>,
}

/// What a task gets: its uuid and the token `finish` cancels.
#[derive(Clone, Debug)]
pub struct WorkerContext {
    pub uuid: Uuid,
    pub cancel: CancellationToken,
}

#[derive(Default)]
struct Slots {
    running: HashMap<Uuid, (WorkerInfo, CancellationToken)>,
    /// The most ever running at once (tests assert the bound with it).
    high_water: usize,
    /// Every task queued so far, in order, by job id (tests assert the order).
    started: Vec<i32>,
}

struct Inner {
    max: usize,
    slots: Mutex<Slots>,
    freed: Notify,
}

/// A cheap-to-clone handle to the manager.
#[derive(Clone)]
pub struct Manager {
    inner: Arc<Inner>,
}

/// Holds one slot; dropping it frees the slot and wakes whoever waits for one.
struct SlotGuard {
    inner: Arc<Inner>,
    uuid: Uuid,
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        lock(&self.inner.slots).running.remove(&self.uuid);
        self.inner.freed.notify_waiters();
        self.inner.freed.notify_one();
    }
}

/// The slots' lock, even if a thread panicked while holding it: the map stays
/// consistent (every change is one insert or one remove).
fn lock(slots: &Mutex<Slots>) -> MutexGuard<'_, Slots> {
    slots
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Manager {
    pub fn new(max_workers: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                // 0: a replica that serves but runs no deploys.
                max: max_workers,
                slots: Mutex::new(Slots::default()),
                freed: Notify::new(),
            }),
        }
    }

    pub fn max_workers(&self) -> usize {
        self.inner.max
    }

    /// Runs `task` on a new thread in a free slot and returns its worker's uuid, or
    /// `Busy` when every slot is taken.
    pub fn queue<F>(&self, job_id: i32, project_id: i32, task: F) -> Result<Uuid, Busy>
    where
        F: FnOnce(WorkerContext) + Send + 'static,
    {
        let uuid = Uuid::new_v4();
        let cancel = CancellationToken::new();
        {
            let mut slots = lock(&self.inner.slots);
            if slots.running.len() >= self.inner.max {
                return Err(Busy);
            }
            let info = WorkerInfo {
                uuid,
                job_id,
                project_id,
                started_at: Utc::now(),
            };
            slots.running.insert(uuid, (info, cancel.clone()));
            slots.high_water = slots.high_water.max(slots.running.len());
            slots.started.push(job_id);
        }
        let guard = SlotGuard {
            inner: self.inner.clone(),
            uuid,
        };
        let context = WorkerContext { uuid, cancel };
        let spawned = std::thread::Builder::new()
            .name(format!("deploy-{job_id}"))
            .spawn(move || {
                let _guard = guard;
                if let Err(panic) = catch_unwind(AssertUnwindSafe(|| task(context))) {
                    tracing::error!(job_id, panic = %panic_message(&panic), "deploy worker panicked");
                }
            });
        match spawned {
            Ok(_) => Ok(uuid),
            Err(error) => {
                // The closure (and the guard in it) was dropped: the slot is free again.
                tracing::error!(%error, "cannot start a deploy worker thread");
                Err(Busy)
            }
        }
    }

    /// Asks the worker `uuid` to stop; false when no such worker runs.
    pub fn finish(&self, uuid: Uuid) -> bool {
        match lock(&self.inner.slots).running.get(&uuid) {
            Some((_, cancel)) => {
                cancel.cancel();
                true
            }
            None => false,
        }
    }

    /// Asks the worker running job `job_id` to stop; false when none does.
    pub fn finish_job(&self, job_id: i32) -> bool {
        let uuid = lock(&self.inner.slots)
            .running
            .values()
            .find(|(info, _)| info.job_id == job_id)
            .map(|(info, _)| info.uuid);
        uuid.is_some_and(|uuid| self.finish(uuid))
    }

    pub fn has_free_slot(&self) -> bool {
        lock(&self.inner.slots).running.len() < self.inner.max
    }

    /// The running workers, oldest first.
    pub fn running(&self) -> Vec<WorkerInfo> {
        let mut workers: Vec<WorkerInfo> = lock(&self.inner.slots)
            .running
            .values()
            .map(|(info, _)| info.clone())
            .collect();
        workers.sort_by_key(|w| w.started_at);
        workers
    }

    /// The most workers that ever ran at once.
    pub fn high_water(&self) -> usize {
        lock(&self.inner.slots).high_water
    }

    /// Job ids in the order their tasks were queued.
    pub fn started_jobs(&self) -> Vec<i32> {
        lock(&self.inner.slots).started.clone()
    }

    /// Resolves when a slot is freed (or at once if one is free).
    pub async fn slot_freed(&self) {
        let notified = self.inner.freed.notified();
        if self.has_free_slot() {
            return;
        }
        notified.await;
    }

    /// Cancels every worker and waits until none runs.
    pub async fn drain(&self) {
        for (_, cancel) in lock(&self.inner.slots).running.values() {
            cancel.cancel();
        }
        self.idle().await;
    }

    /// Waits until no worker runs (without stopping any).
    pub async fn idle(&self) {
        loop {
            let notified = self.inner.freed.notified();
            if lock(&self.inner.slots).running.is_empty() {
                return;
            }
            notified.await;
        }
    }
}

pub(crate) fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

#[cfg(test)]
mod tests {
    use std::{
        sync::{
            atomic::{AtomicUsize, Ordering},
            mpsc,
        },
        time::Duration,
    };

    use super::*;

    #[test]
    fn a_full_manager_says_busy_and_a_finished_worker_frees_its_slot() {
        let manager = Manager::new(1);
        let (tx, rx) = mpsc::channel::<()>();
        let first = manager
            .queue(1, 1, move |ctx| {
                while !ctx.cancel.is_cancelled() {
                    std::thread::sleep(Duration::from_millis(5));
                }
                let _ = tx.send(());
            })
            .expect("a free slot");
        assert_eq!(manager.queue(2, 1, |_| {}), Err(Busy));
        assert!(!manager.has_free_slot());
        assert_eq!(manager.running().len(), 1);
        assert!(manager.finish(first));
        rx.recv_timeout(Duration::from_secs(5))
            .expect("the worker stops");
        wait_until(|| manager.has_free_slot());
        assert!(manager.queue(3, 1, |_| {}).is_ok());
    }

    #[test]
    fn a_panicking_task_frees_its_slot() {
        let manager = Manager::new(1);
        manager
            .queue(1, 1, |_| panic!("boom"))
            .expect("a free slot");
        wait_until(|| manager.has_free_slot());
        let ran = Arc::new(AtomicUsize::new(0));
        let seen = ran.clone();
        manager
            .queue(2, 1, move |_| {
                seen.fetch_add(1, Ordering::SeqCst);
            })
            .expect("the slot is free again");
        wait_until(|| ran.load(Ordering::SeqCst) == 1);
    }

    fn wait_until(condition: impl Fn() -> bool) {
        for _ in 0..500 {
            if condition() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("condition not reached in 5 s");
    }
}
