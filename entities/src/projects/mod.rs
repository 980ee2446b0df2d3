//! Tables of the projects database (`students_project_projects`).

pub mod collaborator;
pub mod deployment;
pub mod deployment_log;
pub mod enums;
pub mod environment_variable;
pub mod error_log;
pub mod file;
pub mod job;
pub mod project;
pub mod project_course;
pub mod project_tag;
pub mod rating;
pub mod stage;
pub mod stage_file;
pub mod stage_status;
pub mod statistic;
pub mod tag;
pub mod tag_type;
