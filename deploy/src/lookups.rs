//! What the gateway asks the engine about work it may not hold itself: every replica's
//! workers, and the build folder a deployment serves from.

use entities::projects::{
    deployment,
    enums::{JobKind, JobStatus},
    job,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::{Engine, EngineError, Payload, ReplicaWorker};

impl Engine {
    /// The workers running jobs on every replica (from the jobs' leases), this
    /// replica's with their uuid.
    pub async fn workers(&self) -> Result<Vec<ReplicaWorker>, EngineError> {
        let running = job::Entity::find()
            .filter(job::Column::Status.eq(JobStatus::Running))
            .order_by_asc(job::Column::StartedAt)
            .all(&self.shared.db)
            .await?;
        let deployments = deployment::Entity::find()
            .filter(deployment::Column::JobId.is_in(running.iter().map(|j| j.id)))
            .all(&self.shared.db)
            .await?;
        let local = self.shared.manager.running();
        Ok(running
            .into_iter()
            .filter_map(|job| {
                let found = deployments.iter().find(|d| d.job_id == job.id)?;
                let mine = local.iter().find(|w| w.job_id == job.id);
                Some(ReplicaWorker {
                    uuid: mine.map(|w| w.uuid),
                    replica: job.lease_owner.clone().unwrap_or_default(),
                    job_id: job.id,
                    project_id: found.project_id,
                    started_at: mine
                        .map(|w| w.started_at)
                        .or(job.started_at)
                        .unwrap_or(job.updated_at),
                })
            })
            .collect())
    }

    /// The deployment whose folder `deployment` serves from: its own, or for a START
    /// the build it started.
    pub(crate) async fn build_folder(
        &self,
        deployment: &deployment::Model,
    ) -> Result<i32, EngineError> {
        let found = job::Entity::find_by_id(deployment.job_id)
            .one(&self.shared.db)
            .await?;
        Ok(match found {
            Some(found) if found.kind == JobKind::Start => {
                serde_json::from_value::<Payload>(found.payload)
                    .ok()
                    .and_then(|p| p.source_deployment)
                    .unwrap_or(deployment.id)
            }
            _ => deployment.id,
        })
    }

    /// This replica's id (in leases and `workers`).
    pub fn replica(&self) -> &str {
        &self.shared.config.replica
    }
}
