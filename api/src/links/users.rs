//! A user's links: the projects they own or collaborate on.

use async_graphql::{Context, Object, Result};

use crate::{
    graphql::budget::listed,
    projects::{loaders as project_loaders, types::Project},
    users::types::UserLinks,
};

#[Object]
impl UserLinks {
    /// Projects the user owns or collaborates on.
    #[graphql(complexity = "crate::graphql::budget::LIST * child_complexity + 1")]
    async fn projects(&self, ctx: &Context<'_>) -> Result<Vec<Project>> {
        let rows = project_loaders::projects_of_user(ctx, self.user_id).await?;
        listed(ctx, rows.into_iter().map(Project).collect())
    }
}
