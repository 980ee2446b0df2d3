//! Reading the table for the field being resolved.

use std::sync::Arc;

use async_graphql::Context;

use super::{Grant, Rule, policy, rule_admits};
use crate::{
    error::ServiceError,
    users::viewer::{self, Viewer},
};

/// The root field `ctx` resolves.
fn operation<'a>(ctx: &'a Context<'_>) -> &'a str {
    ctx.item.node.name.node.as_str()
}

/// Checks the rule of the field being resolved; returns the viewer where one is signed
/// in. For operations anyone may call.
pub async fn authorize(ctx: &Context<'_>) -> Result<Option<Arc<Viewer>>, ServiceError> {
    check(ctx, operation(ctx))
        .await
        .map(|grant| grant.map(|g| g.viewer))
}

/// Like [`authorize`] for rules that need a signed-in user; the grant carries the
/// operation's object rule for the service.
pub async fn require(ctx: &Context<'_>) -> Result<Grant, ServiceError> {
    signed_in(check(ctx, operation(ctx)).await?)
}

/// The rule of one argument of the field being resolved (`users(filter.role)`), on top
/// of the field's own.
pub async fn require_argument(ctx: &Context<'_>, argument: &str) -> Result<Grant, ServiceError> {
    signed_in(check(ctx, &format!("{}({argument})", operation(ctx))).await?)
}

fn signed_in(grant: Option<Grant>) -> Result<Grant, ServiceError> {
    grant.ok_or_else(|| ServiceError::Unauthenticated("sign in first".into()))
}

/// An operation missing from the tables is refused to everyone.
async fn check(ctx: &Context<'_>, operation: &str) -> Result<Option<Grant>, ServiceError> {
    let (_, policy) = policy(operation)
        .ok_or_else(|| ServiceError::forbidden(format!("{operation} has no authorization rule")))?;
    let viewer = match policy.caller {
        Rule::Anyone => viewer::current(ctx).await.unwrap_or(None),
        Rule::SignedIn => Some(viewer::require(ctx).await?),
        Rule::AnyRole(roles) => {
            let viewer = viewer::require(ctx).await?;
            if !rule_admits(&policy.caller, Some(&viewer)) {
                let names: Vec<&str> = roles.iter().map(|r| r.as_db()).collect();
                return Err(ServiceError::forbidden(format!(
                    "{operation} needs one of the roles {}",
                    names.join(", ")
                )));
            }
            Some(viewer)
        }
    };
    Ok(viewer.map(|viewer| Grant {
        viewer,
        object: policy.object,
    }))
}
