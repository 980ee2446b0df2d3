//! The users database: users, roles, student databases.

mod m20261129_000001_create_tables;
mod m20261129_000002_seed_reference_rows;
mod m20261130_000003_refresh_families;
mod m20261130_000004_viewer_changes;

use sea_orm_migration::prelude::*;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261129_000001_create_tables::Migration),
            Box::new(m20261129_000002_seed_reference_rows::Migration),
            Box::new(m20261130_000003_refresh_families::Migration),
            Box::new(m20261130_000004_viewer_changes::Migration),
        ]
    }
}
