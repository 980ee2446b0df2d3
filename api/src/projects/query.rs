//! Queries of the projects domain.

use async_graphql::{Context, Object, Result};
use migration::Domain;

use super::{
    service,
    types::{StageStatus, Tag, TagType},
};
use crate::{error::OrGraphql, state::AppState};

#[derive(Default)]
pub struct ProjectsQuery;

#[Object]
impl ProjectsQuery {
    /// The statuses a stage can have. Public reference data.
    async fn stage_statuses(&self, ctx: &Context<'_>) -> Result<Vec<StageStatus>> {
        service::stage_statuses(&AppState::of(ctx).databases.projects)
            .await
            .or_graphql(Domain::Projects)
    }

    /// The tags projects can carry, by name. Public reference data.
    async fn tags(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "type", desc = "Only tags of this type.")] of_type: Option<TagType>,
    ) -> Result<Vec<Tag>> {
        service::tags(&AppState::of(ctx).databases.projects, of_type)
            .await
            .or_graphql(Domain::Projects)
    }
}
