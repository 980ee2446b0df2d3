//! A durable unit of background work (a deploy), claimed by one worker under a lease.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub uuid: Uuid,
    pub kind: super::enums::JobKind,
    pub payload: Json,
    pub status: super::enums::JobStatus,
    /// 0 to 100.
    pub progress: i32,
    #[sea_orm(column_type = "Text")]
    pub message: String,
    pub attempts: i32,
    /// The server replica that holds the job while it runs.
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<DateTimeUtc>,
    /// Fencing token: grows on every claim; a write carrying an older one is refused.
    pub lease_token: i64,
    /// When a worker first claimed it.
    pub started_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
