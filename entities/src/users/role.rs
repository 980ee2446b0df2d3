//! A role (STUDENT, TEACHER, ADMIN, SUPPORT), seeded by the migration.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "roles")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub name: String,
    #[sea_orm(has_many)]
    pub user_roles: HasMany<super::user_role::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
