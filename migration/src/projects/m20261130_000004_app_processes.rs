//! A routed app's processes are recorded on its deployment (process group, cgroup,
//! replica), so a replica started after a crash can find and stop what a dead one left.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
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
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        for column in [
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
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Deployments::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            Deployments::Replica,
            Deployments::Cgroup,
            Deployments::ProcessGroup,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Deployments::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
