//! A database provisioned for a student on one of the student database servers.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "student_databases")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub owner_id: i32,
    /// Unique across engines.
    #[sea_orm(unique)]
    pub name: String,
    pub engine_id: i32,
    pub created_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "owner_id", to = "id")]
    pub owner: BelongsTo<super::user::Entity>,
    #[sea_orm(belongs_to, from = "engine_id", to = "id")]
    pub engine: BelongsTo<super::database_engine::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
