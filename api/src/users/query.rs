//! Queries of the users domain.

use async_graphql::{Context, Object, Result};
use migration::Domain;

use super::{
    service,
    types::{DatabaseEngine, Role},
};
use crate::{error::OrGraphql, state::AppState};

#[derive(Default)]
pub struct UsersQuery;

#[Object]
impl UsersQuery {
    /// Every role a user can hold. Public reference data.
    async fn roles(&self, ctx: &Context<'_>) -> Result<Vec<Role>> {
        service::roles(&AppState::of(ctx).databases.users)
            .await
            .or_graphql(Domain::Users)
    }

    /// The engines students can get databases on. Public reference data.
    async fn database_engines(&self, ctx: &Context<'_>) -> Result<Vec<DatabaseEngine>> {
        service::database_engines(&AppState::of(ctx).databases.users)
            .await
            .or_graphql(Domain::Users)
    }
}
