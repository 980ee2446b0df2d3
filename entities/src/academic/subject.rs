//! A subject of the curriculum, found by its unique code.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "subjects")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub code: String,
    pub name: String,
    #[sea_orm(has_many)]
    pub courses: HasMany<super::course::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
