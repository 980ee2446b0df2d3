//! A project's owner, collaborators and courses; the users behind a stage, a rating and
//! a deployment.

use async_graphql::{Context, Object, Result};
use migration::Domain;

use super::{loaders::by_ids, user, users};
use crate::{
    academic::{loaders::CourseWithSubjectLoader, types::Course},
    graphql::{budget::listed, dangling, loaders::load_or_default},
    projects::{
        deploys::types::DeploymentLinks,
        loaders::{CollaboratorIdsLoader, CourseIdsLoader},
        types::{ProjectLinks, RatingLinks, StageLinks},
    },
    users::types::User,
};

#[Object]
impl ProjectLinks {
    /// The owner, read from the users database.
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        user(ctx, self.owner_id).await
    }

    /// Collaborators, read from the users database.
    #[graphql(complexity = "crate::graphql::budget::LIST * child_complexity + 1")]
    async fn collaborators(&self, ctx: &Context<'_>) -> Result<Vec<User>> {
        let ids =
            load_or_default::<_, CollaboratorIdsLoader>(ctx, Domain::Projects, self.project_id)
                .await?;
        listed(ctx, users(ctx, Domain::Projects, ids).await?)
    }

    /// The courses it is built for, read from the academic database.
    #[graphql(complexity = "crate::graphql::budget::LIST * child_complexity + 1")]
    async fn courses(&self, ctx: &Context<'_>) -> Result<Vec<Course>> {
        let ids =
            load_or_default::<_, CourseIdsLoader>(ctx, Domain::Projects, self.project_id).await?;
        let rows = by_ids::<CourseWithSubjectLoader, _>(ctx, Domain::Projects, ids).await?;
        let rows = dangling::many(ctx, "course", rows);
        let courses = rows
            .into_iter()
            .map(|row| Course::from(std::sync::Arc::unwrap_or_clone(row)));
        listed(ctx, courses.collect())
    }
}

#[Object]
impl StageLinks {
    /// Who created it, read from the users database.
    async fn author(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        user(ctx, self.author_id).await
    }
}

#[Object]
impl RatingLinks {
    /// Who rated, read from the users database.
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        user(ctx, self.user_id).await
    }
}

#[Object]
impl DeploymentLinks {
    /// Who asked for it, read from the users database.
    async fn triggered_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        user(ctx, self.triggered_by).await
    }
}
