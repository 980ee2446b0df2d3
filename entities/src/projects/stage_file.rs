//! A file attached to a stage.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stage_files")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub stage_id: i32,
    pub file_id: i32,
    /// A user id in the users database.
    pub author_id: i32,
    pub created_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "stage_id", to = "id")]
    pub stage: BelongsTo<super::stage::Entity>,
    #[sea_orm(belongs_to, from = "file_id", to = "id")]
    pub file: BelongsTo<super::file::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
