//! Who is asking: the bearer token of the request (HTTP `Authorization` header, or the
//! WebSocket `connection_init` payload) resolved to a user and their roles. Resolved
//! lazily, once per request, from the in-process cache or the database; every change
//! to a user forgets them in the cache (see `cache`), so a promotion, a deactivation or
//! a sign-out takes effect on the very next request.

use std::sync::Arc;

use async_graphql::Context;
use entities::users::user;
use tokio::sync::OnceCell;

use super::{model::RoleName, service, tokens::TokenKind};

mod cache;

pub use self::cache::{CHANNEL, ViewerCache, listen, subscribe};
use crate::{error::ServiceError, state::AppState};

/// The raw bearer token a request came with, if any.
#[derive(Clone, Debug, Default)]
pub struct Credentials(pub Option<String>);

impl Credentials {
    /// From an `Authorization` header value: none, or `Bearer <token>` (the scheme in
    /// any case, RFC 9110); anything else is an error to answer 401 with.
    pub fn from_authorization(value: Option<&str>) -> Result<Self, String> {
        let Some(value) = value.map(str::trim) else {
            return Ok(Credentials(None));
        };
        let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
        let token = token.trim();
        if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
            return Err("the Authorization header must be `Bearer <access token>`".into());
        }
        Ok(Credentials(Some(token.to_owned())))
    }

    /// From a graphql-transport-ws `connection_init` payload: `{"Authorization":
    /// "Bearer …"}` (or `authorization`), or `{"authToken": "…"}`.
    pub fn from_init_payload(payload: &serde_json::Value) -> Result<Self, String> {
        let header = payload
            .get("Authorization")
            .or_else(|| payload.get("authorization"))
            .and_then(|v| v.as_str());
        match (
            Credentials::from_authorization(header),
            payload.get("authToken").and_then(|v| v.as_str()),
        ) {
            (Ok(Credentials(Some(token))), _) => Ok(Credentials(Some(token))),
            (Err(reason), _) => Err(reason),
            (_, Some(token)) if !token.is_empty() => Ok(Credentials(Some(token.to_owned()))),
            _ => Ok(Credentials(None)),
        }
    }
}

/// The signed-in user and the roles they hold now.
#[derive(Debug)]
pub struct Viewer {
    pub user: user::Model,
    pub roles: Vec<RoleName>,
}

impl Viewer {
    pub fn id(&self) -> i32 {
        self.user.id
    }

    pub fn has(&self, role: RoleName) -> bool {
        self.roles.contains(&role)
    }

    /// Admin or support staff.
    pub fn is_staff(&self) -> bool {
        self.has(RoleName::Admin) || self.has(RoleName::Support)
    }
}

/// Why a token was not accepted; cloneable so the per-request cache can hold it.
#[derive(Clone, Debug)]
enum Refusal {
    Unauthenticated(String),
    Internal(Arc<ServiceError>),
}

/// The per-request cache of the resolved viewer.
#[derive(Default)]
pub struct ViewerCell(OnceCell<Result<Option<Arc<Viewer>>, Refusal>>);

/// A viewer resolved before a request runs.
#[derive(Clone)]
pub struct Checked(Result<Option<Arc<Viewer>>, Refusal>);

impl Checked {
    /// Resolves `credentials` before anything runs: a token that is present but not
    /// valid (bad signature, expired, revoked, its user deactivated) is an error to
    /// answer 401 with, never a silent anonymous request.
    pub async fn resolve(state: &AppState, credentials: &Credentials) -> Result<Self, String> {
        let resolved = resolve(state, credentials).await;
        if let Err(Refusal::Unauthenticated(reason)) = &resolved {
            return Err(reason.clone());
        }
        Ok(Checked(resolved))
    }
}

impl Checked {
    /// The signed-in user's id, if one is.
    pub fn user_id(&self) -> Option<i32> {
        match &self.0 {
            Ok(Some(viewer)) => Some(viewer.id()),
            _ => None,
        }
    }
}

impl ViewerCell {
    /// A request's cache, already filled.
    pub fn filled(checked: &Checked) -> Self {
        ViewerCell(OnceCell::new_with(Some(checked.0.clone())))
    }
}

async fn resolve(
    state: &AppState,
    credentials: &Credentials,
) -> Result<Option<Arc<Viewer>>, Refusal> {
    let Some(token) = credentials.0.as_deref() else {
        return Ok(None);
    };
    let (user_id, version) = state
        .tokens
        .verify(token, TokenKind::Access)
        .map_err(|e| Refusal::Unauthenticated(e.to_string()))?;
    let start = match state.viewers.get(user_id, version) {
        Ok(cached) => return Ok(Some(cached)),
        Err(start) => start,
    };
    match service::load_viewer(&state.databases.users, user_id, version).await {
        Ok(viewer) => {
            let viewer = Arc::new(viewer);
            state.viewers.put(&viewer, start);
            Ok(Some(viewer))
        }
        Err(ServiceError::Unauthenticated(reason)) => Err(Refusal::Unauthenticated(reason)),
        Err(other) => Err(Refusal::Internal(Arc::new(other))),
    }
}

/// The viewer behind a bearer token outside GraphQL (file routes).
pub async fn from_credentials(
    state: &AppState,
    credentials: &Credentials,
) -> Result<Option<Arc<Viewer>>, ServiceError> {
    resolve(state, credentials).await.map_err(refused)
}

/// The viewer of this request, if it carries a token; an invalid token is an error.
pub async fn current(ctx: &Context<'_>) -> Result<Option<Arc<Viewer>>, ServiceError> {
    let state = AppState::of(ctx);
    let credentials = ctx.data_opt::<Credentials>().cloned().unwrap_or_default();
    // The lookup's future is boxed: every field that checks the viewer embeds this one,
    // and async-graphql allocates each field's future at the size of its type's largest.
    let result = match ctx.data_opt::<ViewerCell>() {
        Some(cell) => cell
            .0
            .get_or_init(|| Box::pin(resolve(state, &credentials)))
            .await
            .clone(),
        // WebSocket operations share one connection: resolve afresh each time.
        None => Box::pin(resolve(state, &credentials)).await,
    };
    result.map_err(refused)
}

/// The error a refused lookup answers: UNAUTHENTICATED for the token, UNAVAILABLE when
/// the users database cannot be reached, else internal.
fn refused(refusal: Refusal) -> ServiceError {
    match refusal {
        Refusal::Unauthenticated(reason) => ServiceError::Unauthenticated(reason),
        Refusal::Internal(error) => match error.as_ref() {
            ServiceError::Unavailable(reason) => ServiceError::Unavailable(reason.clone()),
            _ => ServiceError::internal(error),
        },
    }
}

/// The viewer, or `UNAUTHENTICATED`.
pub async fn require(ctx: &Context<'_>) -> Result<Arc<Viewer>, ServiceError> {
    current(ctx)
        .await?
        .ok_or_else(|| ServiceError::Unauthenticated("sign in first".into()))
}
