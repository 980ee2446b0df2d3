//! Rules and queries of the projects domain. User and course ids point into the other
//! databases: every write checks them there first.

use std::collections::BTreeSet;

use chrono::Utc;
use entities::projects::{
    collaborator, environment_variable, file, project, project_course, project_tag, rating, stage,
    stage_file, stage_status, tag,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set,
    sea_query::{Expr, ExprTrait, Func, OnConflict, SubQueryStatement},
};

use super::{
    crypto::Cipher,
    model::{NewProject, NewStage, ProjectPatch, ProjectQuery, StagePatch, StageStatusName},
};
use crate::{
    academic::service as academic_service,
    authz::{Grant, Object, ProjectRule},
    db::{AcademicDb, ProjectsDb, UsersDb},
    error::ServiceError,
    paging::{Page, like_pattern},
    users::{model::RoleName, service as users, viewer::Viewer},
};

mod access;
mod members;
mod projects;
mod read;
mod stages;
mod validate;
mod variables;

pub use self::access::*;
pub use self::members::*;
pub use self::projects::*;
pub use self::read::*;
pub use self::stages::*;
pub use self::validate::*;
pub use self::variables::*;
