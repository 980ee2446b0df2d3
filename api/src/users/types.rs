//! GraphQL types of the users domain.

use std::sync::Arc;

use async_graphql::{ID, SimpleObject};
use entities::users::{database_engine, role};

use super::model;
use crate::error::ServiceError;

/// What a user may do on the platform; a user may hold several roles.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::users::model::RoleName")]
pub enum RoleName {
    /// Registers projects for the courses they are enrolled in.
    Student,
    /// Teaches courses and follows their projects.
    Teacher,
    /// Administers everything.
    Admin,
    /// Staff who manage users, subjects and courses.
    Support,
}

/// A database server kind on which students get their own databases.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::users::model::DatabaseEngineName")]
pub enum DatabaseEngineName {
    /// PostgreSQL.
    Postgresql,
    /// MariaDB (MySQL-compatible).
    Mariadb,
}

/// A role, as seeded by the migration.
#[derive(SimpleObject)]
pub struct Role {
    /// The role's id.
    pub id: ID,
    /// Which role.
    pub name: RoleName,
}

impl TryFrom<role::Model> for Role {
    type Error = ServiceError;

    fn try_from(model: role::Model) -> Result<Self, ServiceError> {
        Ok(Self {
            id: model.id.into(),
            name: model::RoleName::from_db(&model.name)?.into(),
        })
    }
}

/// A database engine students can get databases on.
#[derive(SimpleObject)]
pub struct DatabaseEngine {
    /// The engine's id.
    pub id: ID,
    /// Which engine.
    pub name: DatabaseEngineName,
}

impl TryFrom<database_engine::Model> for DatabaseEngine {
    type Error = ServiceError;

    fn try_from(model: database_engine::Model) -> Result<Self, ServiceError> {
        Ok(Self {
            id: model.id.into(),
            name: model::DatabaseEngineName::from_db(&model.name)?.into(),
        })
    }
}

/// Where a user's fields that read another domain sit in the type; `crate::links`
/// resolves them.
pub struct UserLinks {
    pub user_id: i32,
}

/// A person on the platform. Signed-in users see the public card (names, picture);
/// the user themself, admin and support staff see every field. The row is shared with
/// the request's user loader (no copy per field that shows a user).
pub struct User {
    pub model: Arc<entities::users::user::Model>,
    /// Shown to the user themself (sign-in answers, `me`): private fields need no check.
    own: bool,
}

impl User {
    /// Another user, as the viewer may see them.
    pub fn new(model: impl Into<Arc<entities::users::user::Model>>) -> Self {
        User {
            model: model.into(),
            own: false,
        }
    }

    /// The viewer themself.
    pub fn own(model: impl Into<Arc<entities::users::user::Model>>) -> Self {
        User {
            model: model.into(),
            own: true,
        }
    }

    async fn check_private(&self, ctx: &async_graphql::Context<'_>) -> async_graphql::Result<()> {
        if self.own {
            Ok(())
        } else {
            super::authz::may_see_private(ctx, self.model.id).await
        }
    }
}

/// A person who signs in: student, teacher, support or admin. Signed-in users see the
/// public card (names, picture); the user themself, admin and support see every field.
#[async_graphql::Object]
impl User {
    /// The user's id.
    async fn id(&self) -> ID {
        self.model.id.into()
    }

    /// The user's public handle.
    async fn username(&self) -> &str {
        &self.model.username
    }

    /// The user's first name.
    async fn first_name(&self) -> &str {
        &self.model.first_name
    }

    /// The user's last name.
    async fn last_name(&self) -> &str {
        &self.model.last_name
    }

    /// Profile picture URL.
    async fn picture_url(&self) -> Option<&str> {
        self.model.picture_url.as_deref()
    }

    /// Private: the user, admin and support only.
    async fn email(&self, ctx: &async_graphql::Context<'_>) -> async_graphql::Result<&str> {
        self.check_private(ctx).await?;
        Ok(&self.model.email)
    }

    /// The roles held now. Private: the user, admin and support only.
    async fn roles(
        &self,
        ctx: &async_graphql::Context<'_>,
    ) -> async_graphql::Result<Vec<RoleName>> {
        self.check_private(ctx).await?;
        super::loaders::roles_of(ctx, self.model.id).await
    }

    // `projects`, from the projects database.
    #[graphql(flatten)]
    async fn links(&self) -> UserLinks {
        UserLinks {
            user_id: self.model.id,
        }
    }

    /// Whether the account may sign in. Private: the user, admin and support only.
    async fn is_active(&self, ctx: &async_graphql::Context<'_>) -> async_graphql::Result<bool> {
        self.check_private(ctx).await?;
        Ok(self.model.is_active)
    }

    /// Whether a login exists on the student database servers. Private.
    async fn has_db_account(
        &self,
        ctx: &async_graphql::Context<'_>,
    ) -> async_graphql::Result<bool> {
        self.check_private(ctx).await?;
        Ok(self.model.has_db_account)
    }

    /// Private: the user, admin and support only.
    async fn created_at(
        &self,
        ctx: &async_graphql::Context<'_>,
    ) -> async_graphql::Result<chrono::DateTime<chrono::Utc>> {
        self.check_private(ctx).await?;
        Ok(self.model.created_at)
    }

    /// Private: the user, admin and support only.
    async fn last_login_at(
        &self,
        ctx: &async_graphql::Context<'_>,
    ) -> async_graphql::Result<Option<chrono::DateTime<chrono::Utc>>> {
        self.check_private(ctx).await?;
        Ok(self.model.last_login_at)
    }
}

/// Our tokens after a sign-in or a refresh.
#[derive(SimpleObject)]
pub struct AuthPayload {
    /// Send as `Authorization: Bearer <accessToken>`.
    pub access_token: String,
    /// Trade for a new pair with `refreshToken` before it expires.
    pub refresh_token: String,
    /// Seconds the access token stays valid.
    pub expires_in: u64,
    /// The signed-in user.
    pub user: User,
}

/// The outcome of `promoteToTeacher`.
#[derive(SimpleObject)]
pub struct PromotionResult {
    /// Users who hold TEACHER now (including those who already did).
    pub promoted: Vec<User>,
    /// Emails that match no user; nothing was done for them.
    pub unknown_emails: Vec<String>,
}

/// The outcome of `usersByEmails`.
#[derive(SimpleObject)]
pub struct UsersByEmails {
    /// The users whose email was asked for.
    pub found: Vec<User>,
    /// Emails that match no user.
    pub not_found: Vec<String>,
}

/// Filters of `users`.
#[derive(async_graphql::InputObject, Default)]
pub struct UserFilter {
    /// Only users holding this role: TEACHER for anyone signed in, other roles for admin
    /// and support (FORBIDDEN otherwise).
    pub role: Option<RoleName>,
    /// Case-insensitive text in the username, first or last name; admin and support
    /// also match emails (an email is private).
    pub search: Option<String>,
}

/// Fields of `updateMyProfile`; absent fields stay as they are.
#[derive(async_graphql::InputObject)]
pub struct UpdateProfileInput {
    /// 1 to 150 characters.
    pub username: Option<String>,
    /// 1 to 150 characters.
    pub first_name: Option<String>,
    /// 1 to 150 characters.
    pub last_name: Option<String>,
    /// An http(s) URL, or null to remove it.
    pub picture_url: Option<Option<String>>,
}

/// A database of the viewer's on a student database server.
#[derive(SimpleObject)]
pub struct StudentDatabase {
    /// The database's id.
    pub id: ID,
    /// Its name, unique across engines.
    pub name: String,
    /// The server it lives on.
    pub engine: DatabaseEngineName,
    /// Tables in it now, read live from its server.
    pub table_count: i64,
    /// When it was created.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<UserFilter> for super::model::UserQuery {
    fn from(filter: UserFilter) -> Self {
        super::model::UserQuery {
            role: filter.role.map(Into::into),
            search: filter.search,
        }
    }
}

impl From<UpdateProfileInput> for super::model::ProfilePatch {
    fn from(input: UpdateProfileInput) -> Self {
        super::model::ProfilePatch {
            username: input.username,
            first_name: input.first_name,
            last_name: input.last_name,
            picture_url: input.picture_url,
        }
    }
}

impl From<super::model::StudentDb> for StudentDatabase {
    fn from(found: super::model::StudentDb) -> Self {
        StudentDatabase {
            id: found.id.into(),
            name: found.name,
            engine: found.engine.into(),
            table_count: found.table_count,
            created_at: found.created_at,
        }
    }
}
