//! The error codes clients see, and the one place every service error is mapped to one.
//! Internal errors carry their cause chain to the error-recording extension, never to
//! the client.

use async_graphql::ErrorExtensions;
use migration::Domain;

/// The stable `extensions.code` of every error a client can receive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    BadUserInput,
    NotFound,
    Unauthenticated,
    Forbidden,
    Conflict,
    Busy,
    InternalServerError,
    /// The document is not valid GraphQL syntax.
    GraphqlParseFailed,
    /// The document does not fit the schema.
    GraphqlValidationFailed,
    /// The document nests deeper than the configured limit.
    QueryTooDeep,
    /// The document selects more than the configured complexity.
    QueryTooComplex,
    /// The HTTP request itself is malformed (body, batch, operation choice).
    BadRequest,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::BadUserInput => "BAD_USER_INPUT",
            Code::NotFound => "NOT_FOUND",
            Code::Unauthenticated => "UNAUTHENTICATED",
            Code::Forbidden => "FORBIDDEN",
            Code::Conflict => "CONFLICT",
            Code::Busy => "BUSY",
            Code::InternalServerError => "INTERNAL_SERVER_ERROR",
            Code::GraphqlParseFailed => "GRAPHQL_PARSE_FAILED",
            Code::GraphqlValidationFailed => "GRAPHQL_VALIDATION_FAILED",
            Code::QueryTooDeep => "QUERY_TOO_DEEP",
            Code::QueryTooComplex => "QUERY_TOO_COMPLEX",
            Code::BadRequest => "BAD_REQUEST",
        }
    }

    /// Codes of errors that stop a request before any resolver runs.
    pub fn is_request_error(self) -> bool {
        match self {
            Code::GraphqlParseFailed
            | Code::GraphqlValidationFailed
            | Code::QueryTooDeep
            | Code::QueryTooComplex
            | Code::BadRequest => true,
            Code::BadUserInput
            | Code::NotFound
            | Code::Unauthenticated
            | Code::Forbidden
            | Code::Conflict
            | Code::Busy
            | Code::InternalServerError => false,
        }
    }

    /// The code named by a string, as read back from an error's extensions.
    pub fn parse(code: &str) -> Option<Code> {
        const ALL: [Code; 12] = [
            Code::BadUserInput,
            Code::NotFound,
            Code::Unauthenticated,
            Code::Forbidden,
            Code::Conflict,
            Code::Busy,
            Code::InternalServerError,
            Code::GraphqlParseFailed,
            Code::GraphqlValidationFailed,
            Code::QueryTooDeep,
            Code::QueryTooComplex,
            Code::BadRequest,
        ];
        ALL.into_iter().find(|c| c.as_str() == code)
    }
}

/// An error a client caused or may see, with its code.
pub fn client_error(code: Code, message: impl Into<String>) -> async_graphql::Error {
    async_graphql::Error::new(message).extend_with(|_, e| e.set("code", code.as_str()))
}

/// What an unexpected failure leaves for the error-recording extension: where it
/// happened and its whole cause chain. The client sees neither.
#[derive(Debug)]
pub struct Internal {
    pub domain: Domain,
    pub detail: String,
}

impl std::fmt::Display for Internal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} domain: {}", self.domain.name(), self.detail)
    }
}

/// Message clients see for any internal error.
pub const INTERNAL_MESSAGE: &str = "internal server error";

/// An unexpected failure in `domain`: the client gets a short message and the code.
pub fn internal(domain: Domain, error: &(dyn std::error::Error + 'static)) -> async_graphql::Error {
    let mut error = async_graphql::Error::new_with_source(Internal {
        domain,
        detail: cause_chain(error),
    });
    error.message = INTERNAL_MESSAGE.to_owned();
    error.extend_with(|_, e| e.set("code", Code::InternalServerError.as_str()))
}

/// `error: cause: cause …`, the way the logs and the error tables show it.
pub fn cause_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    chain
}

/// Errors of the reference-data services shared by the three domains.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("database error")]
    Database(#[from] sea_orm::DbErr),
    /// Stored data breaks an invariant the code relies on.
    #[error("corrupt data: {0}")]
    Corrupt(String),
}

impl ServiceError {
    /// Maps every variant to what the client sees; `domain` says where it happened.
    pub fn into_graphql(self, domain: Domain) -> async_graphql::Error {
        match self {
            ServiceError::NotFound(what) => {
                client_error(Code::NotFound, format!("{what} not found"))
            }
            ServiceError::Invalid { field, reason } => {
                client_error(Code::BadUserInput, format!("{field}: {reason}"))
                    .extend_with(|_, e| e.set("field", field))
            }
            ServiceError::Database(error) => internal(domain, &error),
            error @ ServiceError::Corrupt(_) => internal(domain, &error),
        }
    }
}

/// Converts a service result into a GraphQL result, mapping the error once.
pub trait OrGraphql<T> {
    fn or_graphql(self, domain: Domain) -> async_graphql::Result<T>;
}

impl<T> OrGraphql<T> for Result<T, ServiceError> {
    fn or_graphql(self, domain: Domain) -> async_graphql::Result<T> {
        self.map_err(|e| e.into_graphql(domain))
    }
}
