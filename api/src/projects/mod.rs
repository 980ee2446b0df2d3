//! The projects domain: projects, stages, tags, variables, deployments.

pub mod query;
pub mod service;
pub mod types;
