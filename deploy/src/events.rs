//! One event per state change of a job or deployment, and per batch of log lines, for
//! whoever follows deploys live. A change carries the state it moved to (so a follower
//! sees every step in order, not only the latest row); log lines are read from the
//! database by id.

use entities::projects::enums::{JobStatus, LogKind};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A job or its deployment changed status, progress or message.
    Changed {
        job_id: i32,
        deployment_id: i32,
        project_id: i32,
        status: JobStatus,
        /// `None` where the change does not touch progress (a cancel, a failure).
        progress: Option<i32>,
        message: String,
    },
    /// Lines were appended to a deployment's log.
    Logged { deployment_id: i32, kind: LogKind },
    /// A project's app started, stopped or died (`message` says how).
    AppChanged {
        project_id: i32,
        running: bool,
        message: String,
    },
}
