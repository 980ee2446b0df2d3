//! What the users services take: plain Rust values built from the GraphQL inputs in
//! `types.rs`.

use super::types::RoleName;

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
