//! GraphQL types of the academic domain.

use async_graphql::{ID, SimpleObject};
use entities::academic::subject;

/// A subject of the curriculum.
#[derive(SimpleObject)]
pub struct Subject {
    pub id: ID,
    /// Unique code, up to 10 characters.
    pub code: String,
    /// Up to 120 characters.
    pub name: String,
}

impl From<subject::Model> for Subject {
    fn from(model: subject::Model) -> Self {
        Self {
            id: model.id.into(),
            code: model.code,
            name: model.name,
        }
    }
}
