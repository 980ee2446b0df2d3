//! Projects by id, and the projects of a user or a course.

use super::*;

/// Projects by id.
pub struct ProjectLoader(pub ProjectsDb);

impl Loader<i32> for ProjectLoader {
    type Value = project::Model;
    type Error = Shared;

    async fn load(&self, ids: &[i32]) -> Result<HashMap<i32, project::Model>, Shared> {
        let rows = project::Entity::find()
            .filter(self.0.any_of(project::Column::Id, ids.iter().copied()))
            .all(&*self.0)
            .await
            .map_err(shared)?;
        Ok(rows.into_iter().map(|p| (p.id, p)).collect())
    }
}

/// Projects each user owns or collaborates on.
pub struct ProjectsOfUserLoader(pub ProjectsDb);

impl Loader<i32> for ProjectsOfUserLoader {
    type Value = Vec<project::Model>;
    type Error = Shared;

    async fn load(&self, ids: &[i32]) -> Result<HashMap<i32, Vec<project::Model>>, Shared> {
        let memberships = collaborator::Entity::find()
            .filter(
                self.0
                    .any_of(collaborator::Column::UserId, ids.iter().copied()),
            )
            .all(&*self.0)
            .await
            .map_err(shared)?;
        let member_projects: Vec<i32> = memberships.iter().map(|m| m.project_id).collect();
        let projects = project::Entity::find()
            .filter(
                sea_orm::Condition::any()
                    .add(self.0.any_of(project::Column::OwnerId, ids.iter().copied()))
                    .add(self.0.any_of(project::Column::Id, member_projects)),
            )
            .order_by_asc(project::Column::Id)
            .all(&*self.0)
            .await
            .map_err(shared)?;
        let mut by_user: HashMap<i32, Vec<project::Model>> =
            ids.iter().map(|id| (*id, Vec::new())).collect();
        let by_id: HashMap<i32, &project::Model> = projects.iter().map(|p| (p.id, p)).collect();
        for found in &projects {
            if let Some(list) = by_user.get_mut(&found.owner_id) {
                list.push(found.clone());
            }
        }
        for membership in memberships {
            if let (Some(list), Some(found)) = (
                by_user.get_mut(&membership.user_id),
                by_id.get(&membership.project_id),
            ) {
                list.push((*found).clone());
            }
        }
        for list in by_user.values_mut() {
            list.sort_by_key(|p| p.id);
        }
        Ok(by_user)
    }
}

/// Projects linked to each course.
pub struct ProjectsOfCourseLoader(pub ProjectsDb);

impl Loader<i32> for ProjectsOfCourseLoader {
    type Value = Vec<project::Model>;
    type Error = Shared;

    async fn load(&self, ids: &[i32]) -> Result<HashMap<i32, Vec<project::Model>>, Shared> {
        let rows = project_course::Entity::find()
            .find_also_related(project::Entity)
            .filter(
                self.0
                    .any_of(project_course::Column::CourseId, ids.iter().copied()),
            )
            .order_by_asc(project_course::Column::ProjectId)
            .all(&*self.0)
            .await
            .map_err(shared)?;
        Ok(grouped(
            ids,
            rows.into_iter()
                .filter_map(|(link, found)| found.map(|p| (link.course_id, p))),
        ))
    }
}
