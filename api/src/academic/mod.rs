//! The academic domain: subjects, courses, enrolments.

pub mod query;
pub mod service;
pub mod types;
