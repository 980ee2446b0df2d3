//! Rows of another database found through ids: the ids come from the request's loader
//! of one domain (often primed by the statement that read the parent), the rows from
//! the other domain's loader by id, so a user asked for as an owner and as a
//! collaborator in the same round costs one statement.

use std::{collections::HashMap, sync::Arc};

use async_graphql::{Context, dataloader::Loader};
use entities::users::user;

pub use crate::graphql::dangling::Linked;
use crate::{
    error::ServiceError,
    graphql::{batch::BatchLoader, loaders::FromDatabases},
    users::loaders::UserLoader,
};

/// The rows of `ids` in their order, shared from the request's loader `L` (no copy);
/// the ids that found no row are kept as missing (a dangling reference across
/// databases).
pub async fn by_ids<L, V>(
    ctx: &Context<'_>,
    domain: migration::Domain,
    ids: Vec<i32>,
) -> async_graphql::Result<Linked<Arc<V>>>
where
    L: Loader<i32, Value = V, Error = Arc<ServiceError>> + FromDatabases,
    BatchLoader<i32, L>: Send + Sync,
    V: Clone + Send + Sync + 'static,
{
    let loader = crate::graphql::loaders::of::<i32, L>(ctx)?;
    let rows: HashMap<i32, Arc<V>> = loader
        .load_many_shared(ids.clone())
        .await
        .map_err(|e| crate::error::shared_error(domain, e))?;
    Ok(linked(ids, &rows))
}

/// The users of `ids`, batched with every other user of the request's round.
pub async fn users(
    ctx: &Context<'_>,
    domain: migration::Domain,
    ids: Vec<i32>,
) -> async_graphql::Result<Linked<Arc<user::Model>>> {
    by_ids::<UserLoader, _>(ctx, domain, ids).await
}

fn linked<V: Clone>(ids: Vec<i32>, rows: &HashMap<i32, V>) -> Linked<V> {
    let mut linked = Linked::default();
    for id in ids {
        match rows.get(&id) {
            Some(row) => linked.found.push(row.clone()),
            None => linked.missing.push(id),
        }
    }
    linked
}
