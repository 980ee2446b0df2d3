//! Where each project's app runs now, on the project itself: the deployment whose
//! instance serves (its endpoint, process and replica are on that deployment), the build
//! folder it serves from, and its address. `running` stays what should run; together
//! they are the one record every replica routes by and reconciles to.

use sea_orm_migration::prelude::*;

use crate::common::{add_columns, drop_columns};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(Clone, Copy, DeriveIden)]
enum Projects {
    Table,
    ServingDeploymentId,
    ServingFolder,
    ServingEndpoint,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_columns(
            manager,
            Projects::Table,
            vec![
                ColumnDef::new(Projects::ServingDeploymentId)
                    .integer()
                    .null()
                    .to_owned(),
                ColumnDef::new(Projects::ServingFolder)
                    .integer()
                    .null()
                    .to_owned(),
                ColumnDef::new(Projects::ServingEndpoint)
                    .string_len(64)
                    .null()
                    .to_owned(),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_columns(
            manager,
            Projects::Table,
            vec![
                Projects::ServingEndpoint,
                Projects::ServingFolder,
                Projects::ServingDeploymentId,
            ],
        )
        .await
    }
}
