//! A stage's status (NOT_STARTED, IN_PROGRESS, IN_REVIEW, COMPLETED), seeded.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stage_statuses")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub name: String,
    #[sea_orm(has_many)]
    pub stages: HasMany<super::stage::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
