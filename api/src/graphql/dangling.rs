//! References across databases that point to nothing (rows deleted outside the gateway:
//! no foreign key crosses a database). Such a reference resolves to null, or is left out
//! of its list, with a `NOT_FOUND` error entry on its path naming the missing id, so a
//! client (and whoever reads the logs) sees the gap instead of a silent null.
//! `api check` lists them all.

use async_graphql::{Context, ErrorExtensions};

use crate::error::{Code, client_error};

/// Rows found through ids that point into another database, with the ids that found
/// nothing.
#[derive(Clone, Debug)]
pub struct Linked<T> {
    pub found: Vec<T>,
    pub missing: Vec<i32>,
}

impl<T> Default for Linked<T> {
    fn default() -> Self {
        Self {
            found: Vec::new(),
            missing: Vec::new(),
        }
    }
}

fn missing(what: &'static str, id: i32) -> async_graphql::Error {
    tracing::warn!(what, id, "a reference across databases points to nothing");
    client_error(
        Code::NotFound,
        format!("{what} {id} not found (a dangling reference)"),
    )
    .extend_with(|_, e| e.set("id", id.to_string()))
}

/// A single reference: the row, or null with an error entry naming `what` and `id`.
pub fn one<T>(what: &'static str, id: i32, found: Option<T>) -> async_graphql::Result<Option<T>> {
    match found {
        Some(found) => Ok(Some(found)),
        None => Err(missing(what, id)),
    }
}

/// A list of references: the rows found, and an error entry on the list's path for each
/// id that found nothing.
pub fn many<T>(ctx: &Context<'_>, what: &'static str, linked: Linked<T>) -> Vec<T> {
    for id in linked.missing {
        let error = missing(what, id).into_server_error(ctx.item.pos);
        ctx.add_error(ctx.set_error_path(error));
    }
    linked.found
}
