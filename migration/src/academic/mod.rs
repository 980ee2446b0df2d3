//! The academic database: subjects, courses, enrolments.

mod m20261129_000001_create_tables;

use sea_orm_migration::prelude::*;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(m20261129_000001_create_tables::Migration)]
    }
}
