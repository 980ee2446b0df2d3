//! DataLoaders for fields that point into the users database: one `WHERE … IN (…)` per
//! field per request, never a query per row.

use std::{collections::HashMap, sync::Arc};

use async_graphql::{Context, dataloader::Loader};
use entities::users::{role, user, user_role};
use migration::Domain;
use sea_orm::{EntityTrait, QueryFilter};

use super::model::RoleName;
use crate::{db::UsersDb, error::ServiceError};

/// Users by id.
pub struct UserLoader(pub UsersDb);

impl Loader<i32> for UserLoader {
    type Value = user::Model;
    type Error = Arc<ServiceError>;

    async fn load(&self, ids: &[i32]) -> Result<HashMap<i32, user::Model>, Self::Error> {
        super::service::existing_ids(&self.0, ids)
            .await
            .map_err(Arc::new)
    }
}

/// The role names each user holds, by user id.
pub struct RolesLoader(pub UsersDb);

impl Loader<i32> for RolesLoader {
    type Value = Vec<RoleName>;
    type Error = Arc<ServiceError>;

    async fn load(&self, ids: &[i32]) -> Result<HashMap<i32, Vec<RoleName>>, Self::Error> {
        let pairs = user_role::Entity::find()
            .find_also_related(role::Entity)
            .filter(
                self.0
                    .any_of(user_role::Column::UserId, ids.iter().copied()),
            )
            .all(&*self.0)
            .await
            .map_err(|e| Arc::new(ServiceError::from(e)))?;
        let mut roles: HashMap<i32, Vec<RoleName>> =
            ids.iter().map(|id| (*id, Vec::new())).collect();
        for (pair, role) in pairs {
            let role = role.ok_or_else(|| {
                Arc::new(ServiceError::Corrupt(format!(
                    "role {} is missing",
                    pair.role_id
                )))
            })?;
            let name = RoleName::from_db(&role.name).map_err(Arc::new)?;
            roles.entry(pair.user_id).or_default().push(name);
        }
        for names in roles.values_mut() {
            names.sort_by_key(|n| n.as_db());
        }
        Ok(roles)
    }
}

fn loader_error(error: Arc<ServiceError>) -> async_graphql::Error {
    crate::error::shared_error(Domain::Users, error)
}

/// The roles of one user, batched with every other `roles` field of the request.
pub async fn roles_of(
    ctx: &Context<'_>,
    user_id: i32,
) -> async_graphql::Result<Vec<super::types::RoleName>> {
    let loader = crate::graphql::loaders::of::<i32, RolesLoader>(ctx)?;
    Ok(loader
        .load_one(user_id)
        .await
        .map_err(loader_error)?
        .unwrap_or_default()
        .into_iter()
        .map(Into::into)
        .collect())
}

/// A user another row points to (an owner, an author, a teacher): null with a
/// `NOT_FOUND` error entry when the id finds no user.
pub async fn linked_user(
    ctx: &Context<'_>,
    user_id: i32,
) -> async_graphql::Result<Option<Arc<user::Model>>> {
    let loader = crate::graphql::loaders::of::<i32, UserLoader>(ctx)?;
    let found = loader
        .load_one_shared(user_id)
        .await
        .map_err(loader_error)?;
    crate::graphql::dangling::one("user", user_id, found)
}
