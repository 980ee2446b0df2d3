//! Users, roles and their pairs, database engines, student databases, error logs.

use sea_orm_migration::{prelude::*, schema::*};

use crate::common::{cascade, create_error_logs, drop, drop_error_logs, index, restrict};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    GoogleId,
    Username,
    FirstName,
    LastName,
    PictureUrl,
    IsActive,
    HasDbAccount,
    TokenVersion,
    CreatedAt,
    LastLoginAt,
}

#[derive(DeriveIden)]
enum Roles {
    Table,
    Id,
    Name,
}

#[derive(DeriveIden)]
enum UserRoles {
    Table,
    UserId,
    RoleId,
}

#[derive(DeriveIden)]
enum DatabaseEngines {
    Table,
    Id,
    Name,
}

#[derive(DeriveIden)]
enum StudentDatabases {
    Table,
    Id,
    OwnerId,
    Name,
    EngineId,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(pk_auto(Users::Id))
                    .col(string_len_uniq(Users::Email, 254))
                    .col(string_len_null(Users::GoogleId, 255).unique_key())
                    .col(string_len(Users::Username, 150))
                    .col(string_len(Users::FirstName, 150))
                    .col(string_len(Users::LastName, 150))
                    .col(string_len_null(Users::PictureUrl, 2048))
                    .col(boolean(Users::IsActive).default(true))
                    .col(boolean(Users::HasDbAccount).default(false))
                    .col(integer(Users::TokenVersion).default(0))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .col(timestamp_with_time_zone_null(Users::LastLoginAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Roles::Table)
                    .col(pk_auto(Roles::Id))
                    .col(string_len_uniq(Roles::Name, 32))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UserRoles::Table)
                    .col(integer(UserRoles::UserId))
                    .col(integer(UserRoles::RoleId))
                    .primary_key(
                        Index::create()
                            .col(UserRoles::UserId)
                            .col(UserRoles::RoleId),
                    )
                    .foreign_key(&mut cascade(
                        UserRoles::Table,
                        UserRoles::UserId,
                        Users::Table,
                        Users::Id,
                    ))
                    .foreign_key(&mut restrict(
                        UserRoles::Table,
                        UserRoles::RoleId,
                        Roles::Table,
                        Roles::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            UserRoles::Table,
            "idx_user_roles_role_id",
            [UserRoles::RoleId],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(DatabaseEngines::Table)
                    .col(pk_auto(DatabaseEngines::Id))
                    .col(string_len_uniq(DatabaseEngines::Name, 32))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(StudentDatabases::Table)
                    .col(pk_auto(StudentDatabases::Id))
                    .col(integer(StudentDatabases::OwnerId))
                    .col(string_len_uniq(StudentDatabases::Name, 63))
                    .col(integer(StudentDatabases::EngineId))
                    .col(timestamp_with_time_zone(StudentDatabases::CreatedAt))
                    .foreign_key(&mut restrict(
                        StudentDatabases::Table,
                        StudentDatabases::OwnerId,
                        Users::Table,
                        Users::Id,
                    ))
                    .foreign_key(&mut restrict(
                        StudentDatabases::Table,
                        StudentDatabases::EngineId,
                        DatabaseEngines::Table,
                        DatabaseEngines::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            StudentDatabases::Table,
            "idx_student_databases_owner_id",
            [StudentDatabases::OwnerId],
            false,
        )
        .await?;
        create_error_logs(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_error_logs(manager).await?;
        drop(manager, StudentDatabases::Table).await?;
        drop(manager, DatabaseEngines::Table).await?;
        drop(manager, UserRoles::Table).await?;
        drop(manager, Roles::Table).await?;
        drop(manager, Users::Table).await
    }
}
