//! Collaborator ids, course ids and tags of each project.

use super::*;

/// Collaborator ids of each project.
pub struct CollaboratorIdsLoader(pub ProjectsDb);

impl Loader<i32> for CollaboratorIdsLoader {
    type Value = Vec<i32>;
    type Error = Shared;

    async fn load(&self, ids: &[i32]) -> Result<HashMap<i32, Vec<i32>>, Shared> {
        let rows = collaborator::Entity::find()
            .filter(
                self.0
                    .any_of(collaborator::Column::ProjectId, ids.iter().copied()),
            )
            .order_by_asc(collaborator::Column::Id)
            .all(&*self.0)
            .await
            .map_err(shared)?;
        Ok(grouped(
            ids,
            rows.into_iter().map(|c| (c.project_id, c.user_id)),
        ))
    }
}

/// Course ids of each project, in the order they were linked.
pub struct CourseIdsLoader(pub ProjectsDb);

impl Loader<i32> for CourseIdsLoader {
    type Value = Vec<i32>;
    type Error = Shared;

    async fn load(&self, ids: &[i32]) -> Result<HashMap<i32, Vec<i32>>, Shared> {
        let rows = project_course::Entity::find()
            .filter(
                self.0
                    .any_of(project_course::Column::ProjectId, ids.iter().copied()),
            )
            .order_by_asc(project_course::Column::Id)
            .all(&*self.0)
            .await
            .map_err(shared)?;
        Ok(grouped(
            ids,
            rows.into_iter().map(|l| (l.project_id, l.course_id)),
        ))
    }
}

/// Tags (with their type) of each project.
pub struct TagsLoader(pub ProjectsDb);

/// A project's tag as the loader reads it: the tag and its type's stored name.
#[derive(Clone, FromQueryResult)]
pub struct TagRow {
    pub(super) project_id: i32,
    pub tag_id: i32,
    pub tag_name: String,
    pub type_name: String,
}

impl Loader<i32> for TagsLoader {
    type Value = Vec<TagRow>;
    type Error = Shared;

    /// One statement: project_tags joined with tags and their types.
    async fn load(&self, ids: &[i32]) -> Result<HashMap<i32, Vec<TagRow>>, Shared> {
        let rows = project_tag::Entity::find()
            .select_only()
            .column(project_tag::Column::ProjectId)
            .column_as(tag::Column::Id, "tag_id")
            .column_as(tag::Column::Name, "tag_name")
            .column_as(tag_type::Column::Name, "type_name")
            .join(JoinType::InnerJoin, project_tag::Relation::Tag.def())
            .join(JoinType::InnerJoin, tag::Relation::TagType.def())
            .filter(
                self.0
                    .any_of(project_tag::Column::ProjectId, ids.iter().copied()),
            )
            .order_by_asc(project_tag::Column::Id)
            .into_model::<TagRow>()
            .all(&*self.0)
            .await
            .map_err(shared)?;
        Ok(grouped(
            ids,
            rows.into_iter().map(|row| (row.project_id, row)),
        ))
    }
}
