//! The projects domain's authorization table: who may call each operation and, for an
//! operation on one project, who may act on that project (the services check it once
//! the project is loaded).

use crate::authz::{ADMIN, Policy, STAFF};
pub use crate::authz::{ProjectRule, Rule, authorize, require};

/// Every operation of the projects domain, with its rules.
pub const TABLE: &[Policy] = &[
    Policy::call("stageStatuses", Rule::Anyone),
    Policy::call("tags", Rule::Anyone),
    Policy::call("createTag", Rule::AnyRole(STAFF)),
    Policy::call("renameTag", Rule::AnyRole(STAFF)),
    Policy::call("deleteTag", Rule::AnyRole(STAFF)),
    Policy::call("slugAvailable", Rule::SignedIn),
    Policy::call("project", Rule::SignedIn),
    Policy::call("projectBySlug", Rule::SignedIn),
    Policy::call("projects", Rule::SignedIn),
    Policy::call("createProject", Rule::SignedIn),
    Policy::project("updateProject", ProjectRule::Members),
    Policy::project("deleteProject", ProjectRule::OwnerOnly),
    Policy::project("addCollaborator", ProjectRule::OwnerOnly),
    Policy::project("removeCollaborator", ProjectRule::OwnerOnly),
    Policy::project("rateProject", ProjectRule::NotMembers),
    Policy::project("linkCourse", ProjectRule::Members),
    Policy::project("unlinkCourse", ProjectRule::Members),
    Policy::project("tagProject", ProjectRule::Members),
    Policy::project("untagProject", ProjectRule::Members),
    Policy::project("createStage", ProjectRule::Members),
    Policy::project("updateStage", ProjectRule::Members),
    Policy::project("deleteStage", ProjectRule::Members),
    Policy::project("attachStageFile", ProjectRule::Members),
    Policy::project("detachStageFile", ProjectRule::Members),
    Policy::project("setEnvironmentVariable", ProjectRule::Members),
    Policy::project("deleteEnvironmentVariable", ProjectRule::Members),
    Policy::call("job", Rule::SignedIn),
    Policy::call("deployment", Rule::SignedIn),
    Policy::call("workers", Rule::AnyRole(ADMIN)),
    Policy::call("deployQueue", Rule::AnyRole(ADMIN)),
    Policy::project("deployProject", ProjectRule::Members),
    Policy::project("cancelDeployment", ProjectRule::Members),
    Policy::project("stopProject", ProjectRule::Members),
    Policy::project("startProject", ProjectRule::Members),
    Policy::call("deploymentUpdates", Rule::SignedIn),
    Policy::call("projectDeployments", Rule::SignedIn),
];
