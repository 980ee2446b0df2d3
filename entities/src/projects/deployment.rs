//! One deploy of a project, run by a job.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deployments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub project_id: i32,
    /// A user id in the users database.
    pub triggered_by: i32,
    pub job_id: i32,
    pub status: super::enums::JobStatus,
    pub successful: bool,
    /// Short hash of the deployed commit, once fetched.
    pub commit: Option<String>,
    /// Where the running app listens, once started.
    pub endpoint: Option<String>,
    /// The routed app's process group (its session leader's pid), for crash recovery.
    pub process_group: Option<i32>,
    /// The routed app's cgroup name, where cgroups are used.
    pub cgroup: Option<String>,
    /// The replica that started the app (`host-pid-suffix`).
    pub replica: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "project_id", to = "id")]
    pub project: BelongsTo<super::project::Entity>,
    #[sea_orm(belongs_to, from = "job_id", to = "id")]
    pub job: BelongsTo<super::job::Entity>,
    #[sea_orm(has_many)]
    pub logs: HasMany<super::deployment_log::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
