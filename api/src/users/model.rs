//! What the users services take: plain Rust values built from the GraphQL inputs in
//! `types.rs`.

use crate::stored_enum::stored_enum;

stored_enum!(
    /// What a user may do on the platform; a user may hold several roles.
    RoleName {
        Student = "STUDENT",
        Teacher = "TEACHER",
        Admin = "ADMIN",
        Support = "SUPPORT",
    }
);

stored_enum!(
    /// A database server kind on which students get their own databases.
    DatabaseEngineName {
        Postgresql = "POSTGRESQL",
        Mariadb = "MARIADB",
    }
);

/// Which users a list holds.
#[derive(Clone, Debug, Default)]
pub struct UserQuery {
    /// Holders of this role.
    pub role: Option<RoleName>,
    /// Case-insensitive text in the username or names (and emails, for staff).
    pub search: Option<String>,
}

/// Changes to one's own profile; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Clone, Debug, Default)]
pub struct ProfilePatch {
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub picture_url: Option<Option<String>>,
}

/// One of a user's databases on a student database server.
#[derive(Clone, Debug)]
pub struct StudentDb {
    pub id: i32,
    pub name: String,
    pub engine: DatabaseEngineName,
    /// Tables in it now, read live from its server.
    pub table_count: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
}
