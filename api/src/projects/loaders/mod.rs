//! Batch loaders for every relation of a project: one statement per field per request
//! (per database), never one per row.

use std::{collections::HashMap, hash::Hash, sync::Arc};

use async_graphql::{Context, dataloader::Loader};
use entities::projects::{
    collaborator, deployment, environment_variable, file, project, project_course, project_tag,
    rating, stage, stage_file, stage_status, statistic, tag, tag_type,
};
use migration::Domain;
use sea_orm::{
    ColumnTrait, DbBackend, EntityTrait, FromQueryResult, JoinType, QueryFilter, QueryOrder,
    QuerySelect, RelationTrait, Statement,
    sea_query::{Expr, ExprTrait},
};

use super::{
    model::StageStatusName,
    types::{EnvironmentVariable, Stage, Tag, TagType},
};
use crate::{
    db::ProjectsDb, error::ServiceError, graphql::batch::BatchLoader, state::AppState,
    users::viewer,
};

mod history;
mod members;
mod projects;
mod ratings;
mod stages;
mod variables;

pub use self::history::*;
pub use self::members::*;
pub use self::projects::*;
pub use self::ratings::*;
pub use self::stages::*;
pub use self::variables::*;

pub(super) type Shared = Arc<ServiceError>;

pub(super) fn shared(error: impl Into<ServiceError>) -> Shared {
    Arc::new(error.into())
}

pub(super) fn grouped<K: Hash + Eq + Copy, V>(
    keys: &[K],
    rows: impl IntoIterator<Item = (K, V)>,
) -> HashMap<K, Vec<V>> {
    let mut map: HashMap<K, Vec<V>> = keys.iter().map(|k| (*k, Vec::new())).collect();
    for (key, value) in rows {
        map.entry(key).or_default().push(value);
    }
    map
}

fn loader_error(error: Shared) -> async_graphql::Error {
    crate::error::shared_error(Domain::Projects, error)
}

async fn many<K, L>(ctx: &Context<'_>, key: K) -> async_graphql::Result<L::Value>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    L: Loader<K, Error = Shared> + crate::graphql::loaders::FromDatabases,
    BatchLoader<K, L>: Send + Sync,
    L::Value: Default,
{
    crate::graphql::loaders::load_or_default::<K, L>(ctx, Domain::Projects, key).await
}

pub async fn tags(ctx: &Context<'_>, project_id: i32) -> async_graphql::Result<Vec<Tag>> {
    many::<_, TagsLoader>(ctx, project_id)
        .await?
        .into_iter()
        .map(|row| {
            Ok(Tag {
                id: row.tag_id.into(),
                tag_type: TagType::from_db(&row.type_name)
                    .map_err(|e| e.into_graphql(Domain::Projects))?,
                name: row.tag_name,
            })
        })
        .collect()
}

pub async fn stages(ctx: &Context<'_>, project_id: i32) -> async_graphql::Result<Vec<Stage>> {
    let rows = many::<_, StagesLoader>(ctx, project_id).await?;
    Ok(rows
        .into_iter()
        .map(|(model, status)| Stage {
            model,
            status: status.into(),
        })
        .collect())
}

pub async fn stage_files(
    ctx: &Context<'_>,
    stage_id: i32,
) -> async_graphql::Result<Vec<file::Model>> {
    many::<_, StageFilesLoader>(ctx, stage_id).await
}

pub async fn ratings(
    ctx: &Context<'_>,
    project_id: i32,
) -> async_graphql::Result<Vec<rating::Model>> {
    many::<_, RatingsLoader>(ctx, project_id).await
}

pub async fn average_rating(
    ctx: &Context<'_>,
    project_id: i32,
) -> async_graphql::Result<Option<f64>> {
    let loader = crate::graphql::loaders::of::<i32, AverageRatingLoader>(ctx)?;
    loader.load_one(project_id).await.map_err(loader_error)
}

/// Records a mean rating the project's own statement already read.
pub fn prime_average_rating(ctx: &Context<'_>, project_id: i32, average: Option<f64>) {
    if let Ok(loader) = crate::graphql::loaders::of::<i32, AverageRatingLoader>(ctx) {
        loader.prime([(project_id, average)]);
    }
}

/// Records the collaborator and course ids and the tags the project's own statement
/// already read.
pub fn prime_links(
    ctx: &Context<'_>,
    project_id: i32,
    collaborator_ids: Option<Vec<i32>>,
    course_ids: Option<Vec<i32>>,
    tags: Option<Vec<super::service::ReadTag>>,
) {
    if let Some(ids) = collaborator_ids
        && let Ok(loader) = crate::graphql::loaders::of::<i32, CollaboratorIdsLoader>(ctx)
    {
        loader.prime([(project_id, Some(ids))]);
    }
    if let Some(ids) = course_ids
        && let Ok(loader) = crate::graphql::loaders::of::<i32, CourseIdsLoader>(ctx)
    {
        loader.prime([(project_id, Some(ids))]);
    }
    if let Some(tags) = tags
        && let Ok(loader) = crate::graphql::loaders::of::<i32, TagsLoader>(ctx)
    {
        let rows = tags
            .into_iter()
            .map(|tag| TagRow {
                project_id,
                tag_id: tag.id,
                tag_name: tag.name,
                type_name: tag.type_name,
            })
            .collect();
        loader.prime([(project_id, Some(rows))]);
    }
}

pub async fn my_rating(
    ctx: &Context<'_>,
    project_id: i32,
) -> async_graphql::Result<Option<rating::Model>> {
    let viewer = viewer::require(ctx)
        .await
        .map_err(|e| e.into_graphql(Domain::Projects))?;
    let loader = crate::graphql::loaders::of::<(i32, i32), MyRatingLoader>(ctx)?;
    loader
        .load_one((project_id, viewer.id()))
        .await
        .map_err(loader_error)
}

pub async fn deployments(
    ctx: &Context<'_>,
    project_id: i32,
    first: i32,
) -> async_graphql::Result<Vec<deployment::Model>> {
    many::<_, DeploymentsLoader>(ctx, (project_id, first)).await
}

pub async fn statistics(
    ctx: &Context<'_>,
    project_id: i32,
    last: i32,
) -> async_graphql::Result<Vec<statistic::Model>> {
    many::<_, StatisticsLoader>(ctx, (project_id, last)).await
}

pub async fn projects_of_user(
    ctx: &Context<'_>,
    user_id: i32,
) -> async_graphql::Result<Vec<project::Model>> {
    many::<_, ProjectsOfUserLoader>(ctx, user_id).await
}

pub async fn projects_of_course(
    ctx: &Context<'_>,
    course_id: i32,
) -> async_graphql::Result<Vec<project::Model>> {
    many::<_, ProjectsOfCourseLoader>(ctx, course_id).await
}

/// A project by id, batched.
pub async fn project(ctx: &Context<'_>, id: i32) -> async_graphql::Result<Option<project::Model>> {
    let loader = crate::graphql::loaders::of::<i32, ProjectLoader>(ctx)?;
    loader.load_one(id).await.map_err(loader_error)
}

/// What the viewer may do to the project (its collaborators read in a batch).
pub async fn access(
    ctx: &Context<'_>,
    found: &project::Model,
) -> async_graphql::Result<super::service::Access> {
    let viewer = viewer::require(ctx)
        .await
        .map_err(|e| e.into_graphql(Domain::Projects))?;
    let members = many::<_, CollaboratorIdsLoader>(ctx, found.id).await?;
    Ok(super::service::Access::of(&viewer, found, &members))
}

/// Whether the viewer is the project's owner, a collaborator, or an admin (batched).
pub async fn is_member(ctx: &Context<'_>, found: &project::Model) -> async_graphql::Result<bool> {
    Ok(access(ctx, found).await?.can_write())
}

/// Decrypted variables, if the viewer is the owner, a collaborator or an admin.
pub async fn environment_variables(
    ctx: &Context<'_>,
    found: &project::Model,
) -> async_graphql::Result<Vec<EnvironmentVariable>> {
    let access = access(ctx, found).await?;
    super::service::may_read_variables(access).map_err(|e| e.into_graphql(Domain::Projects))?;
    let rows = many::<_, VariablesLoader>(ctx, found.id).await?;
    let opened = super::service::open_variables(&AppState::of(ctx).cipher, rows)
        .map_err(|e| e.into_graphql(Domain::Projects))?;
    Ok(opened
        .into_iter()
        .map(|v| EnvironmentVariable {
            name: v.name,
            value: v.value,
            updated_at: v.updated_at,
        })
        .collect())
}
