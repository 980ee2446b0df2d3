//! A phase of a project's work, with a status and attached files.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stages")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub project_id: i32,
    pub name: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub status_id: i32,
    /// A user id in the users database.
    pub author_id: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "project_id", to = "id")]
    pub project: BelongsTo<super::project::Entity>,
    #[sea_orm(belongs_to, from = "status_id", to = "id")]
    pub status: BelongsTo<super::stage_status::Entity>,
    #[sea_orm(has_many)]
    pub files: HasMany<super::stage_file::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
