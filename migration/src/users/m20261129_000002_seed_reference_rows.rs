//! The roles and the database engines.

use sea_orm_migration::prelude::*;

use crate::common::{seed_names, unseed_names};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Roles {
    Table,
    Name,
}

#[derive(DeriveIden)]
enum DatabaseEngines {
    Table,
    Name,
}

const ROLES: [&str; 4] = ["STUDENT", "TEACHER", "ADMIN", "SUPPORT"];
const ENGINES: [&str; 2] = ["POSTGRESQL", "MARIADB"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        seed_names(manager, Roles::Table, Roles::Name, &ROLES).await?;
        seed_names(
            manager,
            DatabaseEngines::Table,
            DatabaseEngines::Name,
            &ENGINES,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        unseed_names(
            manager,
            DatabaseEngines::Table,
            DatabaseEngines::Name,
            &ENGINES,
        )
        .await?;
        unseed_names(manager, Roles::Table, Roles::Name, &ROLES).await
    }
}
