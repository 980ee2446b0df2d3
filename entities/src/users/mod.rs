//! Tables of the users database (`students_project_users`).

pub mod database_engine;
pub mod error_log;
pub mod refresh_family;
pub mod role;
pub mod student_database;
pub mod user;
pub mod user_role;
