//! Deploy mutations: queue a deploy or a start, cancel one, stop a project's app. The
//! project's owner, collaborators and admins.

use async_graphql::{Context, ID, Object, Result};
use migration::Domain;

use super::{
    service,
    types::{Deployment, Job},
};
use crate::{
    error::OrGraphql,
    graphql::ids::parse_id,
    projects::{authz, types::Project},
    state::AppState,
};

#[derive(Default)]
pub struct DeploysMutation;

async fn queue(ctx: &Context<'_>, project_id: &ID, request: service::Request) -> Result<Job> {
    let viewer = authz::require(ctx).await.or_graphql(Domain::Projects)?;
    let state = AppState::of(ctx);
    let project_id = parse_id(project_id, "projectId").or_graphql(Domain::Projects)?;
    let job = service::queue(
        &state.databases.projects,
        &state.deploy,
        &viewer,
        project_id,
        request,
    )
    .await
    .or_graphql(Domain::Projects)?;
    Ok(Job(job))
}

#[Object]
impl DeploysMutation {
    /// Queues a deploy of the project and returns its job at once (PENDING; follow it
    /// with `job` or `Job.deployment`). CONFLICT while one is pending or running.
    async fn deploy_project(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project to deploy.")] project_id: ID,
    ) -> Result<Job> {
        queue(ctx, &project_id, service::Request::Deploy).await
    }

    /// Cancels a pending or running deployment; the previous instance keeps serving.
    async fn cancel_deployment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The deployment to cancel.")] id: ID,
    ) -> Result<Deployment> {
        let viewer = authz::require(ctx).await.or_graphql(Domain::Projects)?;
        let state = AppState::of(ctx);
        let id = parse_id(&id, "id").or_graphql(Domain::Projects)?;
        let cancelled = service::cancel(&state.databases.projects, &state.deploy, &viewer, id)
            .await
            .or_graphql(Domain::Projects)?;
        Ok(Deployment(cancelled))
    }

    /// Stops the project's app (maintenance mode): `/apps/<slug>/` answers 503.
    async fn stop_project(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project whose app to stop.")] project_id: ID,
    ) -> Result<Project> {
        let viewer = authz::require(ctx).await.or_graphql(Domain::Projects)?;
        let state = AppState::of(ctx);
        let project_id = parse_id(&project_id, "projectId").or_graphql(Domain::Projects)?;
        let stopped = service::stop(
            &state.databases.projects,
            &state.deploy,
            &viewer,
            project_id,
        )
        .await
        .or_graphql(Domain::Projects)?;
        Ok(Project(stopped))
    }

    /// Starts the project's last successful build again (no fetch, no build).
    async fn start_project(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project whose last successful build to start.")] project_id: ID,
    ) -> Result<Job> {
        queue(ctx, &project_id, service::Request::Start).await
    }
}
