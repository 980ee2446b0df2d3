//! The Project type: its fields, each relation through a batch loader.

use super::*;

/// A software project students build for one or more courses.
pub struct Project(pub project::Model);

/// Where a project's `owner`, `collaborators` and `courses` sit in the type;
/// `crate::links` resolves them.
pub struct ProjectLinks {
    pub project_id: i32,
    pub owner_id: i32,
}

/// A software project students build for their courses, deployed from its git repository.
#[Object]
impl Project {
    /// The project's id.
    async fn id(&self) -> ID {
        self.0.id.into()
    }

    /// 5 to 255 characters.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Unique; names the deployment (5 to 30 of a-z, 0-9 and -).
    async fn slug(&self) -> &str {
        &self.0.slug
    }

    /// The git repository it is deployed from (unique).
    async fn repository_url(&self) -> &str {
        &self.0.repository_url
    }

    /// The port the app listens on.
    async fn container_port(&self) -> i32 {
        self.0.container_port
    }

    /// Folder of the repository served as static files.
    async fn static_path(&self) -> Option<&str> {
        self.0.static_path.as_deref()
    }

    /// What the project is.
    async fn description(&self) -> &str {
        &self.0.description
    }

    /// Where the project's image is downloaded, if it has one.
    async fn image_url(&self) -> Option<String> {
        self.0.image_file_id.map(|id| format!("/files/{id}"))
    }

    /// Whether its app is running now.
    async fn running(&self) -> bool {
        self.0.running
    }

    /// The running app's own address (`<slug>.<APPS_DOMAIN>`, at the root of its own
    /// origin); null while not running.
    async fn public_url(&self, ctx: &Context<'_>) -> Option<String> {
        let template = crate::state::AppState::of(ctx).config.deploy.apps_url();
        self.0
            .running
            .then(|| crate::http::apps::public_url(template, &self.0.slug))
    }

    /// When it was created.
    async fn created_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.created_at
    }

    /// When it last changed.
    async fn updated_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.updated_at
    }

    // `owner` and `collaborators` from the users database, `courses` from the academic one.
    #[graphql(flatten)]
    async fn links(&self) -> ProjectLinks {
        ProjectLinks {
            project_id: self.0.id,
            owner_id: self.0.owner_id,
        }
    }

    #[graphql(complexity = "crate::graphql::budget::LIST * child_complexity + 1")]
    /// Its tags, by name.
    async fn tags(&self, ctx: &Context<'_>) -> Result<Vec<Tag>> {
        listed(ctx, loaders::tags(ctx, self.0.id).await?)
    }

    #[graphql(complexity = "crate::graphql::budget::LIST * child_complexity + 1")]
    /// Its stages, oldest first.
    async fn stages(&self, ctx: &Context<'_>) -> Result<Vec<Stage>> {
        listed(ctx, loaders::stages(ctx, self.0.id).await?)
    }

    #[graphql(complexity = "crate::graphql::budget::LIST * child_complexity + 1")]
    /// Every rating it has, one per user.
    async fn ratings(&self, ctx: &Context<'_>) -> Result<Vec<Rating>> {
        let rows = loaders::ratings(ctx, self.0.id).await?;
        listed(ctx, rows.into_iter().map(Rating).collect())
    }

    /// Mean of the stars given, or null with no ratings.
    async fn average_rating(&self, ctx: &Context<'_>) -> Result<Option<f64>> {
        loaders::average_rating(ctx, self.0.id).await
    }

    /// The viewer's own rating, if any.
    async fn my_rating(&self, ctx: &Context<'_>) -> Result<Option<Rating>> {
        Ok(loaders::my_rating(ctx, self.0.id).await?.map(Rating))
    }

    /// The newest resource sample of its running app; null while not running.
    async fn current_usage(&self, ctx: &Context<'_>) -> Result<Option<Statistic>> {
        if !self.0.running {
            return Ok(None);
        }
        Ok(loaders::statistics(ctx, self.0.id, 1)
            .await?
            .into_iter()
            .next()
            .map(Statistic))
    }

    /// Its deployments, newest first.
    #[graphql(complexity = "crate::graphql::budget::paged(first, 100) * child_complexity + 1")]
    async fn deployments(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many, 1 to 100.", default = 20)] first: i32,
    ) -> Result<Vec<crate::projects::deploys::types::Deployment>> {
        let first = check_first(first)?;
        let rows = loaders::deployments(ctx, self.0.id, first).await?;
        listed(
            ctx,
            rows.into_iter()
                .map(crate::projects::deploys::types::Deployment)
                .collect(),
        )
    }

    /// Its newest resource samples, newest first.
    #[graphql(complexity = "crate::graphql::budget::paged(last, 50) * child_complexity + 1")]
    async fn statistics(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many, 1 to 50.", default = 10)] last: i32,
    ) -> Result<Vec<Statistic>> {
        if !(1..=50).contains(&last) {
            return Err(
                ServiceError::invalid("last", "must be 1 to 50").into_graphql(Domain::Projects)
            );
        }
        let rows = loaders::statistics(ctx, self.0.id, last).await?;
        listed(ctx, rows.into_iter().map(Statistic).collect())
    }

    /// Decrypted values. Owner, collaborators and admins only.
    #[graphql(complexity = "crate::graphql::budget::LIST * child_complexity + 1")]
    async fn environment_variables(&self, ctx: &Context<'_>) -> Result<Vec<EnvironmentVariable>> {
        listed(ctx, loaders::environment_variables(ctx, &self.0).await?)
    }
}

pub(super) fn check_first(first: i32) -> Result<i32> {
    if (1..=100).contains(&first) {
        Ok(first)
    } else {
        Err(ServiceError::invalid("first", "must be 1 to 100")).or_graphql(Domain::Projects)
    }
}
