//! Fair turns: the claim counts each person's running deployments
//! (`deployments.triggered_by`, `status`), and the cap counts their active ones.

use sea_orm_migration::prelude::*;

use crate::common::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Deployments {
    Table,
    TriggeredBy,
    Status,
}

const NAME: &str = "idx_deployments_triggered_by_status";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        index(
            manager,
            Deployments::Table,
            NAME,
            [Deployments::TriggeredBy, Deployments::Status],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(NAME)
                    .table(Deployments::Table)
                    .to_owned(),
            )
            .await
    }
}
