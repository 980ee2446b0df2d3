//! Authorization shared by the domains: each domain keeps one table saying who may call
//! each of its operations; resource-level rules (an owner, a course's teacher) are
//! checked by the services on top.

use std::sync::Arc;

use async_graphql::Context;

use crate::{
    error::ServiceError,
    users::{
        types::RoleName,
        viewer::{self, Viewer},
    },
};

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

pub const STAFF: &[RoleName] = &[RoleName::Admin, RoleName::Support];
pub const ADMIN: &[RoleName] = &[RoleName::Admin];

/// Checks `operation` against `table`; returns the viewer where one is signed in. An
/// operation missing from its table is refused to everyone.
pub async fn authorize(
    ctx: &Context<'_>,
    table: &[(&str, Rule)],
    operation: &str,
) -> Result<Option<Arc<Viewer>>, ServiceError> {
    let rule = table
        .iter()
        .find(|(name, _)| *name == operation)
        .map(|(_, rule)| *rule)
        .ok_or_else(|| ServiceError::forbidden(format!("{operation} has no authorization rule")))?;
    match rule {
        Rule::Anyone => viewer::current(ctx).await.or(Ok(None)),
        Rule::SignedIn => viewer::require(ctx).await.map(Some),
        Rule::AnyRole(roles) => {
            let viewer = viewer::require(ctx).await?;
            if rule_admits(&rule, Some(&viewer)) {
                Ok(Some(viewer))
            } else {
                let names: Vec<&str> = roles.iter().map(|r| r.as_db()).collect();
                Err(ServiceError::forbidden(format!(
                    "{operation} needs one of the roles {}",
                    names.join(", ")
                )))
            }
        }
    }
}

/// Like [`authorize`] for rules that need a signed-in user.
pub async fn require(
    ctx: &Context<'_>,
    table: &[(&str, Rule)],
    operation: &str,
) -> Result<Arc<Viewer>, ServiceError> {
    authorize(ctx, table, operation)
        .await?
        .ok_or_else(|| ServiceError::Unauthenticated("sign in first".into()))
}

/// Whether `rule` admits `viewer` (`None`: anonymous), without an error to report.
pub fn rule_admits(rule: &Rule, viewer: Option<&Viewer>) -> bool {
    match (rule, viewer) {
        (Rule::Anyone, _) => true,
        (_, None) => false,
        (Rule::SignedIn, Some(_)) => true,
        (Rule::AnyRole(roles), Some(viewer)) => roles.iter().any(|role| viewer.has(*role)),
    }
}
