//! A resource sample of a running app; the newest 50 per project are kept.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "statistics")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub project_id: i32,
    pub cpu_percent: f64,
    pub memory_percent: f64,
    pub memory_used: i64,
    pub memory_limit: i64,
    pub block_io_read: i64,
    pub block_io_write: i64,
    pub net_io_rx: i64,
    pub net_io_tx: i64,
    pub created_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "project_id", to = "id")]
    pub project: BelongsTo<super::project::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
