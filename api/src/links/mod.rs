//! Every field that links one domain to another, and the loaders whose batch reads two
//! databases.
//!
//! A domain's type declares a small handle (`ProjectLinks`, `CoursePeople`, …) where its
//! cross-domain fields sit, and flattens it into the type (`#[graphql(flatten)]`), so the
//! schema keeps its field order; the handle's fields are resolved here. So no domain's
//! types import another domain's, and each database is read through its own domain
//! (loaders and services), never from another domain's code.

mod academic;
pub mod loaders;
mod projects;
mod users;

use async_graphql::Context;

use crate::users::{loaders as user_loaders, types::User};

/// A user another row points to (an owner, an author, a teacher), or null with a
/// `NOT_FOUND` error entry when the id finds no user.
async fn user(ctx: &Context<'_>, user_id: i32) -> async_graphql::Result<Option<User>> {
    Ok(user_loaders::linked_user(ctx, user_id)
        .await?
        .map(User::new))
}

/// The users of `ids` (collaborators, students) in their order, batched with every
/// other user of the request's round; each missing one is reported.
async fn users(
    ctx: &Context<'_>,
    domain: migration::Domain,
    ids: Vec<i32>,
) -> async_graphql::Result<Vec<User>> {
    let rows = loaders::users(ctx, domain, ids).await?;
    Ok(crate::graphql::dangling::many(ctx, "user", rows)
        .into_iter()
        .map(User::new)
        .collect())
}
