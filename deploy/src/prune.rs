//! Pruning old logs: the BUILD and RUNTIME lines of deployments older than
//! `DEPLOY_LOG_RETENTION_DAYS` go, in bounded batches (a round deletes at most
//! [`BATCHES`] × [`BATCH`] lines, so it never holds the database for long), except
//! those of a deployment that still serves or whose build still serves.

use std::sync::Arc;

use chrono::Utc;
use entities::projects::{deployment, deployment_log, project};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use crate::{Engine, EngineError, Shared};

/// Lines deleted by one statement.
const BATCH: u64 = 1000;
/// Statements in one round.
const BATCHES: usize = 20;

impl Engine {
    /// Deletes a round of old log lines now (the routine does this every
    /// `stats_interval`); returns how many.
    pub async fn prune_logs(&self) -> Result<u64, EngineError> {
        prune(&self.shared).await
    }
}

pub(crate) async fn prune(shared: &Arc<Shared>) -> Result<u64, EngineError> {
    let Some(days) = shared.config.log_retention_days else {
        return Ok(0);
    };
    let cutoff = Utc::now() - chrono::Duration::days(i64::from(days));
    // What still serves keeps its lines, however old.
    let serving: Vec<(Option<i32>, Option<i32>)> = project::Entity::find()
        .select_only()
        .columns([
            project::Column::ServingDeploymentId,
            project::Column::ServingFolder,
        ])
        .filter(project::Column::ServingFolder.is_not_null())
        .into_tuple()
        .all(&shared.db)
        .await?;
    let kept: Vec<i32> = serving
        .into_iter()
        .flat_map(|(a, b)| [a, b])
        .flatten()
        .collect();
    let mut deleted = 0;
    for _ in 0..BATCHES {
        let ids: Vec<i64> = deployment_log::Entity::find()
            .select_only()
            .column(deployment_log::Column::Id)
            .inner_join(deployment::Entity)
            .filter(deployment::Column::CreatedAt.lt(cutoff))
            .filter(deployment::Column::Id.is_not_in(kept.iter().copied()))
            .limit(BATCH)
            .into_tuple()
            .all(&shared.db)
            .await?;
        if ids.is_empty() {
            break;
        }
        let done = deployment_log::Entity::delete_many()
            .filter(deployment_log::Column::Id.is_in(ids))
            .exec(&shared.db)
            .await?;
        deleted += done.rows_affected;
    }
    if deleted > 0 {
        tracing::info!(deleted, days, "pruned old deployment logs");
    }
    Ok(deleted)
}
