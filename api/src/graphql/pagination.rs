//! Relay connections: `first` (1 to 100) and `after`, cursors over ids, `totalCount`.

use async_graphql::{
    OutputType, SimpleObject,
    connection::{Connection, Edge, EmptyFields, OpaqueCursor},
};

use crate::{error::ServiceError, paging::Page};

pub const DEFAULT_PAGE: i32 = 20;
pub const MAX_PAGE: i32 = 100;

/// Extra fields of every connection.
#[derive(SimpleObject)]
pub struct TotalCount {
    /// Items matching the filter, across all pages.
    pub total_count: u64,
}

pub type IdConnection<T> = Connection<OpaqueCursor<i32>, T, TotalCount, EmptyFields>;

/// Checks `first` (1 to 100, default 20) and decodes `after`.
pub fn page(first: Option<i32>, after: Option<String>) -> Result<Page, ServiceError> {
    let first = first.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&first) {
        return Err(ServiceError::invalid(
            "first",
            format!("must be 1 to {MAX_PAGE}"),
        ));
    }
    let after = match after {
        None => None,
        Some(cursor) => Some(
            <OpaqueCursor<i32> as async_graphql::connection::CursorType>::decode_cursor(&cursor)
                .map_err(|_| ServiceError::invalid("after", "not a cursor of this list"))?
                .0,
        ),
    };
    Ok(Page {
        first: first as u64,
        after,
    })
}

/// A page of rows fetched with `first + 1` rows: the extra row says whether more follow.
pub fn connection<R, T: OutputType>(
    mut rows: Vec<R>,
    page: &Page,
    total: u64,
    id: impl Fn(&R) -> i32,
    node: impl Fn(R) -> T,
) -> IdConnection<T> {
    let has_next = rows.len() as u64 > page.first;
    rows.truncate(page.first as usize);
    let mut connection = Connection::with_additional_fields(
        page.after.is_some(),
        has_next,
        TotalCount { total_count: total },
    );
    connection.edges.extend(
        rows.into_iter()
            .map(|row| Edge::new(OpaqueCursor(id(&row)), node(row))),
    );
    connection
}
