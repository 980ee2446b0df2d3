//! Environment variables of each project (still encrypted).

use super::*;

/// Environment variables of each project (still encrypted).
pub struct VariablesLoader(pub ProjectsDb);

impl Loader<i32> for VariablesLoader {
    type Value = Vec<environment_variable::Model>;
    type Error = Shared;

    async fn load(&self, ids: &[i32]) -> Result<HashMap<i32, Self::Value>, Shared> {
        let rows = environment_variable::Entity::find()
            .filter(
                self.0
                    .any_of(environment_variable::Column::ProjectId, ids.iter().copied()),
            )
            .order_by_asc(environment_variable::Column::Name)
            .all(&*self.0)
            .await
            .map_err(shared)?;
        Ok(grouped(ids, rows.into_iter().map(|v| (v.project_id, v))))
    }
}
