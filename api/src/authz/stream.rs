//! A stream's authorization, held for as long as it is open. A subscription checked its
//! caller once, when it started; this re-checks before every update it sends and on a
//! short tick while it is quiet: the token must still be valid (it ends when the token
//! expires), its user active at the token's version (signing out or deactivation ends
//! it), and, for a stream that shows members' data, the user still a member of the
//! project. A refused check ends the stream with one error (`UNAUTHENTICATED` or
//! `FORBIDDEN`) and nothing after it.

use std::time::Duration;

use async_graphql::Context;
use migration::Domain;
use sea_orm::EntityTrait;

use crate::{
    error::ServiceError,
    projects::service as projects,
    state::AppState,
    users::{
        tokens::TokenKind,
        viewer::{self, Credentials},
    },
};

/// How often a quiet stream re-checks its caller.
pub const TICK: Duration = Duration::from_secs(2);

/// When the access token in `credentials` expires: a second past its `exp` (whole
/// seconds), on the runtime's clock; `None` without a valid token.
pub fn expiry(state: &AppState, credentials: &Credentials) -> Option<tokio::time::Instant> {
    let token = credentials.0.as_deref()?;
    let exp = state.tokens.expires_at(token, TokenKind::Access).ok()?;
    let left = i64::try_from(exp).ok()? - chrono::Utc::now().timestamp();
    let left = u64::try_from(left).unwrap_or(0) + 1;
    Some(tokio::time::Instant::now() + Duration::from_secs(left))
}

pub struct StreamGuard {
    state: AppState,
    credentials: Credentials,
    /// When the token expires.
    expires: Option<tokio::time::Instant>,
    /// The project whose membership the stream needs, if it shows members' data.
    members_of: Option<i32>,
}

impl StreamGuard {
    /// The guard of the subscription `ctx` resolves (its caller already admitted).
    pub fn new(ctx: &Context<'_>, members_of: Option<i32>) -> Self {
        let state = AppState::of(ctx).clone();
        let credentials = ctx.data_opt::<Credentials>().cloned().unwrap_or_default();
        let expires = expiry(&state, &credentials);
        Self {
            state,
            credentials,
            expires,
            members_of,
        }
    }

    /// The expiry fired: later checks (on the tick) catch a token that the clock's
    /// rounding let through for a moment more.
    pub fn expiry_seen(&mut self) {
        self.expires = None;
    }

    /// Resolves when the token expires (never without one).
    pub async fn expired(&self) {
        match self.expires {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    }

    /// Whether the caller may still receive the stream; the error to end it with if not.
    pub async fn check(&self) -> Result<(), async_graphql::Error> {
        self.refusal()
            .await
            .map_err(|e| e.into_graphql(Domain::Projects))
    }

    async fn refusal(&self) -> Result<(), ServiceError> {
        let viewer = viewer::from_credentials(&self.state, &self.credentials)
            .await?
            .ok_or_else(|| ServiceError::Unauthenticated("sign in first".into()))?;
        let Some(project_id) = self.members_of else {
            return Ok(());
        };
        let db = &self.state.databases.projects;
        let project = entities::projects::project::Entity::find_by_id(project_id)
            .one(&**db)
            .await?
            .ok_or(ServiceError::NotFound("project"))?;
        if projects::access(&**db, &viewer, &project)
            .await?
            .can_write()
        {
            Ok(())
        } else {
            Err(ServiceError::forbidden(
                "no longer a member of the project: its logs stop here",
            ))
        }
    }
}
