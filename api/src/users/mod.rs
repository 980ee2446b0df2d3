//! The users domain: people, their roles, sign-in and tokens, student databases.

pub mod authz;
pub mod google;
pub mod loaders;
pub mod model;
pub mod mutation;
pub mod query;
pub mod service;
pub mod student_databases;
pub mod tokens;
pub mod types;
pub mod viewer;
