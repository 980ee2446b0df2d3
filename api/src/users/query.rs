//! Queries of the users domain.

use async_graphql::{Context, ID, Object, Result};
use migration::Domain;

use super::{
    authz, service, student_databases,
    types::{DatabaseEngine, Role, StudentDatabase, User, UserFilter, UsersByEmails},
};
use crate::{
    error::OrGraphql,
    graphql::pagination::{IdConnection, connection},
    state::AppState,
};

#[derive(Default)]
pub struct UsersQuery;

pub(crate) use crate::graphql::ids::parse_id;

#[Object]
impl UsersQuery {
    /// Every role a user can hold. Public reference data.
    async fn roles(&self, ctx: &Context<'_>) -> Result<Vec<Role>> {
        authz::authorize(ctx).await.or_graphql(Domain::Users)?;
        service::roles(&AppState::of(ctx).databases.users)
            .await
            .and_then(|rows| rows.into_iter().map(Role::try_from).collect())
            .or_graphql(Domain::Users)
    }

    /// The engines students can get databases on. Public reference data.
    async fn database_engines(&self, ctx: &Context<'_>) -> Result<Vec<DatabaseEngine>> {
        authz::authorize(ctx).await.or_graphql(Domain::Users)?;
        service::database_engines(&AppState::of(ctx).databases.users)
            .await
            .and_then(|rows| rows.into_iter().map(DatabaseEngine::try_from).collect())
            .or_graphql(Domain::Users)
    }

    /// The signed-in user.
    async fn me(&self, ctx: &Context<'_>) -> Result<User> {
        let viewer = authz::require(ctx).await.or_graphql(Domain::Users)?;
        Ok(User::own(viewer.user.clone()))
    }

    /// A user by id, or null. Signed-in users.
    async fn user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user's id.")] id: ID,
    ) -> Result<Option<User>> {
        authz::require(ctx).await.or_graphql(Domain::Users)?;
        let id = parse_id(&id, "id").or_graphql(Domain::Users)?;
        Ok(service::user(&AppState::of(ctx).databases.users, id)
            .await
            .or_graphql(Domain::Users)?
            .map(User::new))
    }

    /// Users by id, as a Relay connection. Signed-in users.
    #[graphql(
        complexity = "crate::graphql::budget::paged(first.unwrap_or(crate::graphql::pagination::DEFAULT_PAGE), 100) * child_complexity + 1"
    )]
    async fn users(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Narrow the list.")] filter: Option<UserFilter>,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page.")] after: Option<String>,
    ) -> Result<IdConnection<User>> {
        let viewer = authz::require(ctx).await.or_graphql(Domain::Users)?;
        let page = crate::graphql::pagination::page(first, after).or_graphql(Domain::Users)?;
        let filter = super::model::UserQuery::from(filter.unwrap_or_default());
        if let Some(role) = filter.role {
            let argument = if role == super::model::RoleName::Teacher {
                "filter.role: TEACHER"
            } else {
                "filter.role"
            };
            authz::require_argument(ctx, argument)
                .await
                .or_graphql(Domain::Users)?;
        }
        let in_emails = authz::searches_emails(&viewer);
        let (rows, total) = service::users_page(
            &AppState::of(ctx).databases.users,
            &filter,
            in_emails,
            &page,
        )
        .await
        .or_graphql(Domain::Users)?;
        Ok(connection(rows, &page, total, |u| u.id, User::new))
    }

    /// The users with these emails, and the emails that match none. Teachers, admin
    /// and support.
    async fn users_by_emails(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The emails to look up.")] emails: Vec<String>,
    ) -> Result<UsersByEmails> {
        authz::require(ctx).await.or_graphql(Domain::Users)?;
        let (found, not_found) =
            service::users_by_emails(&AppState::of(ctx).databases.users, &emails)
                .await
                .or_graphql(Domain::Users)?;
        Ok(UsersByEmails {
            found: found.into_iter().map(User::new).collect(),
            not_found,
        })
    }

    /// The signed-in user's databases on the student database servers, with live
    /// table counts.
    async fn my_student_databases(&self, ctx: &Context<'_>) -> Result<Vec<StudentDatabase>> {
        let viewer = authz::require(ctx).await.or_graphql(Domain::Users)?;
        let state = AppState::of(ctx);
        // Boxed, as the other student-database calls: their futures (connections to other
        // servers) are ~20 KB, and every field of Query would otherwise be that size.
        Box::pin(student_databases::list(
            &state.databases.users,
            &state.student_servers,
            viewer.id(),
        ))
        .await
        .map(|found| found.into_iter().map(StudentDatabase::from).collect())
        .or_graphql(Domain::Users)
    }
}
