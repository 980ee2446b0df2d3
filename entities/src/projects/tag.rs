//! A tag of a type (a language, an area), seeded and shared by all projects.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tags")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub name: String,
    pub type_id: i32,
    #[sea_orm(belongs_to, from = "type_id", to = "id")]
    pub tag_type: BelongsTo<super::tag_type::Entity>,
    #[sea_orm(has_many)]
    pub projects: HasMany<super::project_tag::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
