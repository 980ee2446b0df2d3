//! The error codes clients see, and the one place every service error is mapped to one.
//! Internal errors carry their cause chain to the error-recording extension, never to
//! the client.

mod graphql;

pub use self::graphql::{
    INTERNAL_MESSAGE, Internal, OrGraphql, client_error, internal, shared_error,
};

/// The stable `extensions.code` of every error a client can receive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    BadUserInput,
    NotFound,
    Unauthenticated,
    Forbidden,
    Conflict,
    Busy,
    /// The server cannot do this here (deploys refused without a sandbox).
    Unavailable,
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
    /// The caller went past a rate limit; try again after `Retry-After`.
    RateLimited,
    /// The caller holds as much of something as a setting allows (`extensions.limit`
    /// names the setting): active deploys, projects.
    LimitReached,
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
            Code::Unavailable => "UNAVAILABLE",
            Code::InternalServerError => "INTERNAL_SERVER_ERROR",
            Code::GraphqlParseFailed => "GRAPHQL_PARSE_FAILED",
            Code::GraphqlValidationFailed => "GRAPHQL_VALIDATION_FAILED",
            Code::QueryTooDeep => "QUERY_TOO_DEEP",
            Code::QueryTooComplex => "QUERY_TOO_COMPLEX",
            Code::BadRequest => "BAD_REQUEST",
            Code::RateLimited => "RATE_LIMITED",
            Code::LimitReached => "LIMIT_REACHED",
        }
    }

    /// Codes of errors that stop a request before any resolver runs.
    pub fn is_request_error(self) -> bool {
        match self {
            Code::GraphqlParseFailed
            | Code::GraphqlValidationFailed
            | Code::QueryTooDeep
            | Code::QueryTooComplex
            | Code::BadRequest
            | Code::RateLimited => true,
            Code::BadUserInput
            | Code::NotFound
            | Code::Unauthenticated
            | Code::Forbidden
            | Code::Conflict
            | Code::Busy
            | Code::Unavailable
            | Code::LimitReached
            | Code::InternalServerError => false,
        }
    }

    /// The code named by a string, as read back from an error's extensions.
    pub fn parse(code: &str) -> Option<Code> {
        const ALL: [Code; 15] = [
            Code::BadUserInput,
            Code::NotFound,
            Code::Unauthenticated,
            Code::Forbidden,
            Code::Conflict,
            Code::Busy,
            Code::Unavailable,
            Code::InternalServerError,
            Code::GraphqlParseFailed,
            Code::GraphqlValidationFailed,
            Code::QueryTooDeep,
            Code::QueryTooComplex,
            Code::BadRequest,
            Code::RateLimited,
            Code::LimitReached,
        ];
        ALL.into_iter().find(|c| c.as_str() == code)
    }
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

/// What a service of any domain can answer instead of a result. Every variant is mapped
/// to exactly one code in [`ServiceError::into_graphql`].
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("{field}: {reason}")]
    Conflict { field: String, reason: String },
    #[error("{0}")]
    Busy(String),
    #[error("{0}")]
    Unavailable(String),
    /// The caller holds as much as the setting `limit` allows.
    #[error("{reason}")]
    LimitReached { limit: &'static str, reason: String },
    #[error("database error")]
    Database(#[source] sea_orm::DbErr),
    /// Stored data breaks an invariant the code relies on.
    #[error("corrupt data: {0}")]
    Corrupt(String),
    /// Any other unexpected failure, with its cause chain.
    #[error(transparent)]
    Internal(anyhow::Error),
}

impl ServiceError {
    /// An unexpected failure, keeping `error`'s cause chain for the error log.
    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        ServiceError::Internal(error.into())
    }
}

impl From<sea_orm::DbErr> for ServiceError {
    /// A unique-constraint violation is a conflict naming the field; a database that
    /// cannot be reached (no connection within the acquire timeout, or one lost) is
    /// UNAVAILABLE; anything else is an internal database error.
    fn from(error: sea_orm::DbErr) -> Self {
        match error.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(message)) => ServiceError::Conflict {
                field: conflicting_field(&message),
                reason: "already exists".into(),
            },
            _ if unreachable(&error) => {
                tracing::warn!(%error, "a database is unreachable");
                ServiceError::Unavailable(
                    "a database is unreachable right now; try again shortly".into(),
                )
            }
            _ => ServiceError::Database(error),
        }
    }
}

/// Whether `error` says the database could not be reached, rather than that a statement
/// was wrong.
fn unreachable(error: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr, sqlx::Error};
    match error {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            matches!(
                e.as_ref(),
                Error::Io(_) | Error::PoolTimedOut | Error::PoolClosed | Error::WorkerCrashed
            )
        }
        _ => false,
    }
}

impl From<deploy::EngineError> for ServiceError {
    fn from(error: deploy::EngineError) -> Self {
        use deploy::EngineError as E;
        match error {
            E::NotFound(what) => ServiceError::NotFound(what),
            E::Conflict(reason) => ServiceError::conflict("deployment", reason),
            E::Unavailable(reason) => ServiceError::Unavailable(reason),
            E::LimitReached { limit, reason } => ServiceError::LimitReached { limit, reason },
            E::Database(error) => ServiceError::from(error),
            error @ (E::LeaseLost | E::Io(_)) => ServiceError::internal(error),
        }
    }
}

/// The column(s) a unique violation names: SQLite says `UNIQUE constraint failed:
/// users.email`; PostgreSQL names the constraint (`users_email_key`, or our
/// `uq_<table>_<columns>` indexes).
fn conflicting_field(message: &str) -> String {
    if let Some(columns) = message.split("UNIQUE constraint failed: ").nth(1) {
        return columns
            .split(',')
            .map(|c| c.trim().rsplit('.').next().unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
            .join(", ");
    }
    let constraint = message.split('"').nth(1).unwrap_or(message);
    constraint
        .strip_prefix("uq_")
        .map(|rest| rest.split_once('_').map_or(rest, |(_, columns)| columns))
        .or_else(|| {
            constraint
                .strip_suffix("_key")
                .map(|rest| rest.split_once('_').map_or(rest, |(_, column)| column))
        })
        .unwrap_or(constraint)
        .to_owned()
}

impl ServiceError {
    pub fn forbidden(reason: impl Into<String>) -> Self {
        ServiceError::Forbidden(reason.into())
    }

    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        ServiceError::Invalid {
            field,
            reason: reason.into(),
        }
    }

    pub fn conflict(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ServiceError::Conflict {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Maps a database error, naming the conflict when it is a unique violation:
    /// `.map_err(ServiceError::conflict_as("tagId", "already tagged"))`.
    pub fn conflict_as(
        field: &'static str,
        reason: &'static str,
    ) -> impl FnOnce(sea_orm::DbErr) -> ServiceError {
        move |error| match ServiceError::from(error) {
            ServiceError::Conflict { .. } => ServiceError::conflict(field, reason),
            other => other,
        }
    }

    /// What a client may learn of this error: its code, HTTP status (for routes outside
    /// GraphQL), message and the field it names; `None` for an internal error, which is
    /// logged and hidden. The one table of variants to codes, for GraphQL and the file
    /// routes alike.
    pub fn exposed(&self) -> Option<Exposed> {
        use axum::http::StatusCode as S;
        let (code, status, message, field) = match self {
            ServiceError::Unauthenticated(reason) => {
                (Code::Unauthenticated, S::UNAUTHORIZED, reason.clone(), None)
            }
            ServiceError::Forbidden(reason) => {
                (Code::Forbidden, S::FORBIDDEN, reason.clone(), None)
            }
            ServiceError::NotFound(what) => (
                Code::NotFound,
                S::NOT_FOUND,
                format!("{what} not found"),
                None,
            ),
            ServiceError::Invalid { field, reason } => (
                Code::BadUserInput,
                S::BAD_REQUEST,
                format!("{field}: {reason}"),
                Some((*field).to_owned()),
            ),
            ServiceError::Conflict { field, reason } => (
                Code::Conflict,
                S::CONFLICT,
                format!("{field}: {reason}"),
                Some(field.clone()),
            ),
            ServiceError::Busy(reason) => {
                (Code::Busy, S::SERVICE_UNAVAILABLE, reason.clone(), None)
            }
            ServiceError::Unavailable(reason) => (
                Code::Unavailable,
                S::SERVICE_UNAVAILABLE,
                reason.clone(),
                None,
            ),
            ServiceError::LimitReached { limit, reason } => (
                Code::LimitReached,
                S::CONFLICT,
                format!("{reason} ({limit})"),
                None,
            ),
            ServiceError::Database(_) | ServiceError::Corrupt(_) | ServiceError::Internal(_) => {
                return None;
            }
        };
        let limit = match self {
            ServiceError::LimitReached { limit, .. } => Some(*limit),
            _ => None,
        };
        Some(Exposed {
            code,
            status,
            message,
            field,
            limit,
        })
    }
}

/// What a client is told of a service error ([`ServiceError::exposed`]).
#[derive(Debug, PartialEq, Eq)]
pub struct Exposed {
    pub code: Code,
    pub status: axum::http::StatusCode,
    pub message: String,
    pub field: Option<String>,
    /// The setting a `LIMIT_REACHED` names.
    pub limit: Option<&'static str>,
}

#[cfg(test)]
mod tests {
    use super::conflicting_field;

    #[test]
    fn a_client_error_keeps_its_code_however_many_fields_share_it() {
        use super::*;
        use migration::Domain;
        let shared = std::sync::Arc::new(ServiceError::NotFound("course"));
        let _another_field = shared.clone();
        let error = shared_error(Domain::Academic, shared);
        let code = error
            .extensions
            .as_ref()
            .and_then(|e| e.get("code"))
            .cloned();
        assert_eq!(code, Some(async_graphql::Value::from("NOT_FOUND")));
        assert_eq!(error.message, "course not found");
        let internal = ServiceError::internal(anyhow::anyhow!("boom"));
        assert_eq!(internal.exposed(), None, "internal errors are hidden");
        let invalid = ServiceError::invalid("name", "too long").exposed();
        assert_eq!(
            invalid.map(|e| (e.code, e.status.as_u16(), e.field)),
            Some((Code::BadUserInput, 400, Some("name".into())))
        );
    }

    #[test]
    fn conflicts_name_the_field_on_both_backends() {
        assert_eq!(
            conflicting_field("UNIQUE constraint failed: users.email"),
            "email"
        );
        assert_eq!(
            conflicting_field("duplicate key value violates unique constraint \"users_email_key\""),
            "email"
        );
        assert_eq!(
            conflicting_field(
                "duplicate key value violates unique constraint \"uq_enrollments_course_student\""
            ),
            "course_student"
        );
    }
}
