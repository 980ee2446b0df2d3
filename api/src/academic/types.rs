//! GraphQL types of the academic domain.

use crate::graphql::budget::listed;
// `OutputType` is named by the code `#[ComplexObject]` writes for a flattened field.
use async_graphql::{
    ComplexObject, Context, Enum, ID, InputObject, OutputType, Result, SimpleObject,
};
use entities::{
    academic::{course, enrollment, subject},
    users::user,
};

use super::{
    loaders,
    model::{CoursePatch, CourseQuery, NewCourse, NewSubject, SubjectPatch},
};
use crate::error::ServiceError;

/// A subject of the curriculum.
#[derive(SimpleObject)]
pub struct Subject {
    /// The subject's id.
    pub id: ID,
    /// Unique code, up to 10 characters.
    pub code: String,
    /// Up to 120 characters.
    pub name: String,
}

impl From<subject::Model> for Subject {
    fn from(model: subject::Model) -> Self {
        Self {
            id: model.id.into(),
            code: model.code,
            name: model.name,
        }
    }
}

/// One group of a subject in a year and period, taught by one teacher.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Course {
    /// The course's id.
    pub id: ID,
    /// The year it is taught (4 digits).
    pub year: i32,
    /// 1 (before June) or 2.
    pub period: i32,
    /// The group's name, up to 3 characters.
    pub group: String,
    #[graphql(skip)]
    pub model: course::Model,
    /// The subject when it was read with the course (one joined statement).
    #[graphql(skip)]
    pub subject: Option<subject::Model>,
}

impl From<course::Model> for Course {
    fn from(model: course::Model) -> Self {
        Self::from((model, None))
    }
}

impl From<(course::Model, Option<subject::Model>)> for Course {
    fn from((model, subject): (course::Model, Option<subject::Model>)) -> Self {
        Self {
            id: model.id.into(),
            year: model.year,
            period: model.period,
            group: model.group_name.clone(),
            model,
            subject,
        }
    }
}

#[ComplexObject]
impl Course {
    /// The subject taught.
    async fn subject(&self, ctx: &Context<'_>) -> Result<Subject> {
        match &self.subject {
            Some(subject) => Ok(Subject::from(subject.clone())),
            None => loaders::subject(ctx, self.model.subject_id).await,
        }
    }

    // `teacher` and `students`, from the users database.
    #[graphql(flatten)]
    async fn people(&self) -> CoursePeople {
        CoursePeople {
            course_id: self.model.id,
            teacher_id: self.model.teacher_id,
        }
    }

    /// Its enrolments, one per student.
    #[graphql(complexity = "crate::graphql::budget::LIST * child_complexity + 1")]
    async fn enrollments(&self, ctx: &Context<'_>) -> Result<Vec<Enrollment>> {
        let rows = loaders::enrollments(ctx, self.model.id).await?;
        listed(ctx, rows.into_iter().map(Enrollment).collect())
    }

    // `projects`, from the projects database.
    #[graphql(flatten)]
    async fn projects_link(&self) -> CourseProjects {
        CourseProjects {
            course_id: self.model.id,
        }
    }

    /// How many students are enrolled.
    async fn student_count(&self, ctx: &Context<'_>) -> Result<usize> {
        Ok(loaders::enrollments(ctx, self.model.id).await?.len())
    }
}

pub struct Enrollment(pub enrollment::Model);

// Where the fields that read another domain sit in each type; `crate::links` resolves them.

/// A course's `teacher` and `students`.
pub struct CoursePeople {
    pub course_id: i32,
    pub teacher_id: i32,
}

/// A course's `projects`.
pub struct CourseProjects {
    pub course_id: i32,
}

/// An enrolment's `student`.
pub struct EnrollmentLinks {
    pub student_id: i32,
}

/// An enrolment outcome's `user`.
pub struct EnrollmentResultLinks {
    pub user: Option<user::Model>,
}

/// A student enrolled in a course.
#[async_graphql::Object]
impl Enrollment {
    /// The enrolment's id.
    async fn id(&self) -> ID {
        self.0.id.into()
    }

    /// The course.
    async fn course(&self, ctx: &Context<'_>) -> Result<Course> {
        loaders::course(ctx, self.0.course_id)
            .await
            .map(Course::from)
    }

    // `student`, from the users database.
    #[graphql(flatten)]
    async fn links(&self) -> EnrollmentLinks {
        EnrollmentLinks {
            student_id: self.0.student_id,
        }
    }
}

/// A subject to create.
#[derive(InputObject)]
pub struct SubjectInput {
    /// 1 to 10 characters, unique.
    pub code: String,
    /// 1 to 120 characters.
    pub name: String,
}

/// Changes to a subject; absent fields stay as they are.
#[derive(InputObject)]
pub struct UpdateSubjectInput {
    /// A new code (unique).
    pub code: Option<String>,
    /// A new name.
    pub name: Option<String>,
}

/// A course to create.
#[derive(InputObject)]
pub struct CourseInput {
    /// The subject's code.
    pub subject_code: String,
    /// The teacher's user id (or give `teacherEmail`).
    pub teacher_id: Option<ID>,
    /// The teacher's email (or give `teacherId`).
    pub teacher_email: Option<String>,
    /// 1 to 3 characters.
    pub group: String,
    /// Four digits; the current year when absent.
    pub year: Option<i32>,
    /// 1 or 2; the current period when absent (1 before June, else 2).
    pub period: Option<i32>,
}

/// Changes to a course; absent fields stay as they are.
#[derive(InputObject)]
pub struct UpdateCourseInput {
    /// The new teacher, by user id (or give `teacherEmail`).
    pub teacher_id: Option<ID>,
    /// The new teacher, by email (or give `teacherId`).
    pub teacher_email: Option<String>,
    /// The new group (at most 3 characters).
    pub group: Option<String>,
    /// The new year (4 digits).
    pub year: Option<i32>,
    /// The new period (1 or 2).
    pub period: Option<i32>,
}

/// Filters of `courses`.
#[derive(InputObject, Default)]
pub struct CourseFilter {
    /// Only courses of this subject.
    pub subject_id: Option<ID>,
    /// Only courses of this year.
    pub year: Option<i32>,
    /// Only courses of this period (1 or 2).
    pub period: Option<i32>,
    /// Only courses this user teaches.
    pub teacher_id: Option<ID>,
}

/// What happened to one entry of `enrollStudents`.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::academic::model::EnrollmentStatus")]
pub enum EnrollmentStatus {
    /// Enrolled now.
    Enrolled,
    /// Was enrolled already; nothing changed.
    AlreadyEnrolled,
    /// No user has this id or email.
    UnknownUser,
}

/// The outcome of one entry of `enrollStudents`.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct EnrollmentResult {
    /// The id or email as given.
    pub entry: String,
    /// What became of the entry.
    pub status: EnrollmentStatus,
    #[graphql(skip)]
    pub user: Option<user::Model>,
}

#[ComplexObject]
impl EnrollmentResult {
    // `user`, from the users database.
    #[graphql(flatten)]
    async fn links(&self) -> EnrollmentResultLinks {
        EnrollmentResultLinks {
            user: self.user.clone(),
        }
    }
}

// The inputs as the services take them: ids parsed, `BAD_USER_INPUT` naming the field.

fn optional_id(id: Option<ID>, field: &'static str) -> Result<Option<i32>, ServiceError> {
    id.map(|id| crate::graphql::ids::parse_id(&id, field))
        .transpose()
}

impl From<SubjectInput> for NewSubject {
    fn from(input: SubjectInput) -> Self {
        NewSubject {
            code: input.code,
            name: input.name,
        }
    }
}

impl From<UpdateSubjectInput> for SubjectPatch {
    fn from(input: UpdateSubjectInput) -> Self {
        SubjectPatch {
            code: input.code,
            name: input.name,
        }
    }
}

impl TryFrom<CourseInput> for NewCourse {
    type Error = ServiceError;

    fn try_from(input: CourseInput) -> Result<Self, ServiceError> {
        Ok(NewCourse {
            teacher_id: optional_id(input.teacher_id, "teacherId")?,
            subject_code: input.subject_code,
            teacher_email: input.teacher_email,
            group: input.group,
            year: input.year,
            period: input.period,
        })
    }
}

impl TryFrom<UpdateCourseInput> for CoursePatch {
    type Error = ServiceError;

    fn try_from(input: UpdateCourseInput) -> Result<Self, ServiceError> {
        Ok(CoursePatch {
            teacher_id: optional_id(input.teacher_id, "teacherId")?,
            teacher_email: input.teacher_email,
            group: input.group,
            year: input.year,
            period: input.period,
        })
    }
}

impl TryFrom<CourseFilter> for CourseQuery {
    type Error = ServiceError;

    fn try_from(filter: CourseFilter) -> Result<Self, ServiceError> {
        Ok(CourseQuery {
            subject_id: optional_id(filter.subject_id, "subjectId")?,
            year: filter.year,
            period: filter.period,
            teacher_id: optional_id(filter.teacher_id, "teacherId")?,
        })
    }
}
