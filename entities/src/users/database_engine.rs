//! A database engine students can get databases on (POSTGRESQL, MARIADB), seeded.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "database_engines")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub name: String,
    #[sea_orm(has_many)]
    pub student_databases: HasMany<super::student_database::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
