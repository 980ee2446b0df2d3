//! Schema assembly: Query merged from one object per domain, limits, and the executor
//! that gives every error its code.

pub mod batch;
pub mod budget;
pub mod dangling;
pub mod db_enum;
pub mod executor;
pub mod ids;
pub mod inputs;
pub mod pagination;
pub mod shape;

use async_graphql::{
    MergedObject, MergedSubscription, Positioned, Schema, SchemaBuilder,
    parser::types::{DocumentOperations, ExecutableDocument, OperationDefinition},
};

use self::batch::BatchLoader;
pub use self::executor::Gateway;
use crate::{
    academic::{loaders as academic_loaders, mutation::AcademicMutation, query::AcademicQuery},
    projects::{
        deploys::{
            self, mutation::DeploysMutation, query::DeploysQuery, subscription::DeploysSubscription,
        },
        loaders as projects_loaders,
        mutation::ProjectsMutation,
        query::ProjectsQuery,
        tag_mutation::TagsMutation,
    },
    state::AppState,
    users::{
        loaders::{RolesLoader, UserLoader},
        mutation::UsersMutation,
        query::UsersQuery,
        viewer::{Credentials, ViewerCell},
    },
};

/// Every query field, merged from the three domains.
#[derive(MergedObject, Default)]
pub struct Query(UsersQuery, AcademicQuery, ProjectsQuery, DeploysQuery);

/// Every mutation, merged from the domains.
#[derive(MergedObject, Default)]
pub struct Mutation(
    UsersMutation,
    AcademicMutation,
    ProjectsMutation,
    TagsMutation,
    DeploysMutation,
);

/// Every subscription (deploys for now).
#[derive(MergedSubscription, Default)]
pub struct Subscription(DeploysSubscription);

pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// The schema's shape alone: no database, no limits.
pub fn builder() -> SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
}

/// What each request carries besides the schema's data: who is asking, and fresh
/// DataLoaders (one batch per field per request).
pub fn request_data(
    state: &AppState,
    credentials: Credentials,
    per_request_viewer: bool,
) -> async_graphql::Data {
    let mut data = async_graphql::Data::default();
    data.insert(credentials);
    if per_request_viewer {
        data.insert(ViewerCell::default());
    }
    data.insert(BatchLoader::<i32, _>::new(UserLoader(
        state.databases.users.clone(),
    )));
    data.insert(BatchLoader::<i32, _>::new(RolesLoader(
        state.databases.users.clone(),
    )));
    academic_loaders::register(&mut data, &state.databases.academic, &state.databases.users);
    projects_loaders::register(&mut data, state);
    deploys::loaders::register(&mut data, state);
    data
}

/// The SDL written to `schema.graphql`.
pub fn sdl() -> String {
    builder().finish().sdl()
}

/// The name of every root field of Query, Mutation and Subscription, read by
/// introspection of the schema's shape.
pub async fn root_fields() -> std::collections::BTreeSet<String> {
    let response = builder()
        .finish()
        .execute(
            "{ __schema { queryType { fields { name } } mutationType { fields { name } } \
             subscriptionType { fields { name } } } }",
        )
        .await;
    let json = response.data.into_json().unwrap_or_default();
    ["queryType", "mutationType", "subscriptionType"]
        .iter()
        .flat_map(|root| {
            json["__schema"][root]["fields"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|field| field["name"].as_str().map(str::to_owned))
        .collect()
}

/// The operation a request runs: the document's only one, or the one it names.
pub fn operation<'a>(
    document: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<&'a Positioned<OperationDefinition>> {
    match (&document.operations, name) {
        (DocumentOperations::Single(operation), _) => Some(operation),
        (DocumentOperations::Multiple(operations), Some(name)) => operations.get(name),
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// The serving schema: the shape plus state and limits, run through the executor that
/// codes and records errors.
pub fn schema(state: AppState) -> Gateway {
    let config = state.config.clone();
    let databases = state.databases.clone();
    let mut builder = builder();
    if !config.introspection() {
        builder = builder.disable_introspection().disable_suggestions();
    }
    let schema = builder
        .limit_depth(usize::from(config.query.max_query_depth))
        .limit_complexity(config.query.max_query_complexity as usize)
        .limit_directives(usize::from(config.query.max_directives_per_field))
        .data(state)
        .finish();
    Gateway::new(schema, databases, &config.query, config.request_timeout())
}
