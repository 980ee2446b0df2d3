//! Service errors as GraphQL errors: the code and message a client sees, and what an
//! internal error leaves for the executor to log and record.

use async_graphql::ErrorExtensions;
use migration::Domain;

use super::{Code, Exposed, ServiceError, cause_chain};

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

impl ServiceError {
    /// Maps every variant to what the client sees; `domain` says where it happened.
    pub fn into_graphql(self, domain: Domain) -> async_graphql::Error {
        as_graphql(&self, domain)
    }
}

fn as_graphql(error: &ServiceError, domain: Domain) -> async_graphql::Error {
    match error.exposed() {
        Some(Exposed {
            code,
            message,
            field,
            limit,
            ..
        }) => {
            let error = client_error(code, message);
            let error = match field {
                Some(field) => error.extend_with(move |_, e| e.set("field", field.clone())),
                None => error,
            };
            match limit {
                Some(limit) => error.extend_with(move |_, e| e.set("limit", limit)),
                None => error,
            }
        }
        None => internal(domain, error),
    }
}

/// Maps an error a batch loader shared among several fields.
/// (A client error stays a client error however many fields share it.)
pub fn shared_error(domain: Domain, error: std::sync::Arc<ServiceError>) -> async_graphql::Error {
    as_graphql(&error, domain)
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
