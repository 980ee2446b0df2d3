//! GraphQL types of the projects domain.

use crate::graphql::{budget::listed, dangling};
use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use entities::projects::{file, project, rating, stage, statistic, tag, tag_type};
use migration::Domain;

use super::loaders;
use crate::{
    academic::types::Course,
    error::{OrGraphql, ServiceError},
    graphql::db_enum::db_enum,
    users::{loaders as user_loaders, types::User},
};

db_enum!(
    /// How far a stage of a project's work has come.
    StageStatusName {
        NotStarted = "NOT_STARTED",
        InProgress = "IN_PROGRESS",
        InReview = "IN_REVIEW",
        Completed = "COMPLETED",
    }
);

db_enum!(
    /// What a tag describes.
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
    pub id: ID,
    pub name: StageStatusName,
}

impl TryFrom<entities::projects::stage_status::Model> for StageStatus {
    type Error = ServiceError;

    fn try_from(model: entities::projects::stage_status::Model) -> Result<Self, ServiceError> {
        Ok(Self {
            id: model.id.into(),
            name: StageStatusName::from_db(&model.name)?,
        })
    }
}

/// A tag projects can carry.
#[derive(SimpleObject, Clone)]
pub struct Tag {
    pub id: ID,
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

/// A software project students build for one or more courses.
pub struct Project(pub project::Model);

#[Object]
impl Project {
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

    /// Where the running app is reachable through the gateway; null while not running.
    async fn public_url(&self) -> Option<String> {
        self.0.running.then(|| format!("/apps/{}/", self.0.slug))
    }

    async fn created_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.created_at
    }

    async fn updated_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.updated_at
    }

    /// The owner, read from the users database.
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        Ok(user_loaders::linked_user(ctx, self.0.owner_id)
            .await?
            .map(User::new))
    }

    /// Collaborators, read from the users database.
    #[graphql(complexity = "crate::graphql::budget::LIST * child_complexity + 1")]
    async fn collaborators(&self, ctx: &Context<'_>) -> Result<Vec<User>> {
        let rows = dangling::many(ctx, "user", loaders::collaborators(ctx, self.0.id).await?);
        listed(ctx, rows.into_iter().map(User::new).collect())
    }

    /// The courses it is built for, read from the academic database.
    #[graphql(complexity = "crate::graphql::budget::LIST * child_complexity + 1")]
    async fn courses(&self, ctx: &Context<'_>) -> Result<Vec<Course>> {
        let rows = dangling::many(ctx, "course", loaders::courses(ctx, self.0.id).await?);
        listed(ctx, rows.into_iter().map(Course::from).collect())
    }

    #[graphql(complexity = "crate::graphql::budget::LIST * child_complexity + 1")]
    async fn tags(&self, ctx: &Context<'_>) -> Result<Vec<Tag>> {
        listed(ctx, loaders::tags(ctx, self.0.id).await?)
    }

    #[graphql(complexity = "crate::graphql::budget::LIST * child_complexity + 1")]
    async fn stages(&self, ctx: &Context<'_>) -> Result<Vec<Stage>> {
        listed(ctx, loaders::stages(ctx, self.0.id).await?)
    }

    #[graphql(complexity = "crate::graphql::budget::LIST * child_complexity + 1")]
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
    ) -> Result<Vec<super::deploys::types::Deployment>> {
        let first = check_first(first)?;
        let rows = loaders::deployments(ctx, self.0.id, first).await?;
        listed(
            ctx,
            rows.into_iter()
                .map(super::deploys::types::Deployment)
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

fn check_first(first: i32) -> Result<i32> {
    if (1..=100).contains(&first) {
        Ok(first)
    } else {
        Err(ServiceError::invalid("first", "must be 1 to 100")).or_graphql(Domain::Projects)
    }
}

/// A phase of a project's work.
pub struct Stage {
    pub model: stage::Model,
    pub status: StageStatusName,
}

#[Object]
impl Stage {
    async fn id(&self) -> ID {
        self.model.id.into()
    }

    async fn name(&self) -> &str {
        &self.model.name
    }

    async fn description(&self) -> &str {
        &self.model.description
    }

    async fn status(&self) -> StageStatusName {
        self.status
    }

    /// Who created it, read from the users database.
    async fn author(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        Ok(user_loaders::linked_user(ctx, self.model.author_id)
            .await?
            .map(User::new))
    }

    #[graphql(complexity = "crate::graphql::budget::LIST * child_complexity + 1")]
    async fn files(&self, ctx: &Context<'_>) -> Result<Vec<StoredFile>> {
        let rows = loaders::stage_files(ctx, self.model.id).await?;
        listed(ctx, rows.into_iter().map(StoredFile).collect())
    }

    async fn created_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.model.created_at
    }

    async fn updated_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.model.updated_at
    }
}

/// A stored file; download it from `url`.
pub struct StoredFile(pub file::Model);

#[Object(name = "File")]
impl StoredFile {
    async fn id(&self) -> ID {
        self.0.id.into()
    }

    /// The name it was uploaded with.
    async fn name(&self) -> &str {
        &self.0.original_name
    }

    async fn content_type(&self) -> &str {
        &self.0.content_type
    }

    /// Bytes.
    async fn size(&self) -> i64 {
        self.0.size
    }

    /// `GET` this to download it.
    async fn url(&self) -> String {
        format!("/files/{}", self.0.id)
    }

    async fn created_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.created_at
    }
}

/// Stars as words.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum StarsLabel {
    Bad,
    Ok,
    Good,
    Excellent,
    Awesome,
}

/// A user's stars for a project.
pub struct Rating(pub rating::Model);

#[Object]
impl Rating {
    async fn id(&self) -> ID {
        self.0.id.into()
    }

    /// 1 to 5.
    async fn stars(&self) -> i32 {
        self.0.stars
    }

    async fn label(&self) -> StarsLabel {
        match self.0.stars {
            ..=1 => StarsLabel::Bad,
            2 => StarsLabel::Ok,
            3 => StarsLabel::Good,
            4 => StarsLabel::Excellent,
            _ => StarsLabel::Awesome,
        }
    }

    /// Who rated, read from the users database.
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        Ok(user_loaders::linked_user(ctx, self.0.user_id)
            .await?
            .map(User::new))
    }

    async fn updated_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.updated_at
    }
}

/// A resource sample of a running app.
pub struct Statistic(pub statistic::Model);

#[Object]
impl Statistic {
    async fn cpu_percent(&self) -> f64 {
        self.0.cpu_percent
    }

    async fn memory_percent(&self) -> f64 {
        self.0.memory_percent
    }

    /// Bytes.
    async fn memory_used(&self) -> i64 {
        self.0.memory_used
    }

    /// Bytes.
    async fn memory_limit(&self) -> i64 {
        self.0.memory_limit
    }

    async fn block_io_read(&self) -> i64 {
        self.0.block_io_read
    }

    async fn block_io_write(&self) -> i64 {
        self.0.block_io_write
    }

    async fn net_io_rx(&self) -> i64 {
        self.0.net_io_rx
    }

    async fn net_io_tx(&self) -> i64 {
        self.0.net_io_tx
    }

    async fn created_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.created_at
    }
}

/// A project's environment variable, decrypted.
#[derive(SimpleObject)]
pub struct EnvironmentVariable {
    pub name: String,
    pub value: String,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

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
    pub description: Option<String>,
    /// An image uploaded with `POST /files`.
    pub image_file_id: Option<ID>,
    /// At least one: a course you are enrolled in (students) or teach (teachers).
    pub course_ids: Vec<ID>,
    #[graphql(default)]
    pub tag_ids: Vec<ID>,
}

/// Changes to a project; absent fields stay as they are.
#[derive(InputObject)]
pub struct UpdateProjectInput {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub repository_url: Option<String>,
    pub container_port: Option<i32>,
    /// Null removes it.
    pub static_path: Option<Option<String>>,
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
    pub owner_id: Option<ID>,
    /// Projects this user owns or collaborates on.
    pub member_id: Option<ID>,
    pub course_id: Option<ID>,
    /// Case-insensitive text in the name.
    pub search: Option<String>,
}

/// A stage to create.
#[derive(InputObject)]
pub struct CreateStageInput {
    pub project_id: ID,
    /// 1 to 100 characters.
    pub name: String,
    pub description: Option<String>,
    /// NOT_STARTED when absent.
    pub status: Option<StageStatusName>,
}

/// Changes to a stage; absent fields stay as they are.
#[derive(InputObject)]
pub struct UpdateStageInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub status: Option<StageStatusName>,
}
