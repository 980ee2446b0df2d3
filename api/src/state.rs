//! The one cheap-to-clone state every handler and resolver reads.

use std::sync::Arc;

use crate::{
    config::Config,
    db::Databases,
    projects::crypto::Cipher,
    users::{
        google::GoogleVerifier, student_databases::StudentServers, tokens::Tokens,
        viewer::ViewerCache,
    },
};

/// One pointer: handlers, layers and resolvers clone it on every request, so a clone
/// is one reference count, not a copy of every part (the cipher's key schedules alone
/// are half a kilobyte).
#[derive(Clone)]
pub struct AppState(Arc<Parts>);

/// What [`AppState`] points at.
pub struct Parts {
    pub config: Arc<Config>,
    /// How full the main listener is (`/readyz`).
    pub occupancy: Arc<crate::http::server::Occupancy>,
    pub databases: Databases,
    /// Signs and verifies our access and refresh tokens.
    pub tokens: Tokens,
    /// Who each token belongs to, kept between requests until that user changes.
    pub viewers: Arc<ViewerCache>,
    /// Verifies Google ID tokens (key set cached).
    pub google: Arc<GoogleVerifier>,
    /// Where student databases are provisioned.
    pub student_servers: Arc<StudentServers>,
    /// Encrypts environment variables at rest.
    pub cipher: Cipher,
    /// The deploy engine: queue, workers, running apps and their routes.
    pub deploy: deploy::Engine,
    /// Cancelled when the gateway starts shutting down: `/readyz` answers 503 and open
    /// subscriptions are closed with a close frame.
    pub shutdown: tokio_util::sync::CancellationToken,
}

impl std::ops::Deref for AppState {
    type Target = Parts;

    fn deref(&self) -> &Parts {
        &self.0
    }
}

impl AppState {
    pub fn new(parts: Parts) -> Self {
        Self(Arc::new(parts))
    }

    /// The state from a resolver's context.
    pub fn of<'a>(ctx: &async_graphql::Context<'a>) -> &'a AppState {
        // Infallible: `graphql::schema` always puts the state into the schema's data.
        ctx.data_unchecked::<AppState>()
    }
}
