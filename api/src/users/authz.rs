//! The users domain's authorization table: who may call each operation.

use std::sync::Arc;

use async_graphql::Context;

pub use crate::authz::Rule;
use crate::{
    authz::{ADMIN, STAFF},
    error::ServiceError,
    users::{
        types::RoleName,
        viewer::{self, Viewer},
    },
};

/// Every operation of the users domain, with its rule.
pub const TABLE: &[(&str, Rule)] = &[
    ("roles", Rule::Anyone),
    ("databaseEngines", Rule::Anyone),
    ("me", Rule::SignedIn),
    ("user", Rule::SignedIn),
    ("users", Rule::SignedIn),
    // Arguments with rules of their own: who teaches is public (the frontend's teacher
    // picker); who holds another role is for staff.
    ("users(filter.role: TEACHER)", Rule::SignedIn),
    ("users(filter.role)", Rule::AnyRole(STAFF)),
    (
        "usersByEmails",
        Rule::AnyRole(&[RoleName::Admin, RoleName::Support, RoleName::Teacher]),
    ),
    ("myStudentDatabases", Rule::SignedIn),
    ("signInWithGoogle", Rule::Anyone),
    ("refreshToken", Rule::Anyone),
    ("signOut", Rule::SignedIn),
    ("updateMyProfile", Rule::SignedIn),
    ("promoteToTeacher", Rule::AnyRole(STAFF)),
    ("grantRole", Rule::AnyRole(ADMIN)),
    ("revokeRole", Rule::AnyRole(ADMIN)),
    ("setUserActive", Rule::AnyRole(ADMIN)),
    ("createDatabaseAccount", Rule::SignedIn),
    ("createStudentDatabase", Rule::SignedIn),
    ("deleteStudentDatabase", Rule::SignedIn),
];

/// Checks the table for `operation`; returns the viewer where one is signed in.
pub async fn authorize(
    ctx: &Context<'_>,
    operation: &str,
) -> Result<Option<Arc<Viewer>>, ServiceError> {
    crate::authz::authorize(ctx, TABLE, operation).await
}

/// Like [`authorize`] for rules that need a signed-in user.
pub async fn require(ctx: &Context<'_>, operation: &str) -> Result<Arc<Viewer>, ServiceError> {
    crate::authz::require(ctx, TABLE, operation).await
}

/// Who a `users(filter: { search })` matches by email; anyone else's search matches
/// public fields only (username, names), since an email is private.
pub const SEARCH_IN_EMAILS: Rule = Rule::AnyRole(STAFF);

/// Whether `viewer`'s search also matches emails.
pub fn searches_emails(viewer: &Viewer) -> bool {
    crate::authz::rule_admits(&SEARCH_IN_EMAILS, Some(viewer))
}

/// Private user fields: the user themself, admin and support.
pub async fn may_see_private(ctx: &Context<'_>, user_id: i32) -> async_graphql::Result<()> {
    let viewer = viewer::require(ctx)
        .await
        .map_err(|e| e.into_graphql(migration::Domain::Users))?;
    if viewer.id() == user_id || viewer.is_staff() {
        Ok(())
    } else {
        Err(
            ServiceError::forbidden("only the user, admin and support see this field")
                .into_graphql(migration::Domain::Users),
        )
    }
}
