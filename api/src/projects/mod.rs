//! The projects domain: projects, members, ratings, stages and files, tags, variables.

pub mod authz;
pub mod crypto;
pub mod deploys;
pub mod files;
pub mod loaders;
pub mod model;
pub mod mutation;
pub mod query;
pub mod service;
pub mod sniff;
pub mod tag_mutation;
pub mod tags;
pub mod types;
