//! Gives every error a code and records internal errors: parse and validation failures
//! get request-error codes; internal errors are logged with their cause chain and
//! written to their domain's `error_logs` table.

use std::sync::Arc;

use async_graphql::{
    PathSegment, Response, ServerError, ServerResult, ValidationResult, Variables,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextRequest, NextValidation,
    },
    parser::types::ExecutableDocument,
};

use crate::{
    db::Databases,
    error::{Code, Internal},
};

/// The extension's factory; holds the databases the error logs live in.
pub struct ErrorHandling {
    databases: Databases,
}

impl ErrorHandling {
    pub fn new(databases: Databases) -> Self {
        Self { databases }
    }
}

impl ExtensionFactory for ErrorHandling {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorHandlingExtension {
            databases: self.databases.clone(),
        })
    }
}

struct ErrorHandlingExtension {
    databases: Databases,
}

fn set_code(error: &mut ServerError, code: Code) {
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", code.as_str());
}

fn with_code(mut error: ServerError, code: Code) -> ServerError {
    set_code(&mut error, code);
    error
}

fn has_code(error: &ServerError) -> bool {
    error
        .extensions
        .as_ref()
        .is_some_and(|e| e.get("code").is_some())
}

/// async-graphql reports its limits with these exact messages.
fn validation_code(error: &ServerError) -> Code {
    match error.message.as_str() {
        "Query is nested too deep." => Code::QueryTooDeep,
        "Query is too complex." => Code::QueryTooComplex,
        _ => Code::GraphqlValidationFailed,
    }
}

#[async_trait::async_trait]
impl Extension for ErrorHandlingExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        for error in &mut response.errors {
            if let Some(internal) = error.source::<Internal>() {
                tracing::error!(domain = internal.domain.name(), detail = %internal.detail, path = ?error.path, "internal error");
                let message = format!("{} at {}", error.message, path_string(error));
                if let Err(db_error) = self
                    .databases
                    .record_error(internal.domain, message, internal.detail.clone())
                    .await
                {
                    tracing::error!(error = %db_error, "could not record an internal error");
                }
            }
            if !has_code(error) {
                // Errors async-graphql raises itself: before execution they are about the
                // request; during execution, about an argument's value.
                let code = if error.path.is_empty() {
                    Code::BadRequest
                } else {
                    Code::BadUserInput
                };
                set_code(error, code);
            }
        }
        response
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        next.run(ctx, query, variables)
            .await
            .map_err(|e| with_code(e, Code::GraphqlParseFailed))
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|e| {
                    let code = validation_code(&e);
                    with_code(e, code)
                })
                .collect()
        })
    }
}

fn path_string(error: &ServerError) -> String {
    let parts: Vec<String> = error
        .path
        .iter()
        .map(|segment| match segment {
            PathSegment::Field(name) => name.clone(),
            PathSegment::Index(index) => index.to_string(),
        })
        .collect();
    if parts.is_empty() {
        "(request)".to_owned()
    } else {
        parts.join(".")
    }
}
