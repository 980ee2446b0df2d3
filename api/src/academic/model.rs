//! What the academic services take: plain Rust values with ids already parsed, built
//! from the GraphQL inputs in `types.rs`.

/// A subject to create.
#[derive(Clone, Debug)]
pub struct NewSubject {
    pub code: String,
    pub name: String,
}

/// Changes to a subject; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct SubjectPatch {
    pub code: Option<String>,
    pub name: Option<String>,
}

/// A course to create: its subject by code, its teacher by id or by email.
#[derive(Clone, Debug)]
pub struct NewCourse {
    pub subject_code: String,
    pub teacher_id: Option<i32>,
    pub teacher_email: Option<String>,
    pub group: String,
    /// The current year when absent.
    pub year: Option<i32>,
    /// The current period when absent.
    pub period: Option<i32>,
}

/// Changes to a course; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct CoursePatch {
    pub teacher_id: Option<i32>,
    pub teacher_email: Option<String>,
    pub group: Option<String>,
    pub year: Option<i32>,
    pub period: Option<i32>,
}

/// Which courses a list holds.
#[derive(Clone, Debug, Default)]
pub struct CourseQuery {
    pub subject_id: Option<i32>,
    pub year: Option<i32>,
    pub period: Option<i32>,
    pub teacher_id: Option<i32>,
}

/// What happened to one entry of an enrolment list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnrollmentStatus {
    /// Enrolled now.
    Enrolled,
    /// Was enrolled already; nothing changed.
    AlreadyEnrolled,
    /// No user has this id or email.
    UnknownUser,
}
