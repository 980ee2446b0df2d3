//! Inputs of the projects domain's mutations and filters.

use super::*;

/// A project to create.
#[derive(InputObject)]
pub struct CreateProjectInput {
    /// 5 to 255 characters.
    pub name: String,
    /// 5 to 30 of a-z, 0-9 and -; unique.
    pub slug: String,
    /// An http(s) or ssh git URL; unique.
    pub repository_url: String,
    /// The port the app listens on, 1 to 65535.
    pub container_port: i32,
    /// Folder of the repository to serve as static files.
    pub static_path: Option<String>,
    /// What the project is (at most 10000 characters; empty when omitted).
    pub description: Option<String>,
    /// An image uploaded with `POST /files`.
    pub image_file_id: Option<ID>,
    /// At least one: a course you are enrolled in (students) or teach (teachers).
    pub course_ids: Vec<ID>,
    #[graphql(default)]
    /// Tags to put on it.
    pub tag_ids: Vec<ID>,
}

/// Changes to a project; absent fields stay as they are.
#[derive(InputObject)]
pub struct UpdateProjectInput {
    /// A new name (5 to 255 characters).
    pub name: Option<String>,
    /// A new slug (5 to 30 of `a-z`, `0-9` and `-`; unique).
    pub slug: Option<String>,
    /// A new git repository URL (unique).
    pub repository_url: Option<String>,
    /// The port the app listens on (1 to 65535).
    pub container_port: Option<i32>,
    /// Null removes it.
    pub static_path: Option<Option<String>>,
    /// A new description.
    pub description: Option<String>,
    /// Null removes it.
    pub image_file_id: Option<Option<ID>>,
}

/// Filters of `projects`.
#[derive(InputObject, Default)]
pub struct ProjectFilter {
    /// Projects with any of these tags.
    #[graphql(default)]
    pub tag_ids: Vec<ID>,
    /// Only projects this user owns.
    pub owner_id: Option<ID>,
    /// Projects this user owns or collaborates on.
    pub member_id: Option<ID>,
    /// Only projects built for this course.
    pub course_id: Option<ID>,
    /// Case-insensitive text in the name.
    pub search: Option<String>,
}

/// A stage to create.
#[derive(InputObject)]
pub struct CreateStageInput {
    /// The project the stage belongs to.
    pub project_id: ID,
    /// 1 to 100 characters.
    pub name: String,
    /// What the stage is about (empty when omitted).
    pub description: Option<String>,
    /// NOT_STARTED when absent.
    pub status: Option<StageStatusName>,
}

/// Changes to a stage; absent fields stay as they are.
#[derive(InputObject)]
pub struct UpdateStageInput {
    /// A new name.
    pub name: Option<String>,
    /// A new description.
    pub description: Option<String>,
    /// A new status.
    pub status: Option<StageStatusName>,
}

// The inputs as the services take them: ids parsed, `BAD_USER_INPUT` naming the field.

use crate::{
    graphql::ids::{parse_id, parse_ids},
    projects::model::{NewProject, NewStage, ProjectPatch, ProjectQuery, StagePatch},
};

impl TryFrom<CreateProjectInput> for NewProject {
    type Error = ServiceError;

    fn try_from(input: CreateProjectInput) -> Result<Self, ServiceError> {
        Ok(NewProject {
            course_ids: parse_ids(&input.course_ids, "courseIds")?,
            tag_ids: parse_ids(&input.tag_ids, "tagIds")?,
            image_file_id: input
                .image_file_id
                .map(|id| parse_id(&id, "imageFileId"))
                .transpose()?,
            name: input.name,
            slug: input.slug,
            repository_url: input.repository_url,
            container_port: input.container_port,
            static_path: input.static_path,
            description: input.description,
        })
    }
}

impl TryFrom<UpdateProjectInput> for ProjectPatch {
    type Error = ServiceError;

    fn try_from(input: UpdateProjectInput) -> Result<Self, ServiceError> {
        Ok(ProjectPatch {
            image_file_id: match input.image_file_id {
                None => None,
                Some(None) => Some(None),
                Some(Some(id)) => Some(Some(parse_id(&id, "imageFileId")?)),
            },
            name: input.name,
            slug: input.slug,
            repository_url: input.repository_url,
            container_port: input.container_port,
            static_path: input.static_path,
            description: input.description,
        })
    }
}

impl TryFrom<ProjectFilter> for ProjectQuery {
    type Error = ServiceError;

    fn try_from(filter: ProjectFilter) -> Result<Self, ServiceError> {
        let one = |id: Option<ID>, field| id.map(|id| parse_id(&id, field)).transpose();
        Ok(ProjectQuery {
            tag_ids: parse_ids(&filter.tag_ids, "tagIds")?,
            owner_id: one(filter.owner_id, "ownerId")?,
            member_id: one(filter.member_id, "memberId")?,
            course_id: one(filter.course_id, "courseId")?,
            search: filter.search,
        })
    }
}

impl TryFrom<CreateStageInput> for NewStage {
    type Error = ServiceError;

    fn try_from(input: CreateStageInput) -> Result<Self, ServiceError> {
        Ok(NewStage {
            project_id: parse_id(&input.project_id, "projectId")?,
            name: input.name,
            description: input.description,
            status: input.status.map(Into::into),
        })
    }
}

impl From<UpdateStageInput> for StagePatch {
    fn from(input: UpdateStageInput) -> Self {
        StagePatch {
            name: input.name,
            description: input.description,
            status: input.status.map(Into::into),
        }
    }
}
