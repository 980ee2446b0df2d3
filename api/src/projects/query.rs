//! Queries of the projects domain.

use async_graphql::{Context, ID, Object, Result};
use migration::Domain;

use super::{
    authz, loaders,
    model::ProjectQuery,
    service,
    types::{Project, ProjectFilter, StageStatus, Tag, TagType},
};
use crate::{
    error::OrGraphql,
    graphql::pagination::{IdConnection, connection},
    state::AppState,
};

#[derive(Default)]
pub struct ProjectsQuery;

#[Object]
impl ProjectsQuery {
    /// The statuses a stage can have. Public reference data.
    async fn stage_statuses(&self, ctx: &Context<'_>) -> Result<Vec<StageStatus>> {
        authz::authorize(ctx).await.or_graphql(Domain::Projects)?;
        let rows = service::stage_statuses(&AppState::of(ctx).databases.projects)
            .await
            .or_graphql(Domain::Projects)?;
        rows.into_iter()
            .map(StageStatus::try_from)
            .collect::<Result<_, _>>()
            .or_graphql(Domain::Projects)
    }

    /// The tags projects can carry, by name. Public reference data.
    async fn tags(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "type", desc = "Only tags of this type.")] of_type: Option<TagType>,
    ) -> Result<Vec<Tag>> {
        authz::authorize(ctx).await.or_graphql(Domain::Projects)?;
        let of_type = of_type.map(TagType::as_db);
        let rows = super::tags::list(&AppState::of(ctx).databases.projects, of_type)
            .await
            .or_graphql(Domain::Projects)?;
        rows.into_iter()
            .map(Tag::try_from)
            .collect::<Result<_, _>>()
            .or_graphql(Domain::Projects)
    }

    /// A project by id, or null. Signed-in users.
    async fn project(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project's id.")] id: ID,
    ) -> Result<Option<Project>> {
        authz::require(ctx).await.or_graphql(Domain::Projects)?;
        let id = crate::graphql::ids::parse_id(&id, "id").or_graphql(Domain::Projects)?;
        let found = service::read_by_id(
            &AppState::of(ctx).databases.projects,
            id,
            reads(ctx.look_ahead()),
        )
        .await
        .or_graphql(Domain::Projects)?;
        Ok(found.map(|row| read(ctx, row)))
    }

    /// A project by slug, or null. Signed-in users.
    async fn project_by_slug(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project's slug.")] slug: String,
    ) -> Result<Option<Project>> {
        authz::require(ctx).await.or_graphql(Domain::Projects)?;
        Ok(
            service::by_slug(&AppState::of(ctx).databases.projects, &slug)
                .await
                .or_graphql(Domain::Projects)?
                .map(Project),
        )
    }

    /// Projects by id, as a Relay connection. Signed-in users.
    #[graphql(complexity = "crate::graphql::budget::paged(first, 100) * child_complexity + 1")]
    async fn projects(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Narrow the list.")] filter: Option<ProjectFilter>,
        #[graphql(desc = "Page size, 1 to 100.")] first: i32,
        #[graphql(desc = "The `endCursor` of the previous page.")] after: Option<String>,
    ) -> Result<IdConnection<Project>> {
        authz::require(ctx).await.or_graphql(Domain::Projects)?;
        let page =
            crate::graphql::pagination::page(Some(first), after).or_graphql(Domain::Projects)?;
        let filter =
            ProjectQuery::try_from(filter.unwrap_or_default()).or_graphql(Domain::Projects)?;
        let reads = service::Reads {
            total: ctx.look_ahead().field("totalCount").exists(),
            ..reads(ctx.look_ahead().field("edges").field("node"))
        };
        let (rows, total) =
            service::page(&AppState::of(ctx).databases.projects, &filter, &page, reads)
                .await
                .or_graphql(Domain::Projects)?;
        Ok(connection(
            rows,
            &page,
            total,
            |p| p.model.id,
            |row| read(ctx, row),
        ))
    }

    /// Whether a slug is well-formed and not taken.
    async fn slug_available(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The slug to check.")] slug: String,
    ) -> Result<bool> {
        authz::require(ctx).await.or_graphql(Domain::Projects)?;
        service::slug_available(&AppState::of(ctx).databases.projects, &slug)
            .await
            .or_graphql(Domain::Projects)
    }
}

/// What to read with each project, from the fields the client selected on it.
fn reads(project: async_graphql::Lookahead<'_>) -> service::Reads {
    service::Reads {
        average: project.field("averageRating").exists(),
        collaborator_ids: project.field("collaborators").exists()
            || project.field("environmentVariables").exists(),
        course_ids: project.field("courses").exists(),
        tags: project.field("tags").exists(),
        total: false,
    }
}

/// A project read by a query: what was read with it (its mean rating, collaborator and
/// course ids) goes to the request's loaders, so the fields that need it cost no
/// statement of their own.
fn read(ctx: &Context<'_>, row: service::ProjectRead) -> Project {
    let id = row.model.id;
    if let Some(average) = row.average_rating {
        loaders::prime_average_rating(ctx, id, average);
    }
    loaders::prime_links(ctx, id, row.collaborator_ids, row.course_ids, row.tags);
    Project(row.model)
}
