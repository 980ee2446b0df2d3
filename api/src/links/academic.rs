//! A course's teacher, students and projects; an enrolment's student.

use async_graphql::{Context, Object, Result};
use migration::Domain;

use super::{user, users};
use crate::{
    academic::{
        loaders as academic_loaders,
        types::{CoursePeople, CourseProjects, EnrollmentLinks, EnrollmentResultLinks},
    },
    graphql::budget::listed,
    projects::{loaders as project_loaders, types::Project},
    users::types::User,
};

#[Object]
impl CoursePeople {
    /// The teacher, read from the users database.
    async fn teacher(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        user(ctx, self.teacher_id).await
    }

    /// The enrolled students, read from the users database.
    #[graphql(complexity = "crate::graphql::budget::LIST * child_complexity + 1")]
    async fn students(&self, ctx: &Context<'_>) -> Result<Vec<User>> {
        let enrollments = academic_loaders::enrollments(ctx, self.course_id).await?;
        let ids = enrollments.iter().map(|e| e.student_id).collect();
        listed(ctx, users(ctx, Domain::Academic, ids).await?)
    }
}

#[Object]
impl CourseProjects {
    /// Projects built for this course, read from the projects database.
    #[graphql(complexity = "crate::graphql::budget::LIST * child_complexity + 1")]
    async fn projects(&self, ctx: &Context<'_>) -> Result<Vec<Project>> {
        let rows = project_loaders::projects_of_course(ctx, self.course_id).await?;
        listed(ctx, rows.into_iter().map(Project).collect())
    }
}

#[Object]
impl EnrollmentLinks {
    /// The student, read from the users database.
    async fn student(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        user(ctx, self.student_id).await
    }
}

#[Object]
impl EnrollmentResultLinks {
    /// The user, when known.
    async fn user(&self) -> Option<User> {
        self.user.clone().map(User::new)
    }
}
