//! A person who signs in (with Google) or was created by an operator.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub email: String,
    /// Google's subject id; empty until the first Google sign-in of an operator-made user.
    #[sea_orm(unique)]
    pub google_id: Option<String>,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub picture_url: Option<String>,
    pub is_active: bool,
    /// A login exists on the student database servers.
    pub has_db_account: bool,
    /// Bumped on sign-out: every token carrying an older version stops working.
    pub token_version: i32,
    pub created_at: DateTimeUtc,
    pub last_login_at: Option<DateTimeUtc>,
    #[sea_orm(has_many)]
    pub user_roles: HasMany<super::user_role::Entity>,
    /// The roles held, through `user_roles`.
    #[sea_orm(has_many, via = "user_role")]
    pub roles: HasMany<super::role::Entity>,
    #[sea_orm(has_many)]
    pub student_databases: HasMany<super::student_database::Entity>,
    #[sea_orm(has_many)]
    pub refresh_families: HasMany<super::refresh_family::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
