//! The academic domain's authorization table. Enrolment also checks, in the service,
//! that the viewer teaches the course (or is staff).

pub use crate::authz::{Rule, authorize, require};
use crate::{
    authz::{Object, Policy, STAFF},
    users::model::RoleName,
};

/// Every operation of the academic domain, with its rule.
pub const TABLE: &[Policy] = &[
    Policy::call("subjects", Rule::Anyone),
    Policy::call("subject", Rule::Anyone),
    Policy::call("subjectByCode", Rule::Anyone),
    Policy::call("courses", Rule::SignedIn),
    Policy::call("course", Rule::SignedIn),
    Policy::call("myCourses", Rule::AnyRole(&[RoleName::Teacher])),
    Policy::call("myEnrollments", Rule::SignedIn),
    Policy::call("createSubjects", Rule::AnyRole(STAFF)),
    Policy::call("updateSubject", Rule::AnyRole(STAFF)),
    Policy::call("deleteSubject", Rule::AnyRole(STAFF)),
    Policy::call("createCourses", Rule::AnyRole(STAFF)),
    Policy::call("updateCourse", Rule::AnyRole(STAFF)),
    Policy::call("deleteCourse", Rule::AnyRole(STAFF)),
    Policy {
        operation: "enrollStudents",
        caller: Rule::SignedIn,
        object: Object::CourseTeacherOrStaff,
    },
    Policy {
        operation: "unenrollStudent",
        caller: Rule::SignedIn,
        object: Object::CourseTeacherOrStaff,
    },
];
