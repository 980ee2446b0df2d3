//! A shutdown gives running jobs back, or lets them finish within its grace.

use super::*;

/// Runs until its job is cancelled.
struct Patient;

impl JobRunner for Patient {
    fn run(&self, _job: &Claimed, ctx: &JobContext) -> Result<Done, StepError> {
        while !ctx.cancel.is_cancelled() {
            std::thread::sleep(Duration::from_millis(10));
        }
        Err(StepError::Cancelled)
    }
}

#[tokio::test]
async fn a_shutdown_gives_running_jobs_back_to_the_queue_and_a_user_cancel_ends_them() {
    for db in TestDb::all().await {
        let conn = db.conn.clone();
        let kept = project(&conn, 1).await;
        let cancelled = project(&conn, 2).await;
        let engine = Engine::start_with_runner(config(2), conn.clone(), Arc::new(Patient));
        let (kept_job, _) = engine.deploy(&kept, 1).await.expect("queued");
        let (cancelled_job, cancelled_deployment) =
            engine.deploy(&cancelled, 1).await.expect("queued");
        while engine.manager().running().len() < 2 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        engine
            .cancel(cancelled_deployment.id)
            .await
            .expect("cancelled");
        wait_ended(&conn, &[cancelled_job.id]).await;
        engine.shutdown().await;
        let row = job::Entity::find_by_id(kept_job.id)
            .one(&conn)
            .await
            .expect("read")
            .expect("the job");
        assert_eq!(row.status, JobStatus::Pending, "{row:?}");
        assert!(row.lease_owner.is_none());
        let row = job::Entity::find_by_id(cancelled_job.id)
            .one(&conn)
            .await
            .expect("read")
            .expect("the job");
        assert_eq!(row.status, JobStatus::Cancelled);
        db.drop().await;
    }
}

/// Succeeds after a moment, unless cancelled first.
struct Brief;

impl JobRunner for Brief {
    fn run(&self, _job: &Claimed, ctx: &JobContext) -> Result<Done, StepError> {
        for _ in 0..30 {
            if ctx.cancel.is_cancelled() {
                return Err(StepError::Cancelled);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(Done {
            endpoint: None,
            process: None,
            folder: None,
            message: "done".into(),
            activate: None,
        })
    }
}

#[tokio::test]
async fn a_shutdown_lets_running_deploys_finish_within_its_grace() {
    let db = TestDb::sqlite().await;
    let conn = db.conn.clone();
    let p = project(&conn, 1).await;
    let mut graceful = config(1);
    graceful.shutdown_grace = Duration::from_secs(10);
    let engine = Engine::start_with_runner(graceful, conn.clone(), Arc::new(Brief));
    let (queued, _) = engine.deploy(&p, 1).await.expect("queued");
    while engine.manager().running().is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    engine.shutdown().await;
    let row = job::Entity::find_by_id(queued.id)
        .one(&conn)
        .await
        .expect("read")
        .expect("the job");
    assert_eq!(row.status, JobStatus::Succeeded, "{row:?}");
    db.drop().await;
}
