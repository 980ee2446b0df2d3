//! What the projects services take: plain Rust values with ids already parsed, built
//! from the GraphQL inputs in `types/inputs.rs` (and by the seed, without GraphQL).

use crate::stored_enum::stored_enum;

stored_enum!(
    /// How far a stage of a project's work has come.
    StageStatusName {
        NotStarted = "NOT_STARTED",
        InProgress = "IN_PROGRESS",
        InReview = "IN_REVIEW",
        Completed = "COMPLETED",
    }
);

/// A project to create; the viewer owns it.
#[derive(Clone, Debug)]
pub struct NewProject {
    pub name: String,
    pub slug: String,
    pub repository_url: String,
    pub container_port: i32,
    pub static_path: Option<String>,
    pub description: Option<String>,
    pub image_file_id: Option<i32>,
    pub course_ids: Vec<i32>,
    pub tag_ids: Vec<i32>,
}

/// Changes to a project; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Clone, Debug, Default)]
pub struct ProjectPatch {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub repository_url: Option<String>,
    pub container_port: Option<i32>,
    pub static_path: Option<Option<String>>,
    pub description: Option<String>,
    pub image_file_id: Option<Option<i32>>,
}

/// Which projects a list holds.
#[derive(Clone, Debug, Default)]
pub struct ProjectQuery {
    /// Any of these tags.
    pub tag_ids: Vec<i32>,
    pub owner_id: Option<i32>,
    /// Owner or collaborator.
    pub member_id: Option<i32>,
    pub course_id: Option<i32>,
    /// Case-insensitive text in the name.
    pub search: Option<String>,
}

/// A stage to create.
#[derive(Clone, Debug)]
pub struct NewStage {
    pub project_id: i32,
    pub name: String,
    pub description: Option<String>,
    pub status: Option<StageStatusName>,
}

/// Changes to a stage; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct StagePatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub status: Option<StageStatusName>,
}
