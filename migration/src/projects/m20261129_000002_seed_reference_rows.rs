//! Stage statuses, tag types and the initial tags.

use sea_orm_migration::prelude::*;

use crate::common::{seed_names, unseed_names};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum StageStatuses {
    Table,
    Name,
}

#[derive(DeriveIden)]
enum TagTypes {
    Table,
    Id,
    Name,
}

#[derive(DeriveIden)]
enum Tags {
    Table,
    Name,
    TypeId,
}

const STAGE_STATUSES: [&str; 4] = ["NOT_STARTED", "IN_PROGRESS", "IN_REVIEW", "COMPLETED"];
const TAG_TYPES: [&str; 2] = ["AREA", "PROGRAMMING"];
const TAGS: [(&str, &[&str]); 2] = [
    (
        "PROGRAMMING",
        &["JavaScript", "Python", "Java", "C#", "PHP", "C++", "Ruby"],
    ),
    (
        "AREA",
        &[
            "Data Science",
            "Machine Learning",
            "Artificial Intelligence",
            "Web Programming",
        ],
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        seed_names(
            manager,
            StageStatuses::Table,
            StageStatuses::Name,
            &STAGE_STATUSES,
        )
        .await?;
        seed_names(manager, TagTypes::Table, TagTypes::Name, &TAG_TYPES).await?;
        for (tag_type, names) in TAGS {
            for name in names {
                let type_id = Query::select()
                    .expr(Expr::val(*name))
                    .column(TagTypes::Id)
                    .from(TagTypes::Table)
                    .and_where(Expr::col(TagTypes::Name).eq(tag_type))
                    .to_owned();
                let insert = Query::insert()
                    .into_table(Tags::Table)
                    .columns([Tags::Name, Tags::TypeId])
                    .select_from(type_id)
                    .map_err(|e| DbErr::Migration(e.to_string()))?
                    .to_owned();
                manager.exec_stmt(insert).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let names: Vec<&str> = TAGS
            .iter()
            .flat_map(|(_, names)| names.iter().copied())
            .collect();
        unseed_names(manager, Tags::Table, Tags::Name, &names).await?;
        unseed_names(manager, TagTypes::Table, TagTypes::Name, &TAG_TYPES).await?;
        unseed_names(
            manager,
            StageStatuses::Table,
            StageStatuses::Name,
            &STAGE_STATUSES,
        )
        .await
    }
}
