//! DataLoaders for fields that point into the academic database: one batched query per
//! field per request.

use std::{collections::HashMap, sync::Arc};

use async_graphql::{Context, dataloader::Loader};
use entities::academic::{course, enrollment, subject};
use migration::Domain;
use sea_orm::{EntityTrait, QueryFilter, QueryOrder};

use super::types::Subject;
use crate::{db::AcademicDb, error::ServiceError};

type Shared = Arc<ServiceError>;

fn shared(error: sea_orm::DbErr) -> Shared {
    Arc::new(ServiceError::from(error))
}

/// Subjects by id.
pub struct SubjectLoader(pub AcademicDb);

impl Loader<i32> for SubjectLoader {
    type Value = subject::Model;
    type Error = Shared;

    async fn load(&self, ids: &[i32]) -> Result<HashMap<i32, subject::Model>, Shared> {
        let rows = subject::Entity::find()
            .filter(self.0.any_of(subject::Column::Id, ids.iter().copied()))
            .all(&*self.0)
            .await
            .map_err(shared)?;
        Ok(rows.into_iter().map(|s| (s.id, s)).collect())
    }
}

/// Courses by id.
pub struct CourseLoader(pub AcademicDb);

impl Loader<i32> for CourseLoader {
    type Value = course::Model;
    type Error = Shared;

    async fn load(&self, ids: &[i32]) -> Result<HashMap<i32, course::Model>, Shared> {
        let rows = course::Entity::find()
            .filter(self.0.any_of(course::Column::Id, ids.iter().copied()))
            .all(&*self.0)
            .await
            .map_err(shared)?;
        Ok(rows.into_iter().map(|c| (c.id, c)).collect())
    }
}

/// Courses by id, each with its subject (one joined statement).
pub struct CourseWithSubjectLoader(pub AcademicDb);

/// A course and its subject, read together.
pub type CourseWithSubject = (course::Model, Option<subject::Model>);

impl Loader<i32> for CourseWithSubjectLoader {
    type Value = CourseWithSubject;
    type Error = Shared;

    async fn load(&self, ids: &[i32]) -> Result<HashMap<i32, CourseWithSubject>, Shared> {
        super::service::courses_with_subject(&self.0, ids)
            .await
            .map_err(Arc::new)
    }
}

/// The enrolments of each course, by course id.
pub struct EnrollmentsLoader(pub AcademicDb);

impl Loader<i32> for EnrollmentsLoader {
    type Value = Vec<enrollment::Model>;
    type Error = Shared;

    async fn load(&self, ids: &[i32]) -> Result<HashMap<i32, Vec<enrollment::Model>>, Shared> {
        let rows = enrollment::Entity::find()
            .filter(
                self.0
                    .any_of(enrollment::Column::CourseId, ids.iter().copied()),
            )
            .order_by_asc(enrollment::Column::Id)
            .all(&*self.0)
            .await
            .map_err(shared)?;
        let mut by_course: HashMap<i32, Vec<enrollment::Model>> =
            ids.iter().map(|id| (*id, Vec::new())).collect();
        for row in rows {
            by_course.entry(row.course_id).or_default().push(row);
        }
        Ok(by_course)
    }
}

fn loader_error(error: Arc<ServiceError>) -> async_graphql::Error {
    crate::error::shared_error(Domain::Academic, error)
}

pub async fn subject(ctx: &Context<'_>, id: i32) -> async_graphql::Result<Subject> {
    let loader = crate::graphql::loaders::of::<i32, SubjectLoader>(ctx)?;
    let model = loader.load_one(id).await.map_err(loader_error)?;
    model.map(Subject::from).ok_or_else(|| {
        ServiceError::Corrupt(format!("subject {id} is missing")).into_graphql(Domain::Academic)
    })
}

pub async fn course(ctx: &Context<'_>, id: i32) -> async_graphql::Result<course::Model> {
    let loader = crate::graphql::loaders::of::<i32, CourseLoader>(ctx)?;
    loader
        .load_one(id)
        .await
        .map_err(loader_error)?
        .ok_or_else(|| ServiceError::NotFound("course").into_graphql(Domain::Academic))
}

pub async fn enrollments(
    ctx: &Context<'_>,
    course_id: i32,
) -> async_graphql::Result<Vec<enrollment::Model>> {
    crate::graphql::loaders::load_or_default::<_, EnrollmentsLoader>(
        ctx,
        Domain::Academic,
        course_id,
    )
    .await
}
