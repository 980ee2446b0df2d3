//! The dispatcher: claims pending jobs oldest first while the manager has free slots,
//! and runs each on a worker thread under its lease (heartbeat, outcome, panics).

use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    sync::Arc,
};

use entities::projects::enums::JobStatus;
use sea_orm::DatabaseConnection;
use tokio_util::sync::CancellationToken;

use crate::{
    EngineError, Event, Shared, manager,
    pipeline::{Done, JobContext, StepError},
    queue::{self, Claimed, Lease, Outcome},
};

/// Claims jobs while slots are free; sleeps until a job is queued, a slot frees, or the
/// poll interval passes (the safety net for jobs queued by another replica).
pub(crate) async fn dispatch(shared: Arc<Shared>) {
    let mut last_recovery: Option<std::time::Instant> = None;
    loop {
        // At start, then once a lease length: apps of replicas that died on this host.
        if last_recovery.is_none_or(|at| at.elapsed() >= shared.config.lease) {
            last_recovery = Some(std::time::Instant::now());
            recover(&shared).await;
        }
        rescue(&shared).await;
        while shared.manager.has_free_slot() && !shared.stop_claiming.is_cancelled() {
            match queue::claim(&shared.db, &shared.config.replica, shared.config.lease).await {
                Ok(Some(claimed)) => launch(&shared, claimed).await,
                Ok(None) => break,
                Err(error) => {
                    tracing::warn!(%error, "cannot claim deploy jobs");
                    break;
                }
            }
        }
        let manager = shared.manager.clone();
        let slot_freed = async move {
            if manager.has_free_slot() {
                std::future::pending::<()>().await;
            } else {
                manager.slot_freed().await;
            }
        };
        tokio::select! {
            () = shared.stop_claiming.cancelled() => return,
            () = shared.wake.notified() => {}
            () = slot_freed => {}
            () = tokio::time::sleep(shared.config.poll_interval) => {}
        }
    }
}

/// Stops the apps that replicas which died on this host left running, then starts
/// again every app that should run and that nothing serves.
async fn recover(shared: &Arc<Shared>) {
    match crate::lifecycle::recover(shared).await {
        Ok(0) => {}
        Ok(recovered) => {
            tracing::warn!(recovered, "apps left by a dead replica were stopped");
        }
        Err(error) => tracing::warn!(%error, "cannot look for apps a dead replica left"),
    }
    match crate::placement::restore(shared).await {
        Ok(0) => {}
        Ok(queued) => tracing::info!(queued, "apps that should run are starting again"),
        Err(error) => tracing::warn!(%error, "cannot look for apps that should run"),
    }
}

/// Takes back the jobs whose lease expired (their server stopped) and tells followers.
async fn rescue(shared: &Shared) {
    let rescued = match queue::rescue(&shared.db, shared.config.max_attempts).await {
        Ok(rescued) => rescued,
        Err(error) => {
            tracing::warn!(%error, "cannot look for expired leases");
            return;
        }
    };
    if !rescued.is_empty() {
        tracing::warn!(
            rescued = rescued.len(),
            "jobs whose lease expired (their server stopped) were taken back"
        );
    }
    for job in rescued {
        shared.events.send(Event::Changed {
            job_id: job.job_id,
            deployment_id: job.deployment_id,
            project_id: job.project_id,
            status: job.status,
            progress: job.progress,
            message: job.message,
        });
    }
}

async fn launch(shared: &Arc<Shared>, claimed: Claimed) {
    let lease = claimed.lease.clone();
    tracing::info!(
        job = lease.job_id,
        deployment = lease.deployment_id,
        project = lease.project_id,
        "deploy job claimed"
    );
    shared.events.send(Event::Changed {
        job_id: lease.job_id,
        deployment_id: lease.deployment_id,
        project_id: lease.project_id,
        status: JobStatus::Running,
        progress: 0,
        message: "started".into(),
    });
    let worker_shared = shared.clone();
    let queued = shared
        .manager
        .queue(lease.job_id, lease.project_id, move |worker| {
            run_job(&worker_shared, &claimed, worker.cancel);
        });
    if queued.is_err() {
        give_back(
            shared,
            &lease,
            "queued again: no free worker on this server",
        )
        .await;
    }
}

/// Puts a claimed job back in the queue (for another replica, or this one later) and
/// tells its followers; true when it went back.
async fn give_back(shared: &Shared, lease: &Lease, message: &str) -> bool {
    match queue::release(&shared.db, lease, message).await {
        Ok(()) => {
            shared.events.send(Event::Changed {
                job_id: lease.job_id,
                deployment_id: lease.deployment_id,
                project_id: lease.project_id,
                status: JobStatus::Pending,
                progress: 0,
                message: message.to_owned(),
            });
            true
        }
        Err(error) => {
            tracing::warn!(%error, job = lease.job_id, "cannot give a job back to the queue");
            false
        }
    }
}

type Activate = Option<Box<dyn FnOnce(bool) + Send>>;

/// On the worker thread: heartbeat, run, record how it ended. A panic in the runner is
/// caught here and ends the job FAILED; the slot is freed by the manager's guard.
fn run_job(shared: &Arc<Shared>, claimed: &Claimed, cancel: CancellationToken) {
    let lease = claimed.lease.clone();
    let ctx = JobContext {
        runtime: shared.runtime.clone(),
        db: shared.db.clone(),
        lease: lease.clone(),
        cancel: cancel.clone(),
        events: shared.events.clone(),
        lease_length: shared.config.lease,
        last_progress: Default::default(),
    };
    log_attempt(shared, claimed);
    let heartbeat = shared.runtime.spawn(heartbeat(
        shared.db.clone(),
        lease.clone(),
        shared.config.lease,
        cancel,
    ));
    let result = catch_unwind(AssertUnwindSafe(|| shared.runner.run(claimed, &ctx)));
    heartbeat.abort();
    if let Some((outcome, activate)) = outcome_of(shared, &lease, result) {
        record(shared, &ctx, outcome, activate);
    }
}

/// The claim wrote the attempt's line into the BUILD log: followers read it now.
fn log_attempt(shared: &Shared, claimed: &Claimed) {
    shared.events.send(crate::events::Event::Logged {
        deployment_id: claimed.lease.deployment_id,
        kind: entities::projects::enums::LogKind::Build,
    });
}

/// How a run ended, as the job's outcome; `None` when there is nothing to record (the
/// job went back to the queue at shutdown, or its lease moved on).
fn outcome_of(
    shared: &Shared,
    lease: &Lease,
    result: std::thread::Result<Result<Done, StepError>>,
) -> Option<(Outcome, Activate)> {
    match result {
        Ok(Ok(done)) => Some((
            Outcome {
                status: JobStatus::Succeeded,
                message: done.message,
                endpoint: done.endpoint,
                app: done
                    .process
                    .map(|(process_group, cgroup)| queue::AppRecord {
                        process_group,
                        cgroup,
                        replica: shared.config.replica.clone(),
                    }),
                project_running: Some(true),
                folder: done.folder,
            },
            done.activate,
        )),
        // Stopped by the server's shutdown, not by a user: back to the queue, for this
        // server's next start or another replica.
        Ok(Err(StepError::Cancelled)) if shared.stop_claiming.is_cancelled() => {
            let message = format!(
                "queued again: {} shut down before the job ended",
                shared.config.replica
            );
            if shared.runtime.block_on(give_back(shared, lease, &message)) {
                tracing::info!(job = lease.job_id, "shutting down: the job is queued again");
            }
            None
        }
        Ok(Err(StepError::Cancelled)) => {
            Some((ended(JobStatus::Cancelled, "cancelled".into()), None))
        }
        Ok(Err(StepError::Failed(message))) => Some((ended(JobStatus::Failed, message), None)),
        Ok(Err(StepError::LeaseLost)) => {
            tracing::info!(
                job = lease.job_id,
                "the job was cancelled or taken over; its run stops"
            );
            None
        }
        Err(panic) => {
            let message = format!(
                "the deploy worker crashed: {}",
                manager::panic_message(&panic)
            );
            Some((ended(JobStatus::Failed, message), None))
        }
    }
}

/// Records the outcome under the lease; only a committed success routes the new app,
/// and only a committed outcome is announced.
fn record(shared: &Shared, ctx: &JobContext, outcome: Outcome, activate: Activate) {
    let lease = &ctx.lease;
    let finished = shared
        .runtime
        .block_on(queue::finish(&shared.db, lease, &outcome));
    let committed = finished.is_ok();
    match &finished {
        Ok(()) => {
            tracing::info!(job = lease.job_id, status = ?outcome.status, message = %outcome.message, "deploy job ended")
        }
        Err(EngineError::LeaseLost) => {
            tracing::info!(
                job = lease.job_id,
                "the job was cancelled before it could end"
            )
        }
        Err(error) => tracing::error!(%error, job = lease.job_id, "cannot record how a job ended"),
    }
    if let Some(activate) = activate {
        activate(committed);
    }
    if !committed {
        return;
    }
    let succeeded = outcome.status == JobStatus::Succeeded;
    shared.events.send(Event::Changed {
        job_id: lease.job_id,
        deployment_id: lease.deployment_id,
        project_id: lease.project_id,
        status: outcome.status,
        progress: if succeeded {
            100
        } else {
            ctx.last_progress.load(std::sync::atomic::Ordering::Relaxed)
        },
        message: outcome.message.clone(),
    });
    if succeeded {
        shared.events.send(Event::AppChanged {
            project_id: lease.project_id,
            running: true,
            message: outcome.message,
        });
    }
}

fn ended(status: JobStatus, message: String) -> Outcome {
    Outcome {
        status,
        message,
        endpoint: None,
        app: None,
        project_running: None,
        folder: None,
    }
}

/// Renews the lease every third of its length; a lost lease (cancelled, or taken by
/// another replica after ours expired) cancels the run.
async fn heartbeat(
    db: DatabaseConnection,
    lease: Lease,
    length: std::time::Duration,
    cancel: CancellationToken,
) {
    loop {
        tokio::time::sleep(length / 3).await;
        match queue::renew(&db, &lease, length).await {
            Ok(()) => {}
            Err(EngineError::LeaseLost) => {
                cancel.cancel();
                return;
            }
            Err(error) => tracing::warn!(%error, job = lease.job_id, "cannot renew a job's lease"),
        }
    }
}
