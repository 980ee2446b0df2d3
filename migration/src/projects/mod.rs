//! The projects database: projects and everything hanging off them, jobs, deployments.

mod m20261129_000001_create_tables;
mod m20261129_000002_seed_reference_rows;
mod m20261130_000003_job_leases;
mod m20261130_000004_app_processes;
mod m20261204_000005_placement;
mod m20261204_000006_turns;

use sea_orm_migration::prelude::*;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261129_000001_create_tables::Migration),
            Box::new(m20261129_000002_seed_reference_rows::Migration),
            Box::new(m20261130_000003_job_leases::Migration),
            Box::new(m20261130_000004_app_processes::Migration),
            Box::new(m20261204_000005_placement::Migration),
            Box::new(m20261204_000006_turns::Migration),
        ]
    }
}
