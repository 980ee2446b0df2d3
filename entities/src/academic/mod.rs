//! Tables of the academic database (`students_project_academic`).

pub mod course;
pub mod enrollment;
pub mod error_log;
pub mod subject;
