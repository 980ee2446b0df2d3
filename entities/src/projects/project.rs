//! A software project a student builds for one or more courses.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "projects")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// A user id in the users database.
    pub owner_id: i32,
    pub name: String,
    /// Names the deployment: 5-30 of `[a-z0-9-]`.
    #[sea_orm(unique)]
    pub slug: String,
    #[sea_orm(unique)]
    pub repository_url: String,
    pub container_port: i32,
    pub static_path: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub image_file_id: Option<i32>,
    /// What should run: the app started (true) or stopped.
    pub running: bool,
    /// The deployment whose instance serves now (its endpoint, process and replica).
    pub serving_deployment_id: Option<i32>,
    /// The build folder the app serves from (a START's is the build it started); kept
    /// when the app stops, for the next start.
    pub serving_folder: Option<i32>,
    /// Where the serving instance listens, if it has a process.
    pub serving_endpoint: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "image_file_id", to = "id")]
    pub image: BelongsTo<Option<super::file::Entity>>,
    #[sea_orm(has_many)]
    pub collaborators: HasMany<super::collaborator::Entity>,
    #[sea_orm(has_many)]
    pub ratings: HasMany<super::rating::Entity>,
    #[sea_orm(has_many)]
    pub courses: HasMany<super::project_course::Entity>,
    #[sea_orm(has_many)]
    pub stages: HasMany<super::stage::Entity>,
    #[sea_orm(has_many)]
    pub tags: HasMany<super::project_tag::Entity>,
    #[sea_orm(has_many)]
    pub variables: HasMany<super::environment_variable::Entity>,
    #[sea_orm(has_many)]
    pub deployments: HasMany<super::deployment::Entity>,
    #[sea_orm(has_many)]
    pub statistics: HasMany<super::statistic::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
