//! Stages of each project and files of each stage.

use super::*;

/// Stages (with their status) of each project.
pub struct StagesLoader(pub ProjectsDb);

impl Loader<i32> for StagesLoader {
    type Value = Vec<(stage::Model, StageStatusName)>;
    type Error = Shared;

    async fn load(&self, ids: &[i32]) -> Result<HashMap<i32, Self::Value>, Shared> {
        let rows = stage::Entity::find()
            .find_also_related(stage_status::Entity)
            .filter(self.0.any_of(stage::Column::ProjectId, ids.iter().copied()))
            .order_by_asc(stage::Column::Id)
            .all(&*self.0)
            .await
            .map_err(shared)?;
        let mut stages = Vec::with_capacity(rows.len());
        for (found, status) in rows {
            let status = status.ok_or_else(|| {
                shared(ServiceError::Corrupt(format!(
                    "stage {} has no status",
                    found.id
                )))
            })?;
            let status = StageStatusName::from_db(&status.name).map_err(shared)?;
            stages.push((found.project_id, (found, status)));
        }
        Ok(grouped(ids, stages))
    }
}

/// Files attached to each stage.
pub struct StageFilesLoader(pub ProjectsDb);

impl Loader<i32> for StageFilesLoader {
    type Value = Vec<file::Model>;
    type Error = Shared;

    async fn load(&self, ids: &[i32]) -> Result<HashMap<i32, Vec<file::Model>>, Shared> {
        let rows = stage_file::Entity::find()
            .find_also_related(file::Entity)
            .filter(
                self.0
                    .any_of(stage_file::Column::StageId, ids.iter().copied()),
            )
            .order_by_asc(stage_file::Column::Id)
            .all(&*self.0)
            .await
            .map_err(shared)?;
        Ok(grouped(
            ids,
            rows.into_iter()
                .filter_map(|(link, found)| found.map(|f| (link.stage_id, f))),
        ))
    }
}
