//! Paging and text search as the services read them: a page request by id, and a
//! `LIKE` pattern for a search (the GraphQL layer turns `first`/`after` into a [`Page`]).

/// A page request: how many rows, after which id.
pub struct Page {
    pub first: u64,
    pub after: Option<i32>,
}

/// A case-insensitive `LIKE` pattern for `search`, its wildcards escaped with a
/// backslash, and the `ESCAPE` clause naming it (SQLite has no default escape character;
/// without the clause a search for `a_b` matched nothing there).
pub fn like_pattern(search: &str) -> sea_orm::sea_query::LikeExpr {
    sea_orm::sea_query::LikeExpr::new(like_text(search)).escape('\\')
}

fn like_text(search: &str) -> String {
    let escaped = search
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}
