//! Mutations of the academic domain.

use async_graphql::{Context, ID, Object, Result};
use migration::Domain;

use super::{
    authz, service,
    types::{
        Course, CourseInput, EnrollmentResult, Subject, SubjectInput, UpdateCourseInput,
        UpdateSubjectInput,
    },
};
use crate::{error::OrGraphql, state::AppState};

#[derive(Default)]
pub struct AcademicMutation;

#[Object]
impl AcademicMutation {
    /// Creates subjects in bulk: all or nothing; duplicate codes are named. Admin and
    /// support.
    async fn create_subjects(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The subjects to create.")] subjects: Vec<SubjectInput>,
    ) -> Result<Vec<Subject>> {
        authz::require(ctx).await.or_graphql(Domain::Academic)?;
        let created = service::create_subjects(
            &AppState::of(ctx).databases.academic,
            subjects.into_iter().map(Into::into).collect(),
        )
        .await
        .or_graphql(Domain::Academic)?;
        Ok(created.into_iter().map(Subject::from).collect())
    }

    /// Changes a subject's code or name. Admin and support.
    async fn update_subject(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The subject to change.")] id: ID,
        #[graphql(desc = "The fields to change; omitted ones stay.")] input: UpdateSubjectInput,
    ) -> Result<Subject> {
        authz::require(ctx).await.or_graphql(Domain::Academic)?;
        let id = crate::graphql::ids::parse_id(&id, "id").or_graphql(Domain::Academic)?;
        let updated =
            service::update_subject(&AppState::of(ctx).databases.academic, id, input.into())
                .await
                .or_graphql(Domain::Academic)?;
        Ok(Subject::from(updated))
    }

    /// Deletes a subject; refused with CONFLICT while courses use it. Admin and support.
    async fn delete_subject(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The subject to delete.")] id: ID,
    ) -> Result<bool> {
        authz::require(ctx).await.or_graphql(Domain::Academic)?;
        let id = crate::graphql::ids::parse_id(&id, "id").or_graphql(Domain::Academic)?;
        service::delete_subject(&AppState::of(ctx).databases.academic, id)
            .await
            .or_graphql(Domain::Academic)?;
        Ok(true)
    }

    /// Creates courses in bulk by subject code: all or nothing. Year and period default
    /// to the current term (period 1 before June, else 2). Admin and support.
    async fn create_courses(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The courses to create.")] courses: Vec<CourseInput>,
    ) -> Result<Vec<Course>> {
        authz::require(ctx).await.or_graphql(Domain::Academic)?;
        let dbs = &AppState::of(ctx).databases;
        let created = service::create_courses(
            &dbs.academic,
            &dbs.users,
            courses
                .into_iter()
                .map(TryInto::try_into)
                .collect::<Result<_, _>>()
                .or_graphql(Domain::Academic)?,
        )
        .await
        .or_graphql(Domain::Academic)?;
        Ok(created.into_iter().map(Course::from).collect())
    }

    /// Changes a course's teacher, group, year or period. Admin and support.
    async fn update_course(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The course to change.")] id: ID,
        #[graphql(desc = "The fields to change; omitted ones stay.")] input: UpdateCourseInput,
    ) -> Result<Course> {
        authz::require(ctx).await.or_graphql(Domain::Academic)?;
        let id = crate::graphql::ids::parse_id(&id, "id").or_graphql(Domain::Academic)?;
        let dbs = &AppState::of(ctx).databases;
        let updated = service::update_course(
            &dbs.academic,
            &dbs.users,
            id,
            input.try_into().or_graphql(Domain::Academic)?,
        )
        .await
        .or_graphql(Domain::Academic)?;
        Ok(Course::from(updated))
    }

    /// Deletes a course and its enrolments; `CONFLICT` (with how many) while projects are
    /// built for it. Admin and support.
    async fn delete_course(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The course to delete.")] id: ID,
    ) -> Result<bool> {
        authz::require(ctx).await.or_graphql(Domain::Academic)?;
        let id = crate::graphql::ids::parse_id(&id, "id").or_graphql(Domain::Academic)?;
        let dbs = &AppState::of(ctx).databases;
        let linked = crate::projects::service::projects_of_course(&dbs.projects, id)
            .await
            .or_graphql(Domain::Projects)?;
        service::delete_course(&dbs.academic, id, linked)
            .await
            .or_graphql(Domain::Academic)?;
        Ok(true)
    }

    /// Enrols students by user id and/or email, answering per entry: enrolled, already
    /// enrolled, or unknown user. The course's teacher, admin and support.
    async fn enroll_students(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The course to enrol them in.")] course_id: ID,
        #[graphql(desc = "Students to enrol, by user id.", default)] user_ids: Vec<ID>,
        #[graphql(desc = "Students to enrol, by email.", default)] emails: Vec<String>,
    ) -> Result<Vec<EnrollmentResult>> {
        let viewer = authz::require(ctx).await.or_graphql(Domain::Academic)?;
        let course_id =
            crate::graphql::ids::parse_id(&course_id, "courseId").or_graphql(Domain::Academic)?;
        let dbs = &AppState::of(ctx).databases;
        service::may_manage(&dbs.academic, &viewer, course_id)
            .await
            .or_graphql(Domain::Academic)?;
        let outcomes = service::enroll_students(
            &dbs.academic,
            &dbs.users,
            course_id,
            &user_ids.into_iter().map(|id| id.0).collect::<Vec<_>>(),
            &emails,
        )
        .await
        .or_graphql(Domain::Academic)?;
        Ok(outcomes
            .into_iter()
            .map(|o| EnrollmentResult {
                entry: o.entry,
                status: o.status.into(),
                user: o.user,
            })
            .collect())
    }

    /// Removes a student from a course. The course's teacher, admin and support.
    async fn unenroll_student(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The course.")] course_id: ID,
        #[graphql(desc = "The student to take out of it.")] user_id: ID,
    ) -> Result<bool> {
        let viewer = authz::require(ctx).await.or_graphql(Domain::Academic)?;
        let course_id =
            crate::graphql::ids::parse_id(&course_id, "courseId").or_graphql(Domain::Academic)?;
        let user_id =
            crate::graphql::ids::parse_id(&user_id, "userId").or_graphql(Domain::Academic)?;
        let dbs = &AppState::of(ctx).databases;
        service::may_manage(&dbs.academic, &viewer, course_id)
            .await
            .or_graphql(Domain::Academic)?;
        service::unenroll_student(&dbs.academic, course_id, user_id)
            .await
            .or_graphql(Domain::Academic)?;
        Ok(true)
    }
}
