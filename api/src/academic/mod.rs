//! The academic domain: subjects, courses, enrolments.

pub mod authz;
pub mod loaders;
pub mod model;
pub mod mutation;
pub mod query;
pub mod service;
pub mod types;
