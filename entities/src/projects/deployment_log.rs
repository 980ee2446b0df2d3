//! One line of a deployment's output: its BUILD log or its app's RUNTIME log.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deployment_logs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub deployment_id: i32,
    pub kind: super::enums::LogKind,
    #[sea_orm(column_type = "Text")]
    pub line: String,
    pub created_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "deployment_id", to = "id")]
    pub deployment: BelongsTo<super::deployment::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
