//! The users domain: people, their roles, their student databases.

pub mod query;
pub mod service;
pub mod types;
