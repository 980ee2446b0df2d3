//! Schema assembly: Query merged from one object per domain, limits, and the executor
//! that gives every error its code.

pub mod batch;
pub mod budget;
pub mod dangling;
pub mod executor;
pub mod ids;
pub mod inputs;
pub mod loaders;
pub mod pagination;
pub mod shape;

use async_graphql::{
    MergedObject, MergedSubscription, Positioned, Schema, SchemaBuilder,
    parser::types::{DocumentOperations, ExecutableDocument, OperationDefinition},
};

pub use self::executor::Gateway;
use self::loaders::Loaders;
use crate::{
    academic::{mutation::AcademicMutation, query::AcademicQuery},
    projects::{
        deploys::{
            mutation::DeploysMutation, query::DeploysQuery, subscription::DeploysSubscription,
        },
        mutation::ProjectsMutation,
        query::ProjectsQuery,
        tag_mutation::TagsMutation,
    },
    state::AppState,
    users::{
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
/// loaders (one batch per field per request, each built on first use).
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
    data.insert(Loaders::new(state.clone()));
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

#[cfg(test)]
mod tests {
    /// Every type, field, argument, input field and enum value of the schema says what it
    /// is: the schema is the API's documentation, read in GraphiQL.
    #[tokio::test]
    async fn everything_in_the_schema_is_documented() {
        let query = "{ __schema { types { name kind description \
            fields(includeDeprecated: true) { name description args { name description } } \
            inputFields { name description } \
            enumValues(includeDeprecated: true) { name description } } } }";
        let response = super::builder().finish().execute(query).await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        let json = response.data.into_json().expect("json");
        let documented = |item: &serde_json::Value| {
            item["description"]
                .as_str()
                .is_some_and(|text| !text.trim().is_empty())
        };
        let mut missing = Vec::new();
        for ty in json["__schema"]["types"].as_array().expect("types") {
            let name = ty["name"].as_str().unwrap_or_default();
            let built_in = ["String", "Int", "Float", "Boolean", "ID"].contains(&name);
            if name.starts_with("__") || built_in {
                continue;
            }
            // async-graphql writes the connection types; their fields are documented.
            if !documented(ty) && !name.ends_with("Connection") {
                missing.push(format!("type {name}"));
            }
            let list = |key: &str| ty[key].as_array().cloned().unwrap_or_default();
            for field in list("fields") {
                let field_name = field["name"].as_str().unwrap_or_default();
                if !documented(&field) {
                    missing.push(format!("field {name}.{field_name}"));
                }
                for arg in field["args"].as_array().cloned().unwrap_or_default() {
                    if !documented(&arg) {
                        missing.push(format!("argument {name}.{field_name}({})", arg["name"]));
                    }
                }
            }
            for field in list("inputFields") {
                if !documented(&field) {
                    missing.push(format!("input field {name}.{}", field["name"]));
                }
            }
            for value in list("enumValues") {
                if !documented(&value) {
                    missing.push(format!("enum value {name}.{}", value["name"]));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "{} undocumented:\n{}",
            missing.len(),
            missing.join("\n")
        );
    }
}
