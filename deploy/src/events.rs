//! One event per state change of a job or deployment, and per log line, for whoever
//! follows deploys live (subscriptions come with the next issue). Ids only: a
//! subscriber reads the rows it cares about.

use entities::projects::enums::LogKind;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A job or its deployment changed status, progress or message.
    Changed {
        job_id: i32,
        deployment_id: i32,
        project_id: i32,
    },
    /// Lines were appended to a deployment's log.
    Logged { deployment_id: i32, kind: LogKind },
    /// A project's app started, stopped or died.
    AppChanged { project_id: i32 },
}
