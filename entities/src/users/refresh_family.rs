//! A chain of refresh tokens from one sign-in, and the one that may be used next.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refresh_families")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub family: Uuid,
    pub user_id: i32,
    pub current_jti: Uuid,
    pub expires_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "user_id", to = "id")]
    pub user: BelongsTo<super::user::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
