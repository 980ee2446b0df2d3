//! Queries of the academic domain.

use async_graphql::{Context, ID, Object, Result};
use migration::Domain;

use super::{
    authz,
    model::CourseQuery,
    service,
    types::{Course, CourseFilter, Enrollment, Subject},
};
use crate::{
    error::OrGraphql,
    graphql::pagination::{IdConnection, connection},
    state::AppState,
};

#[derive(Default)]
pub struct AcademicQuery;

#[Object]
impl AcademicQuery {
    /// Subjects by id, as a Relay connection. Readable by anyone.
    #[graphql(
        complexity = "crate::graphql::budget::paged(first.unwrap_or(crate::graphql::pagination::DEFAULT_PAGE), 100) * child_complexity + 1"
    )]
    async fn subjects(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Case-insensitive text in the code or name.")] search: Option<String>,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page.")] after: Option<String>,
    ) -> Result<IdConnection<Subject>> {
        authz::authorize(ctx).await.or_graphql(Domain::Academic)?;
        let page = crate::graphql::pagination::page(first, after).or_graphql(Domain::Academic)?;
        let (rows, total) = service::subjects_page(
            &AppState::of(ctx).databases.academic,
            search.as_deref(),
            &page,
        )
        .await
        .or_graphql(Domain::Academic)?;
        Ok(connection(rows, &page, total, |s| s.id, Subject::from))
    }

    /// A subject by id, or null. Readable by anyone.
    async fn subject(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The subject's id.")] id: ID,
    ) -> Result<Option<Subject>> {
        authz::authorize(ctx).await.or_graphql(Domain::Academic)?;
        let id = crate::graphql::ids::parse_id(&id, "id").or_graphql(Domain::Academic)?;
        let found = service::subject(&AppState::of(ctx).databases.academic, id)
            .await
            .or_graphql(Domain::Academic)?;
        Ok(found.map(Subject::from))
    }

    /// The subject with this code, or null. Readable by anyone.
    async fn subject_by_code(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The subject's unique code (1 to 10 characters).")] code: String,
    ) -> Result<Option<Subject>> {
        authz::authorize(ctx).await.or_graphql(Domain::Academic)?;
        let found = service::subject_by_code(&AppState::of(ctx).databases.academic, &code)
            .await
            .or_graphql(Domain::Academic)?;
        Ok(found.map(Subject::from))
    }

    /// Courses by id, as a Relay connection. Signed-in users.
    #[graphql(
        complexity = "crate::graphql::budget::paged(first.unwrap_or(crate::graphql::pagination::DEFAULT_PAGE), 100) * child_complexity + 1"
    )]
    async fn courses(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Narrow the list.")] filter: Option<CourseFilter>,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page.")] after: Option<String>,
    ) -> Result<IdConnection<Course>> {
        authz::require(ctx).await.or_graphql(Domain::Academic)?;
        let page = crate::graphql::pagination::page(first, after).or_graphql(Domain::Academic)?;
        let filter =
            CourseQuery::try_from(filter.unwrap_or_default()).or_graphql(Domain::Academic)?;
        let (rows, total) =
            service::courses_page(&AppState::of(ctx).databases.academic, &filter, &page)
                .await
                .or_graphql(Domain::Academic)?;
        Ok(connection(rows, &page, total, |(c, _)| c.id, Course::from))
    }

    /// A course by id, or null. Signed-in users.
    async fn course(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The course's id.")] id: ID,
    ) -> Result<Option<Course>> {
        authz::require(ctx).await.or_graphql(Domain::Academic)?;
        let id = crate::graphql::ids::parse_id(&id, "id").or_graphql(Domain::Academic)?;
        let found = service::course(&AppState::of(ctx).databases.academic, id)
            .await
            .or_graphql(Domain::Academic)?;
        Ok(found.map(Course::from))
    }

    /// The courses the signed-in teacher teaches, newest term first.
    async fn my_courses(&self, ctx: &Context<'_>) -> Result<Vec<Course>> {
        let viewer = authz::require(ctx).await.or_graphql(Domain::Academic)?;
        let rows = service::courses_taught_by(&AppState::of(ctx).databases.academic, viewer.id())
            .await
            .or_graphql(Domain::Academic)?;
        Ok(rows.into_iter().map(Course::from).collect())
    }

    /// The signed-in user's enrolments.
    async fn my_enrollments(&self, ctx: &Context<'_>) -> Result<Vec<Enrollment>> {
        let viewer = authz::require(ctx).await.or_graphql(Domain::Academic)?;
        let rows = service::enrollments_of(&AppState::of(ctx).databases.academic, viewer.id())
            .await
            .or_graphql(Domain::Academic)?;
        Ok(rows.into_iter().map(Enrollment).collect())
    }
}
