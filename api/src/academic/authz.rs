//! The academic domain's authorization table. Enrolment also checks, in the service,
//! that the viewer teaches the course (or is staff).

use std::sync::Arc;

use async_graphql::Context;

pub use crate::authz::Rule;
use crate::{
    authz::STAFF,
    error::ServiceError,
    users::{types::RoleName, viewer::Viewer},
};

/// Every operation of the academic domain, with its rule.
pub const TABLE: &[(&str, Rule)] = &[
    ("subjects", Rule::Anyone),
    ("subject", Rule::Anyone),
    ("subjectByCode", Rule::Anyone),
    ("courses", Rule::SignedIn),
    ("course", Rule::SignedIn),
    ("myCourses", Rule::AnyRole(&[RoleName::Teacher])),
    ("myEnrollments", Rule::SignedIn),
    ("createSubjects", Rule::AnyRole(STAFF)),
    ("updateSubject", Rule::AnyRole(STAFF)),
    ("deleteSubject", Rule::AnyRole(STAFF)),
    ("createCourses", Rule::AnyRole(STAFF)),
    ("updateCourse", Rule::AnyRole(STAFF)),
    ("deleteCourse", Rule::AnyRole(STAFF)),
    ("enrollStudents", Rule::SignedIn),
    ("unenrollStudent", Rule::SignedIn),
];

pub async fn authorize(
    ctx: &Context<'_>,
    operation: &str,
) -> Result<Option<Arc<Viewer>>, ServiceError> {
    crate::authz::authorize(ctx, TABLE, operation).await
}

pub async fn require(ctx: &Context<'_>, operation: &str) -> Result<Arc<Viewer>, ServiceError> {
    crate::authz::require(ctx, TABLE, operation).await
}
