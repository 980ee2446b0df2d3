//! Rules and queries of the academic domain. Teacher and student ids point into the
//! users database: every write checks them there first.

use std::collections::{BTreeSet, HashMap};

use chrono::{Datelike, Utc};
use entities::{
    academic::{course, enrollment, subject},
    users::user,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
    sea_query::{Expr, ExprTrait, Func},
};

use super::model::{
    CoursePatch, CourseQuery, EnrollmentStatus, NewCourse, NewSubject, SubjectPatch,
};
use crate::{
    authz::{Grant, Object},
    db::{AcademicDb, UsersDb},
    error::ServiceError,
    paging::{Page, like_pattern},
    users::{model::RoleName, service as users},
};

mod courses;
mod enrollments;
mod subjects;
mod validate;

pub use self::courses::*;
pub use self::enrollments::*;
pub use self::subjects::*;
pub use self::validate::*;
