//! The GraphQL gateway of the student-projects platform: three domain schemas (users,
//! academic, projects), each on its own database, merged behind one endpoint.

pub mod academic;
pub mod app;
pub mod authz;
pub mod check;
pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod graphql;
pub mod http;
pub mod links;
pub mod paging;
pub mod projects;
pub mod secrets;
pub mod seed;
pub mod state;
pub mod stored_enum;
pub mod throttle;
pub mod users;
