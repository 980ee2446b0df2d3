//! The users domain's authorization table: who may call each operation.

use async_graphql::Context;

pub use crate::authz::{Rule, authorize, require, require_argument};
use crate::{
    authz::{ADMIN, Policy, STAFF},
    error::ServiceError,
    users::{
        model::RoleName,
        viewer::{self, Viewer},
    },
};

/// Every operation of the users domain, with its rule.
pub const TABLE: &[Policy] = &[
    Policy::call("roles", Rule::Anyone),
    Policy::call("databaseEngines", Rule::Anyone),
    Policy::call("me", Rule::SignedIn),
    Policy::call("user", Rule::SignedIn),
    Policy::call("users", Rule::SignedIn),
    // Arguments with rules of their own: who teaches is public (the frontend's teacher
    // picker); who holds another role is for staff.
    Policy::call("users(filter.role: TEACHER)", Rule::SignedIn),
    Policy::call("users(filter.role)", Rule::AnyRole(STAFF)),
    Policy::call(
        "usersByEmails",
        Rule::AnyRole(&[RoleName::Admin, RoleName::Support, RoleName::Teacher]),
    ),
    Policy::call("myStudentDatabases", Rule::SignedIn),
    Policy::call("signInWithGoogle", Rule::Anyone),
    Policy::call("refreshToken", Rule::Anyone),
    Policy::call("signOut", Rule::SignedIn),
    Policy::call("updateMyProfile", Rule::SignedIn),
    Policy::call("promoteToTeacher", Rule::AnyRole(STAFF)),
    Policy::call("grantRole", Rule::AnyRole(ADMIN)),
    Policy::call("revokeRole", Rule::AnyRole(ADMIN)),
    Policy::call("setUserActive", Rule::AnyRole(ADMIN)),
    Policy::call("createDatabaseAccount", Rule::SignedIn),
    Policy::call("createStudentDatabase", Rule::SignedIn),
    Policy::call("deleteStudentDatabase", Rule::SignedIn),
];

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
