//! Rules and queries of the users domain.

use std::collections::{BTreeSet, HashMap};

use chrono::Utc;
use entities::users::{database_engine, refresh_family, role, user, user_role};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Set,
    sea_query::{Expr, ExprTrait, Func},
};

use super::{
    google::GoogleIdentity,
    model::{ProfilePatch, RoleName, UserQuery},
    tokens::{TokenPair, Tokens},
    viewer::Viewer,
};
use crate::{
    db::UsersDb,
    error::ServiceError,
    paging::{Page, like_pattern},
};

mod accounts;
mod read;
mod sessions;

pub use self::accounts::*;
pub use self::read::*;
pub use self::sessions::*;
