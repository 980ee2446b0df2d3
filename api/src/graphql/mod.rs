//! Schema assembly: Query merged from one object per domain, limits and extensions.

pub mod db_enum;
pub mod extension;

use async_graphql::{EmptyMutation, EmptySubscription, MergedObject, Schema, SchemaBuilder};

use crate::{
    academic::query::AcademicQuery, projects::query::ProjectsQuery, state::AppState,
    users::query::UsersQuery,
};

/// Every query field, merged from the three domains.
#[derive(MergedObject, Default)]
pub struct Query(UsersQuery, AcademicQuery, ProjectsQuery);

pub type AppSchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// The schema's shape alone: no database, no limits.
pub fn builder() -> SchemaBuilder<Query, EmptyMutation, EmptySubscription> {
    Schema::build(Query::default(), EmptyMutation, EmptySubscription)
}

/// The SDL written to `schema.graphql`.
pub fn sdl() -> String {
    builder().finish().sdl()
}

/// The serving schema: the shape plus state, limits and error handling.
pub fn schema(state: AppState) -> AppSchema {
    let config = &state.config;
    builder()
        .limit_depth(usize::from(config.max_query_depth))
        .limit_complexity(config.max_query_complexity as usize)
        .extension(extension::ErrorHandling::new(state.databases.clone()))
        .data(state)
        .finish()
}
