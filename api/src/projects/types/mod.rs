//! GraphQL types of the projects domain.

use crate::graphql::budget::listed;
use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use entities::projects::{file, project, rating, stage, statistic, tag, tag_type};
use migration::Domain;

use super::loaders;
use crate::{
    error::{OrGraphql, ServiceError},
    stored_enum::stored_enum,
};

/// How far a stage of a project's work has come.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::projects::model::StageStatusName")]
pub enum StageStatusName {
    /// Work has not begun.
    NotStarted,
    /// Work is under way.
    InProgress,
    /// Done, waiting for review.
    InReview,
    /// Done and reviewed.
    Completed,
}

// Only the GraphQL layer reads it: the tag service takes the stored name.
stored_enum!(
    /// What a tag describes.
    #[derive(Enum)]
    TagType {
        /// A field of knowledge, such as Machine Learning.
        Area = "AREA",
        /// A programming language.
        Programming = "PROGRAMMING",
    }
);

/// A status a stage can have, as seeded by the migration.
#[derive(SimpleObject)]
pub struct StageStatus {
    /// The status's id.
    pub id: ID,
    /// Which status.
    pub name: StageStatusName,
}

impl TryFrom<entities::projects::stage_status::Model> for StageStatus {
    type Error = ServiceError;

    fn try_from(model: entities::projects::stage_status::Model) -> Result<Self, ServiceError> {
        Ok(Self {
            id: model.id.into(),
            name: crate::projects::model::StageStatusName::from_db(&model.name)?.into(),
        })
    }
}

/// A tag projects can carry.
#[derive(SimpleObject, Clone)]
pub struct Tag {
    /// The tag's id.
    pub id: ID,
    /// The tag's name (unique).
    pub name: String,
    /// What the tag describes.
    #[graphql(name = "type")]
    pub tag_type: TagType,
}

impl TryFrom<(tag::Model, tag_type::Model)> for Tag {
    type Error = ServiceError;

    fn try_from((tag, tag_type): (tag::Model, tag_type::Model)) -> Result<Self, ServiceError> {
        Ok(Self {
            id: tag.id.into(),
            name: tag.name,
            tag_type: TagType::from_db(&tag_type.name)?,
        })
    }
}

mod details;
mod inputs;
mod projects;
mod stages;

pub use self::details::*;
pub use self::inputs::*;
pub use self::projects::*;
pub use self::stages::*;
