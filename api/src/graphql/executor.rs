//! The schema as the transports run it: every error leaves with a code, and internal
//! errors are logged with their cause chain and written to their domain's `error_logs`.
//!
//! This wraps execution instead of being an async-graphql extension on purpose: once any
//! extension is registered, async-graphql sends every field through the extension chain
//! (a registry lookup, a formatted type name and a boxed future per field), which cost
//! about a tenth of the gateway's CPU on the benchmark's lists.
//!
//! It also keeps the documents it parsed: clients send the same few operations over and
//! over, and parsing (pest) was a tenth of the gateway's own CPU on small queries.

use std::{
    num::NonZeroUsize,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use async_graphql::{
    Data, Executor, PathSegment, Request, Response, ServerError,
    futures_util::stream::{self, BoxStream, StreamExt},
    parser::types::{ExecutableDocument, OperationType},
};
use lru::LruCache;

use super::{
    AppSchema,
    budget::ResultBudget,
    inputs::{self, InputLimits},
    shape::{self, ShapeError, ShapeLimits},
};
use crate::{
    config::QueryLimits,
    db::Databases,
    error::{Code, INTERNAL_MESSAGE, Internal},
};
use migration::Domain;

/// How many parsed documents are kept, and the longest query text kept.
const DOCUMENTS: usize = 256;
const LONGEST_CACHED_QUERY: usize = 16 * 1024;

type Documents = Mutex<LruCache<String, Arc<ExecutableDocument>>>;

/// The serving schema plus what its errors need.
#[derive(Clone)]
pub struct Gateway {
    schema: AppSchema,
    databases: Databases,
    documents: Arc<Documents>,
    limits: ShapeLimits,
    inputs: InputLimits,
    /// Objects the lists of one answer may hold together.
    max_result_objects: u64,
    /// How long a query or mutation sent over WebSocket may run (HTTP requests get the
    /// same bound from the router); subscriptions run until they end.
    request_timeout: Duration,
}

impl Gateway {
    pub fn new(
        schema: AppSchema,
        databases: Databases,
        limits: &QueryLimits,
        request_timeout: Duration,
    ) -> Self {
        let capacity = NonZeroUsize::new(DOCUMENTS).unwrap_or(NonZeroUsize::MIN);
        Self {
            schema,
            databases,
            documents: Arc::new(Mutex::new(LruCache::new(capacity))),
            limits: limits.shape(),
            inputs: limits.inputs(),
            max_result_objects: limits.max_result_objects,
            request_timeout,
        }
    }

    /// The request with a budget of result objects: its own, unless the transport gave
    /// it one to share (the operations of an HTTP batch).
    fn budgeted(&self, request: Request) -> Request {
        if request
            .data
            .contains_key(&std::any::TypeId::of::<ResultBudget>())
        {
            request
        } else {
            request.data(ResultBudget::new(self.max_result_objects))
        }
    }

    /// Parses the request (or takes its document from the cache) and bounds its
    /// argument values; an error here ends the request before execution. Answers
    /// whether it runs a subscription.
    fn prepare(&self, request: &mut Request) -> Result<bool, ServerError> {
        let document = self.parse(request)?;
        let subscribes = super::operation(&document, request.operation_name.as_deref())
            .is_some_and(|operation| operation.node.ty == OperationType::Subscription);
        inputs::check(
            &document,
            request.operation_name.as_deref(),
            &request.variables,
            self.inputs,
        )
        .map_err(|error| {
            let mut server_error = ServerError::new(error.to_string(), None);
            server_error
                .extensions
                .get_or_insert_with(Default::default)
                .set("field", error.path());
            with_code(server_error, Code::BadUserInput)
        })?;
        Ok(subscribes)
    }

    /// Gives the request its parsed document, from the cache when this text was seen;
    /// a new text is parsed and its shape checked (only documents within the limits are
    /// cached).
    fn parse(&self, request: &mut Request) -> Result<Arc<ExecutableDocument>, ServerError> {
        let lock = || {
            self.documents
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
        };
        let cached = lock().get(request.query.as_str()).cloned();
        if let Some(document) = cached {
            request.set_parsed_query(ExecutableDocument::clone(&document));
            return Ok(document);
        }
        let document = Arc::new(request.parsed_query()?.clone());
        if let Err(error) = shape::check(&document, &self.limits) {
            let code = match error {
                ShapeError::TooLarge { .. } => Code::QueryTooComplex,
                ShapeError::FragmentCycle(_) => Code::GraphqlValidationFailed,
            };
            return Err(with_code(ServerError::new(error.to_string(), None), code));
        }
        if request.query.len() <= LONGEST_CACHED_QUERY {
            lock().put(request.query.clone(), document.clone());
        }
        Ok(document)
    }
}

impl Executor for Gateway {
    async fn execute(&self, mut request: Request) -> Response {
        if let Err(error) = self.prepare(&mut request) {
            return parse_failure(error);
        }
        let request = self.budgeted(request);
        let response = self.schema.execute(request).await;
        finish(&self.databases, response).await
    }

    fn execute_stream(
        &self,
        mut request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        let subscribes = match self.prepare(&mut request) {
            Ok(subscribes) => subscribes,
            Err(error) => return stream::once(async move { parse_failure(error) }).boxed(),
        };
        let request = self.budgeted(request);
        let databases = self.databases.clone();
        let answers = Executor::execute_stream(&self.schema, request, session_data)
            .then(move |response| {
                let databases = databases.clone();
                async move { finish(&databases, response).await }
            })
            .boxed();
        if subscribes {
            return answers;
        }
        // A query or mutation answers once; past the timeout its work is dropped.
        let timeout = self.request_timeout;
        stream::once(async move {
            match tokio::time::timeout(timeout, answers.into_future()).await {
                Ok((Some(response), _)) => response,
                Ok((None, _)) => Response::default(),
                Err(_) => Response::from_errors(vec![with_code(
                    ServerError::new(
                        format!(
                            "the operation ran longer than {} s (REQUEST_TIMEOUT_SECS) and was stopped",
                            timeout.as_secs()
                        ),
                        None,
                    ),
                    Code::Busy,
                )]),
            }
        })
        .boxed()
    }
}

/// A document that did not parse (or broke a shape limit, already coded).
fn parse_failure(error: ServerError) -> Response {
    let error = if has_code(&error) {
        error
    } else {
        with_code(error, Code::GraphqlParseFailed)
    };
    Response::from_errors(vec![error])
}

/// Records internal errors and gives a code to every error that has none.
async fn finish(databases: &Databases, mut response: Response) -> Response {
    for error in &mut response.errors {
        if !has_code(error) {
            uncoded(error);
        }
        if let Some(internal) = error.source::<Internal>() {
            tracing::error!(domain = internal.domain.name(), detail = %internal.detail, path = ?error.path, "internal error");
            let message = format!("{} at {}", error.message, path_string(error));
            if let Err(db_error) = databases
                .record_error(internal.domain, message, internal.detail.clone())
                .await
            {
                tracing::error!(error = %db_error, "could not record an internal error");
            }
        }
    }
    response
}

/// Codes an error nothing coded. async-graphql raises these itself: without a path they
/// are about the request (the document parsed, so validation or operation selection);
/// with one, an argument that did not parse is the client's. Anything else on a path
/// is a failure of ours that no service coded: internal, its text hidden and recorded.
fn uncoded(error: &mut ServerError) {
    if error.path.is_empty() {
        set_code(error, request_error_code(error));
    } else if error.message.starts_with(ARGUMENT_PARSE_FAILURE) {
        set_code(error, Code::BadUserInput);
    } else {
        let detail = std::mem::replace(&mut error.message, INTERNAL_MESSAGE.to_owned());
        let domain = error
            .path
            .first()
            .and_then(|segment| match segment {
                PathSegment::Field(name) => crate::authz::domain_of(name),
                PathSegment::Index(_) => None,
            })
            .unwrap_or(Domain::Projects);
        error.source = Some(Arc::new(Internal { domain, detail }));
        set_code(error, Code::InternalServerError);
    }
}

/// How async-graphql words a value that does not parse as its argument's type.
const ARGUMENT_PARSE_FAILURE: &str = "Failed to parse \"";

/// async-graphql reports these request errors with these exact messages; anything else
/// raised before execution is a validation rule's.
fn request_error_code(error: &ServerError) -> Code {
    let message = error.message.as_str();
    match message {
        "Query is nested too deep." => Code::QueryTooDeep,
        "Query is too complex." => Code::QueryTooComplex,
        "Operation name required in request." => Code::BadRequest,
        _ if message.starts_with("Unknown operation named")
            || message.starts_with("Subscriptions are not supported") =>
        {
            Code::BadRequest
        }
        // Checked right after parsing, on the parsed document.
        _ if message.starts_with("The recursion depth")
            || message.starts_with("The number of directives") =>
        {
            Code::GraphqlParseFailed
        }
        _ => Code::GraphqlValidationFailed,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn on_path(message: &str, field: &str) -> ServerError {
        let mut error = ServerError::new(message, None);
        error.path = vec![PathSegment::Field(field.to_owned())];
        error
    }

    fn code(error: &ServerError) -> String {
        let extensions = error.extensions.as_ref().expect("extensions");
        format!("{}", extensions.get("code").expect("a code"))
    }

    #[test]
    fn an_uncoded_error_on_a_path_is_internal_and_its_text_is_hidden() {
        let mut error = on_path("connection refused (os error 111)", "createCourses");
        uncoded(&mut error);
        assert_eq!(code(&error), "\"INTERNAL_SERVER_ERROR\"");
        assert_eq!(error.message, INTERNAL_MESSAGE);
        let internal = error.source::<Internal>().expect("recorded as internal");
        assert_eq!(internal.domain, Domain::Academic);
        assert_eq!(internal.detail, "connection refused (os error 111)");
    }

    #[test]
    fn an_argument_that_does_not_parse_is_the_clients() {
        let message =
            r#"Failed to parse "Int": Only integers from -2147483648 to 2147483647 are accepted."#;
        let mut error = on_path(message, "project");
        uncoded(&mut error);
        assert_eq!(code(&error), "\"BAD_USER_INPUT\"");
        assert_eq!(error.message, message);
    }

    #[test]
    fn an_uncoded_error_without_a_path_is_about_the_request() {
        let mut error = ServerError::new("Query is nested too deep.", None);
        uncoded(&mut error);
        assert_eq!(code(&error), "\"QUERY_TOO_DEEP\"");
    }
}
