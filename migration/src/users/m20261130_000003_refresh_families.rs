//! Refresh tokens rotate: each sign-in starts a family, and the family remembers the one
//! refresh token that may be used next. Using any other of its tokens (an old one,
//! replayed) ends the family and every session of the user.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RefreshFamilies {
    Table,
    Family,
    UserId,
    CurrentJti,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
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
                    .table(RefreshFamilies::Table)
                    .col(
                        ColumnDef::new(RefreshFamilies::Family)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(RefreshFamilies::UserId).integer().not_null())
                    .col(
                        ColumnDef::new(RefreshFamilies::CurrentJti)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(RefreshFamilies::ExpiresAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(RefreshFamilies::Table, RefreshFamilies::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_refresh_families_user")
                    .table(RefreshFamilies::Table)
                    .col(RefreshFamilies::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RefreshFamilies::Table).to_owned())
            .await
    }
}
