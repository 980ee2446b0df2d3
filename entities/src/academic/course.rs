//! One group of a subject in a year and period, taught by one teacher.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "courses")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub subject_id: i32,
    pub year: i32,
    /// 1 (before June) or 2.
    pub period: i32,
    /// The group's name, up to three characters (`group` is an SQL keyword).
    pub group_name: String,
    /// A user id in the users database.
    pub teacher_id: i32,
    #[sea_orm(belongs_to, from = "subject_id", to = "id")]
    pub subject: BelongsTo<super::subject::Entity>,
    #[sea_orm(has_many)]
    pub enrollments: HasMany<super::enrollment::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
