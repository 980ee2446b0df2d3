//! GraphQL types of the users domain.

use async_graphql::{ID, SimpleObject};
use entities::users::{database_engine, role};

use crate::{error::ServiceError, graphql::db_enum::db_enum};

db_enum!(
    /// What a user may do on the platform; a user may hold several roles.
    RoleName {
        /// Registers projects for the courses they are enrolled in.
        Student = "STUDENT",
        /// Teaches courses and follows their projects.
        Teacher = "TEACHER",
        /// Administers everything.
        Admin = "ADMIN",
        /// Staff who manage users, subjects and courses.
        Support = "SUPPORT",
    }
);

db_enum!(
    /// A database server kind on which students get their own databases.
    DatabaseEngineName {
        Postgresql = "POSTGRESQL",
        Mariadb = "MARIADB",
    }
);

/// A role, as seeded by the migration.
#[derive(SimpleObject)]
pub struct Role {
    pub id: ID,
    pub name: RoleName,
}

impl TryFrom<role::Model> for Role {
    type Error = ServiceError;

    fn try_from(model: role::Model) -> Result<Self, ServiceError> {
        Ok(Self {
            id: model.id.into(),
            name: RoleName::from_db(&model.name)?,
        })
    }
}

/// A database engine students can get databases on.
#[derive(SimpleObject)]
pub struct DatabaseEngine {
    pub id: ID,
    pub name: DatabaseEngineName,
}

impl TryFrom<database_engine::Model> for DatabaseEngine {
    type Error = ServiceError;

    fn try_from(model: database_engine::Model) -> Result<Self, ServiceError> {
        Ok(Self {
            id: model.id.into(),
            name: DatabaseEngineName::from_db(&model.name)?,
        })
    }
}
