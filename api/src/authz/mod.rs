//! Authorization, in one table per domain: for each root field of the schema, who may
//! call it (`Rule`) and, where the operation acts on one object, who may act on that
//! object (`Object`). Resolvers never name their operation: [`require`] and
//! [`authorize`] find it from the field being resolved, and the services read the
//! object rule from the [`Grant`] they are handed. A root field without a row is
//! refused to everyone (and fails `every_root_field_has_exactly_one_rule`).

mod context;
pub mod stream;

use std::{ops::Deref, sync::Arc};

use migration::Domain;

pub use self::context::{authorize, require, require_argument};
use crate::users::{model::RoleName, viewer::Viewer};

/// Who may call an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Anyone, signed in or not.
    Anyone,
    /// Any signed-in, active user.
    SignedIn,
    /// A signed-in user holding one of these roles.
    AnyRole(&'static [RoleName]),
}

/// Who may act on the one object an operation names, checked by the service once the
/// object is loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Object {
    /// The operation names no object, or every caller the `Rule` admits may act on it.
    Any,
    /// A project: see [`ProjectRule`].
    Project(ProjectRule),
    /// A course's enrolments: its teacher, admin and support.
    CourseTeacherOrStaff,
}

/// Who may act on one project.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProjectRule {
    /// Owner, collaborators, admins.
    Members,
    /// Owner, admins.
    OwnerOnly,
    /// Any signed-in user but the owner and collaborators.
    NotMembers,
}

/// One row of a domain's table.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// The root field (or `field(argument)` for an argument with a rule of its own).
    pub operation: &'static str,
    pub caller: Rule,
    pub object: Object,
}

impl Policy {
    /// An operation on no particular object.
    pub const fn call(operation: &'static str, caller: Rule) -> Policy {
        Policy {
            operation,
            caller,
            object: Object::Any,
        }
    }

    /// A signed-in operation on one project.
    pub const fn project(operation: &'static str, rule: ProjectRule) -> Policy {
        Policy {
            operation,
            caller: Rule::SignedIn,
            object: Object::Project(rule),
        }
    }
}

pub const STAFF: &[RoleName] = &[RoleName::Admin, RoleName::Support];
pub const ADMIN: &[RoleName] = &[RoleName::Admin];

/// Every domain's table.
pub const TABLES: [(Domain, &[Policy]); 3] = [
    (Domain::Users, crate::users::authz::TABLE),
    (Domain::Academic, crate::academic::authz::TABLE),
    (Domain::Projects, crate::projects::authz::TABLE),
];

/// The row of `operation`, and the domain whose table holds it.
pub fn policy(operation: &str) -> Option<(Domain, &'static Policy)> {
    TABLES.iter().find_map(|(domain, table)| {
        table
            .iter()
            .find(|policy| policy.operation == operation)
            .map(|policy| (*domain, policy))
    })
}

/// The domain a root field belongs to.
pub fn domain_of(operation: &str) -> Option<Domain> {
    policy(operation).map(|(domain, _)| domain)
}

/// A signed-in viewer the table admitted, with the object rule of the operation.
#[derive(Clone, Debug)]
pub struct Grant {
    pub viewer: Arc<Viewer>,
    pub object: Object,
}

impl Grant {
    /// What `operation`'s row grants `viewer`, for work the gateway does on a person's
    /// behalf without a request (the seed): the services then apply the same object
    /// rule as for the person's own request.
    pub fn as_operation(viewer: Arc<Viewer>, operation: &str) -> Grant {
        Grant {
            viewer,
            object: policy(operation).map_or(Object::Any, |(_, policy)| policy.object),
        }
    }
}

impl Deref for Grant {
    type Target = Viewer;

    fn deref(&self) -> &Viewer {
        &self.viewer
    }
}

/// Whether `rule` admits `viewer` (`None`: anonymous), without an error to report.
pub fn rule_admits(rule: &Rule, viewer: Option<&Viewer>) -> bool {
    match (rule, viewer) {
        (Rule::Anyone, _) => true,
        (_, None) => false,
        (Rule::SignedIn, Some(_)) => true,
        (Rule::AnyRole(roles), Some(viewer)) => roles.iter().any(|role| viewer.has(*role)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every root field of Query, Mutation and Subscription has exactly one row, and
    /// every row (but argument rules) names a root field: a new operation without a
    /// rule fails here, not in production.
    #[tokio::test]
    async fn every_root_field_has_exactly_one_rule() {
        let fields = crate::graphql::root_fields().await;
        assert!(fields.len() > 60, "introspection found only {fields:?}");
        let rows: Vec<&str> = TABLES
            .iter()
            .flat_map(|(_, table)| table.iter().map(|p| p.operation))
            .collect();
        for field in &fields {
            let count = rows.iter().filter(|row| *row == field).count();
            assert_eq!(count, 1, "{field} has {count} authorization rules, not 1");
        }
        for row in &rows {
            let field = row.split('(').next().unwrap_or(row);
            assert!(fields.contains(field), "the rule {row} names no root field");
        }
    }
}
