//! Rules and queries of the users domain.

use entities::users::{database_engine, role};
use sea_orm::{EntityTrait, QueryOrder};

use super::types::{DatabaseEngine, Role};
use crate::{db::UsersDb, error::ServiceError};

/// Every role, in id order.
pub async fn roles(db: &UsersDb) -> Result<Vec<Role>, ServiceError> {
    role::Entity::find()
        .order_by_asc(role::Column::Id)
        .all(&**db)
        .await?
        .into_iter()
        .map(Role::try_from)
        .collect()
}

/// Every database engine, in id order.
pub async fn database_engines(db: &UsersDb) -> Result<Vec<DatabaseEngine>, ServiceError> {
    database_engine::Entity::find()
        .order_by_asc(database_engine::Column::Id)
        .all(&**db)
        .await?
        .into_iter()
        .map(DatabaseEngine::try_from)
        .collect()
}
