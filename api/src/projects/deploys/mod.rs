//! Deploying projects, the GraphQL side: mutations that queue, cancel, stop and start;
//! queries over jobs, deployments and their logs, and the admin's view of workers and
//! the queue. The work itself is the `deploy` crate's engine, held in the app state.

pub mod loaders;
pub mod mutation;
pub mod query;
pub mod service;
pub mod subscription;
pub mod types;
