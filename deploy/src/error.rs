//! What the engine's operations can fail with, for the gateway to map to its codes.

use sea_orm::DbErr;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    /// Deploys cannot run here (no sandbox, no runtime); the message says why.
    #[error("{0}")]
    Unavailable(String),
    /// The one who asked holds as much as the setting `limit` allows.
    #[error("{reason}")]
    LimitReached { limit: &'static str, reason: String },
    #[error("a newer claim holds this job: the write was refused")]
    LeaseLost,
    #[error(transparent)]
    Database(#[from] DbErr),
    #[error("{0}")]
    Io(String),
}

impl EngineError {
    pub fn io(what: impl std::fmt::Display, error: std::io::Error) -> Self {
        Self::Io(format!("{what}: {error}"))
    }
}
