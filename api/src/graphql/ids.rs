//! GraphQL `ID`s are opaque strings to clients; rows are keyed by integers. One place
//! turns the first into the second, with `BAD_USER_INPUT` naming the argument.

use async_graphql::ID;

use crate::error::ServiceError;

pub fn parse_id(id: &ID, field: &'static str) -> Result<i32, ServiceError> {
    id.parse::<i32>()
        .map_err(|_| ServiceError::invalid(field, format!("{:?} is not an id", id.as_str())))
}

pub fn parse_ids(ids: &[ID], field: &'static str) -> Result<Vec<i32>, ServiceError> {
    ids.iter().map(|id| parse_id(id, field)).collect()
}
