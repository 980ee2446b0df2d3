//! A routed app's processes are recorded on its deployment (process group, cgroup,
//! replica), so a replica started after a crash can find and stop what a dead one left.

use sea_orm_migration::prelude::*;

use crate::common::{add_columns, drop_columns};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(Clone, Copy, DeriveIden)]
enum Deployments {
    Table,
    ProcessGroup,
    Cgroup,
    Replica,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_columns(
            manager,
            Deployments::Table,
            vec![
                ColumnDef::new(Deployments::ProcessGroup)
                    .integer()
                    .null()
                    .to_owned(),
                ColumnDef::new(Deployments::Cgroup)
                    .string_len(64)
                    .null()
                    .to_owned(),
                ColumnDef::new(Deployments::Replica)
                    .string_len(128)
                    .null()
                    .to_owned(),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_columns(
            manager,
            Deployments::Table,
            vec![
                Deployments::Replica,
                Deployments::Cgroup,
                Deployments::ProcessGroup,
            ],
        )
        .await
    }
}
