//! Ratings of each project, their average, and the viewer's own.

use super::*;

/// Ratings of each project.
pub struct RatingsLoader(pub ProjectsDb);

impl Loader<i32> for RatingsLoader {
    type Value = Vec<rating::Model>;
    type Error = Shared;

    async fn load(&self, ids: &[i32]) -> Result<HashMap<i32, Vec<rating::Model>>, Shared> {
        let rows = rating::Entity::find()
            .filter(
                self.0
                    .any_of(rating::Column::ProjectId, ids.iter().copied()),
            )
            .order_by_asc(rating::Column::Id)
            .all(&*self.0)
            .await
            .map_err(shared)?;
        Ok(grouped(ids, rows.into_iter().map(|r| (r.project_id, r))))
    }
}

#[derive(FromQueryResult)]
pub(super) struct Average {
    project_id: i32,
    average: Option<f64>,
}

/// Mean stars of each project, computed by the database.
pub struct AverageRatingLoader(pub ProjectsDb);

impl Loader<i32> for AverageRatingLoader {
    type Value = f64;
    type Error = Shared;

    async fn load(&self, ids: &[i32]) -> Result<HashMap<i32, f64>, Shared> {
        let rows = rating::Entity::find()
            .select_only()
            .column(rating::Column::ProjectId)
            .column_as(
                Expr::col(rating::Column::Stars)
                    .cast_as("DOUBLE PRECISION")
                    .avg(),
                "average",
            )
            .filter(
                self.0
                    .any_of(rating::Column::ProjectId, ids.iter().copied()),
            )
            .group_by(rating::Column::ProjectId)
            .into_model::<Average>()
            .all(&*self.0)
            .await
            .map_err(shared)?;
        Ok(rows
            .into_iter()
            .filter_map(|r| r.average.map(|a| (r.project_id, a)))
            .collect())
    }
}

/// One user's rating of each project, keyed by (project, user).
pub struct MyRatingLoader(pub ProjectsDb);

impl Loader<(i32, i32)> for MyRatingLoader {
    type Value = rating::Model;
    type Error = Shared;

    async fn load(
        &self,
        keys: &[(i32, i32)],
    ) -> Result<HashMap<(i32, i32), rating::Model>, Shared> {
        let Some((_, user_id)) = keys.first() else {
            return Ok(HashMap::new());
        };
        // A request has one viewer: every key names the same user.
        let rows = rating::Entity::find()
            .filter(rating::Column::UserId.eq(*user_id))
            .filter(
                self.0
                    .any_of(rating::Column::ProjectId, keys.iter().map(|(p, _)| *p)),
            )
            .all(&*self.0)
            .await
            .map_err(shared)?;
        Ok(rows
            .into_iter()
            .map(|r| ((r.project_id, r.user_id), r))
            .collect())
    }
}
