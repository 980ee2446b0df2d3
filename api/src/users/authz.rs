//! The users domain's authorization table: who may call each operation. Resource-level
//! rules (a database's owner, a user's own profile) are checked by the services on top.

use std::sync::Arc;

use async_graphql::Context;

use super::{
    types::RoleName,
    viewer::{self, Viewer},
};
use crate::error::ServiceError;

/// Who may call an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Anyone, signed in or not.
    Anyone,
    /// Any signed-in, active user.
    SignedIn,
    /// A signed-in user holding one of these roles.
    AnyRole(&'static [RoleName]),
}

const STAFF: &[RoleName] = &[RoleName::Admin, RoleName::Support];
const ADMIN: &[RoleName] = &[RoleName::Admin];

/// Every operation of the users domain, with its rule.
pub const TABLE: &[(&str, Rule)] = &[
    ("roles", Rule::Anyone),
    ("databaseEngines", Rule::Anyone),
    ("me", Rule::SignedIn),
    ("user", Rule::SignedIn),
    ("users", Rule::SignedIn),
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

/// The rule of `operation`; an operation missing from the table is refused to all.
pub fn rule(operation: &str) -> Option<Rule> {
    TABLE
        .iter()
        .find(|(name, _)| *name == operation)
        .map(|(_, rule)| *rule)
}

/// Checks the table for `operation`; returns the viewer where one is signed in.
pub async fn authorize(
    ctx: &Context<'_>,
    operation: &str,
) -> Result<Option<Arc<Viewer>>, ServiceError> {
    let rule = rule(operation)
        .ok_or_else(|| ServiceError::forbidden(format!("{operation} has no authorization rule")))?;
    match rule {
        Rule::Anyone => viewer::current(ctx).await.or(Ok(None)),
        Rule::SignedIn => viewer::require(ctx).await.map(Some),
        Rule::AnyRole(roles) => {
            let viewer = viewer::require(ctx).await?;
            if roles.iter().any(|role| viewer.has(*role)) {
                Ok(Some(viewer))
            } else {
                Err(ServiceError::forbidden(format!(
                    "{operation} needs one of the roles {roles:?}"
                )))
            }
        }
    }
}

/// Like [`authorize`] for rules that need a signed-in user.
pub async fn require(ctx: &Context<'_>, operation: &str) -> Result<Arc<Viewer>, ServiceError> {
    authorize(ctx, operation)
        .await?
        .ok_or_else(|| ServiceError::Unauthenticated("sign in first".into()))
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
