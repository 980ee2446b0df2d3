//! Collaborators (ids and users), courses and tags of each project.

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

/// Collaborators of each project, as users: one statement per database.
pub struct CollaboratorsLoader {
    pub projects: ProjectsDb,
    pub users: UsersDb,
}

impl Loader<i32> for CollaboratorsLoader {
    type Value = Linked<user::Model>;
    type Error = Shared;

    async fn load(&self, ids: &[i32]) -> Result<HashMap<i32, Linked<user::Model>>, Shared> {
        let pairs = CollaboratorIdsLoader(self.projects.clone())
            .load(ids)
            .await?;
        let user_ids: Vec<i32> = pairs.values().flatten().copied().collect();
        let users = crate::users::service::existing_ids(&self.users, &user_ids)
            .await
            .map_err(Arc::new)?;
        Ok(pairs
            .into_iter()
            .map(|(project, members)| {
                let mut linked = Linked::default();
                for id in members {
                    match users.get(&id) {
                        Some(user) => linked.found.push(user.clone()),
                        None => linked.missing.push(id),
                    }
                }
                (project, linked)
            })
            .collect())
    }
}

/// Courses of each project, read from the academic database.
/// A course and its subject, read together.
pub type CourseWithSubject = (course::Model, Option<subject::Model>);

pub struct CoursesLoader {
    pub projects: ProjectsDb,
    pub academic: AcademicDb,
}

impl Loader<i32> for CoursesLoader {
    type Value = Linked<CourseWithSubject>;
    type Error = Shared;

    async fn load(&self, ids: &[i32]) -> Result<HashMap<i32, Linked<CourseWithSubject>>, Shared> {
        let links = project_course::Entity::find()
            .filter(
                self.projects
                    .any_of(project_course::Column::ProjectId, ids.iter().copied()),
            )
            .order_by_asc(project_course::Column::Id)
            .all(&*self.projects)
            .await
            .map_err(shared)?;
        let course_ids: Vec<i32> = links.iter().map(|l| l.course_id).collect();
        let courses: HashMap<i32, CourseWithSubject> = if course_ids.is_empty() {
            HashMap::new()
        } else {
            // Each course with its subject, which every client showing a course asks for.
            course::Entity::find()
                .filter(self.academic.any_of(course::Column::Id, course_ids))
                .find_also_related(subject::Entity)
                .all(&*self.academic)
                .await
                .map_err(shared)?
                .into_iter()
                .map(|(c, s)| (c.id, (c, s)))
                .collect()
        };
        let mut by_project: HashMap<i32, Linked<CourseWithSubject>> =
            ids.iter().map(|id| (*id, Linked::default())).collect();
        for link in links {
            let entry = by_project.entry(link.project_id).or_default();
            match courses.get(&link.course_id) {
                Some(course) => entry.found.push(course.clone()),
                None => entry.missing.push(link.course_id),
            }
        }
        Ok(by_project)
    }
}

/// Tags (with their type) of each project.
pub struct TagsLoader(pub ProjectsDb);

/// A project's tag as the loader reads it: the tag and its type's stored name.
#[derive(Clone, FromQueryResult)]
pub struct TagRow {
    project_id: i32,
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
