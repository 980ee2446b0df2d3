//! Queries over deploys: one job or deployment (any signed-in user, like projects),
//! and the admin's view of the workers and the queue.

use async_graphql::{Context, ID, Object, Result};
use migration::Domain;

use super::{
    service,
    types::{DeployQueue, Deployment, Job, Worker},
};
use crate::{error::OrGraphql, graphql::ids::parse_id, projects::authz, state::AppState};

#[derive(Default)]
pub struct DeploysQuery;

#[Object]
impl DeploysQuery {
    /// A job by id.
    async fn job(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The job's id.")] id: ID,
    ) -> Result<Option<Job>> {
        authz::require(ctx).await.or_graphql(Domain::Projects)?;
        let id = parse_id(&id, "id").or_graphql(Domain::Projects)?;
        let found = service::job_by_id(&AppState::of(ctx).databases.projects, id)
            .await
            .or_graphql(Domain::Projects)?;
        Ok(found.map(Job))
    }

    /// A deployment by id.
    async fn deployment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The deployment's id.")] id: ID,
    ) -> Result<Option<Deployment>> {
        authz::require(ctx).await.or_graphql(Domain::Projects)?;
        let id = parse_id(&id, "id").or_graphql(Domain::Projects)?;
        let found = service::by_id(&AppState::of(ctx).databases.projects, id)
            .await
            .or_graphql(Domain::Projects)?;
        Ok(found.map(Deployment))
    }

    /// The deploy workers running now on every replica, oldest first. Admins.
    async fn workers(&self, ctx: &Context<'_>) -> Result<Vec<Worker>> {
        authz::require(ctx).await.or_graphql(Domain::Projects)?;
        let workers = AppState::of(ctx)
            .deploy
            .workers()
            .await
            .map_err(crate::error::ServiceError::from)
            .or_graphql(Domain::Projects)?;
        Ok(workers.into_iter().map(Worker).collect())
    }

    /// Pending jobs and worker slots. Admins.
    async fn deploy_queue(&self, ctx: &Context<'_>) -> Result<DeployQueue> {
        authz::require(ctx).await.or_graphql(Domain::Projects)?;
        let view = AppState::of(ctx)
            .deploy
            .queue_view()
            .await
            .map_err(crate::error::ServiceError::from)
            .or_graphql(Domain::Projects)?;
        Ok(view.into())
    }
}
