//! Closed sets of values stored as short strings.

use sea_orm::entity::prelude::*;

/// The state of a job, and of the deployment it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum JobStatus {
    #[sea_orm(string_value = "PENDING")]
    Pending,
    #[sea_orm(string_value = "RUNNING")]
    Running,
    #[sea_orm(string_value = "SUCCEEDED")]
    Succeeded,
    #[sea_orm(string_value = "FAILED")]
    Failed,
    #[sea_orm(string_value = "CANCELLED")]
    Cancelled,
}

/// What a job does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum JobKind {
    /// Fetch, build, start and route a project.
    #[sea_orm(string_value = "DEPLOY")]
    Deploy,
    /// Start the last successful build again (no fetch, no build).
    #[sea_orm(string_value = "START")]
    Start,
}

/// Which log a deployment's output line belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum LogKind {
    #[sea_orm(string_value = "BUILD")]
    Build,
    #[sea_orm(string_value = "RUNTIME")]
    Runtime,
}
