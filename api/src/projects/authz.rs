//! The projects domain's authorization table. On top, the services check the project:
//! owner and collaborators write, the owner manages members and deletes, admins do all.

use std::sync::Arc;

use async_graphql::Context;

pub use crate::authz::Rule;
use crate::{error::ServiceError, users::viewer::Viewer};

/// Every operation of the projects domain, with its rule.
pub const TABLE: &[(&str, Rule)] = &[
    ("stageStatuses", Rule::Anyone),
    ("tags", Rule::Anyone),
    ("createTag", Rule::AnyRole(crate::authz::STAFF)),
    ("renameTag", Rule::AnyRole(crate::authz::STAFF)),
    ("deleteTag", Rule::AnyRole(crate::authz::STAFF)),
    ("slugAvailable", Rule::SignedIn),
    ("project", Rule::SignedIn),
    ("projectBySlug", Rule::SignedIn),
    ("projects", Rule::SignedIn),
    ("createProject", Rule::SignedIn),
    ("updateProject", Rule::SignedIn),
    ("deleteProject", Rule::SignedIn),
    ("addCollaborator", Rule::SignedIn),
    ("removeCollaborator", Rule::SignedIn),
    ("rateProject", Rule::SignedIn),
    ("linkCourse", Rule::SignedIn),
    ("unlinkCourse", Rule::SignedIn),
    ("tagProject", Rule::SignedIn),
    ("untagProject", Rule::SignedIn),
    ("createStage", Rule::SignedIn),
    ("updateStage", Rule::SignedIn),
    ("deleteStage", Rule::SignedIn),
    ("attachStageFile", Rule::SignedIn),
    ("detachStageFile", Rule::SignedIn),
    ("setEnvironmentVariable", Rule::SignedIn),
    ("deleteEnvironmentVariable", Rule::SignedIn),
    ("job", Rule::SignedIn),
    ("deployment", Rule::SignedIn),
    ("workers", Rule::AnyRole(crate::authz::ADMIN)),
    ("deployQueue", Rule::AnyRole(crate::authz::ADMIN)),
    ("deployProject", Rule::SignedIn),
    ("cancelDeployment", Rule::SignedIn),
    ("stopProject", Rule::SignedIn),
    ("startProject", Rule::SignedIn),
    ("deploymentUpdates", Rule::SignedIn),
    ("projectDeployments", Rule::SignedIn),
];

/// Who may do what to one project, beyond the table (checked by the services).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProjectRule {
    /// Owner, collaborators, admins.
    Members,
    /// Owner, admins.
    OwnerOnly,
    /// Any signed-in user but the owner and collaborators.
    NotMembers,
}

/// The per-project rule of each mutation.
pub const PROJECT_RULES: &[(&str, ProjectRule)] = &[
    ("updateProject", ProjectRule::Members),
    ("deleteProject", ProjectRule::OwnerOnly),
    ("addCollaborator", ProjectRule::OwnerOnly),
    ("removeCollaborator", ProjectRule::OwnerOnly),
    ("rateProject", ProjectRule::NotMembers),
    ("linkCourse", ProjectRule::Members),
    ("unlinkCourse", ProjectRule::Members),
    ("tagProject", ProjectRule::Members),
    ("untagProject", ProjectRule::Members),
    ("createStage", ProjectRule::Members),
    ("updateStage", ProjectRule::Members),
    ("deleteStage", ProjectRule::Members),
    ("attachStageFile", ProjectRule::Members),
    ("detachStageFile", ProjectRule::Members),
    ("setEnvironmentVariable", ProjectRule::Members),
    ("deleteEnvironmentVariable", ProjectRule::Members),
    ("deployProject", ProjectRule::Members),
    ("cancelDeployment", ProjectRule::Members),
    ("stopProject", ProjectRule::Members),
    ("startProject", ProjectRule::Members),
];

pub async fn authorize(
    ctx: &Context<'_>,
    operation: &str,
) -> Result<Option<Arc<Viewer>>, ServiceError> {
    crate::authz::authorize(ctx, TABLE, operation).await
}

pub async fn require(ctx: &Context<'_>, operation: &str) -> Result<Arc<Viewer>, ServiceError> {
    crate::authz::require(ctx, TABLE, operation).await
}
