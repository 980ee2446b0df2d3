//! Mutations of the users domain.

use async_graphql::{Context, ID, Object, Result};
use migration::Domain;

use super::{
    authz,
    query::parse_id,
    service, student_databases,
    types::{
        AuthPayload, DatabaseEngineName, PromotionResult, RoleName, StudentDatabase,
        UpdateProfileInput, User,
    },
};
use crate::{
    error::{OrGraphql, ServiceError},
    state::AppState,
};

#[derive(Default)]
pub struct UsersMutation;

fn payload(user: entities::users::user::Model, pair: super::tokens::TokenPair) -> AuthPayload {
    AuthPayload {
        access_token: pair.access_token,
        refresh_token: pair.refresh_token,
        expires_in: pair.expires_in,
        user: User::own(user),
    }
}

#[Object]
impl UsersMutation {
    /// Signs in with a Google ID token; the first sign-in creates the user as a STUDENT.
    async fn sign_in_with_google(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "A Google ID token (a JWT from Google Sign-In) for this app's client id."
        )]
        id_token: String,
    ) -> Result<AuthPayload> {
        authz::authorize(ctx).await.or_graphql(Domain::Users)?;
        let state = AppState::of(ctx);
        let identity = state.google.verify(&id_token).await.map_err(|e| match e {
            super::google::GoogleError::KeysUnavailable(_) => ServiceError::internal(e),
            other => ServiceError::Unauthenticated(other.to_string()),
        });
        let user = service::sign_in_with_google(
            &state.databases.users,
            identity.or_graphql(Domain::Users)?,
        )
        .await
        .or_graphql(Domain::Users)?;
        state.viewers.forget(user.id);
        let pair = service::issue_pair(&state.databases.users, &state.tokens, &user)
            .await
            .or_graphql(Domain::Users)?;
        Ok(payload(user, pair))
    }

    /// Trades a refresh token for a new access and refresh token.
    async fn refresh_token(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The refresh token of the pair to renew.")] refresh_token: String,
    ) -> Result<AuthPayload> {
        authz::authorize(ctx).await.or_graphql(Domain::Users)?;
        let state = AppState::of(ctx);
        let refreshed =
            service::refresh(&state.databases.users, &state.tokens, &refresh_token).await;
        if refreshed.is_err()
            && let Ok(claims) = state.tokens.verify_refresh(&refresh_token)
        {
            // A replayed token ended every session of its user.
            state.viewers.forget(claims.user_id);
        }
        let (user, pair) = refreshed.or_graphql(Domain::Users)?;
        Ok(payload(user, pair))
    }

    /// Signs out everywhere: every token of the viewer stops working.
    async fn sign_out(&self, ctx: &Context<'_>) -> Result<bool> {
        let viewer = authz::require(ctx).await.or_graphql(Domain::Users)?;
        let state = AppState::of(ctx);
        let signed_out = service::sign_out(&state.databases.users, viewer.id()).await;
        state.viewers.forget(viewer.id());
        signed_out.or_graphql(Domain::Users)?;
        Ok(true)
    }

    /// Changes the viewer's own names or picture.
    async fn update_my_profile(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The fields to change; omitted ones stay.")] input: UpdateProfileInput,
    ) -> Result<User> {
        let viewer = authz::require(ctx).await.or_graphql(Domain::Users)?;
        let state = AppState::of(ctx);
        let user = service::update_profile(&state.databases.users, viewer.id(), input.into())
            .await
            .or_graphql(Domain::Users)?;
        state.viewers.forget(user.id);
        Ok(User::own(user))
    }

    /// Gives the TEACHER role to the users with these emails. Admin and support.
    async fn promote_to_teacher(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Emails of the users to promote.")] emails: Vec<String>,
    ) -> Result<PromotionResult> {
        authz::require(ctx).await.or_graphql(Domain::Users)?;
        let state = AppState::of(ctx);
        let (promoted, unknown_emails) =
            service::promote_to_teacher(&state.databases.users, &emails)
                .await
                .or_graphql(Domain::Users)?;
        for user in &promoted {
            state.viewers.forget(user.id);
        }
        Ok(PromotionResult {
            promoted: promoted.into_iter().map(User::new).collect(),
            unknown_emails,
        })
    }

    /// Gives a user a role. Admin.
    async fn grant_role(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user to grant the role to.")] user_id: ID,
        #[graphql(desc = "The role to grant.")] role: RoleName,
    ) -> Result<User> {
        authz::require(ctx).await.or_graphql(Domain::Users)?;
        let user_id = parse_id(&user_id, "userId").or_graphql(Domain::Users)?;
        let state = AppState::of(ctx);
        let user = service::grant_role(&state.databases.users, user_id, role.into())
            .await
            .or_graphql(Domain::Users)?;
        state.viewers.forget(user_id);
        Ok(User::new(user))
    }

    /// Takes a role from a user; the last admin keeps ADMIN. Admin.
    async fn revoke_role(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user to take the role from.")] user_id: ID,
        #[graphql(desc = "The role to take away.")] role: RoleName,
    ) -> Result<User> {
        authz::require(ctx).await.or_graphql(Domain::Users)?;
        let user_id = parse_id(&user_id, "userId").or_graphql(Domain::Users)?;
        let state = AppState::of(ctx);
        let user = service::revoke_role(&state.databases.users, user_id, role.into())
            .await
            .or_graphql(Domain::Users)?;
        state.viewers.forget(user_id);
        Ok(User::new(user))
    }

    /// Activates or deactivates a user; a deactivated user's tokens stop at once. Admin.
    async fn set_user_active(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user to activate or deactivate.")] user_id: ID,
        #[graphql(desc = "true to let them sign in again, false to end their sessions at once.")]
        active: bool,
    ) -> Result<User> {
        let viewer = authz::require(ctx).await.or_graphql(Domain::Users)?;
        let user_id = parse_id(&user_id, "userId").or_graphql(Domain::Users)?;
        let state = AppState::of(ctx);
        let user = service::set_user_active(&state.databases.users, &viewer, user_id, active)
            .await
            .or_graphql(Domain::Users)?;
        state.viewers.forget(user_id);
        Ok(User::new(user))
    }

    /// Creates the viewer's login on every student database server; answers the login.
    async fn create_database_account(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "8 to 64 printable ASCII characters with a lower-case letter, an upper-case letter and a digit; no quotes, backslashes or spaces."
        )]
        password: String,
    ) -> Result<String> {
        let viewer = authz::require(ctx).await.or_graphql(Domain::Users)?;
        let state = AppState::of(ctx);
        let login = Box::pin(student_databases::create_account(
            &state.databases.users,
            &state.student_servers,
            &viewer.user,
            &password,
        ))
        .await;
        // The viewer's row now says they have an account.
        state.viewers.forget(viewer.id());
        login.or_graphql(Domain::Users)
    }

    /// Creates a database for the viewer's login. Name: 3 to 63 of `[a-z0-9_]`,
    /// starting with a letter, unique across engines.
    async fn create_student_database(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The database's name: 3 to 63 of `a-z`, `0-9` and `_`, starting with a letter."
        )]
        name: String,
        #[graphql(desc = "The server to create it on.")] engine: DatabaseEngineName,
    ) -> Result<StudentDatabase> {
        let viewer = authz::require(ctx).await.or_graphql(Domain::Users)?;
        let state = AppState::of(ctx);
        Box::pin(student_databases::create_database(
            &state.databases.users,
            &state.student_servers,
            &viewer.user,
            &name,
            engine.into(),
        ))
        .await
        .map(StudentDatabase::from)
        .or_graphql(Domain::Users)
    }

    /// Drops one of the viewer's databases. Its owner only.
    async fn delete_student_database(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The database to drop.")] id: ID,
    ) -> Result<bool> {
        let viewer = authz::require(ctx).await.or_graphql(Domain::Users)?;
        let id = parse_id(&id, "id").or_graphql(Domain::Users)?;
        let state = AppState::of(ctx);
        Box::pin(student_databases::delete(
            &state.databases.users,
            &state.student_servers,
            viewer.id(),
            id,
        ))
        .await
        .or_graphql(Domain::Users)?;
        Ok(true)
    }
}
