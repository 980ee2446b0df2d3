//! The one cheap-to-clone state every handler and resolver reads.

use std::sync::Arc;

use crate::{config::Config, db::Databases};

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub databases: Databases,
}

impl AppState {
    /// The state from a resolver's context.
    pub fn of<'a>(ctx: &async_graphql::Context<'a>) -> &'a AppState {
        // Infallible: `graphql::schema` always puts the state into the schema's data.
        ctx.data_unchecked::<AppState>()
    }
}
