//! One event per state change of a job or deployment, and per batch of log lines, for
//! whoever follows deploys live. A change carries the state it moved to (so a follower
//! sees every step in order, not only the latest row); log lines are read from the
//! database by id.

use entities::projects::enums::{JobStatus, LogKind};
use sea_orm::{ActiveEnum, ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use tokio::sync::{broadcast, mpsc};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A job or its deployment changed status, progress or message.
    Changed {
        job_id: i32,
        deployment_id: i32,
        project_id: i32,
        status: JobStatus,
        /// Where the job got to (kept by a cancel or a failure): followers never read it
        /// back, so one event costs no query per subscriber.
        progress: i32,
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

/// The channel on which replicas tell each other about events (PostgreSQL NOTIFY).
pub const CHANNEL: &str = "deploy_events";

/// Where events go: this process's subscribers, and on PostgreSQL the other replicas
/// (one NOTIFY per event, sent in order by one task; the payload is the event itself,
/// small: ids, status, progress, a message cut to 500 bytes).
#[derive(Clone)]
pub struct Events {
    local: broadcast::Sender<Event>,
    remote: Option<mpsc::UnboundedSender<String>>,
    replica: String,
}

impl Events {
    /// Events of this replica; on PostgreSQL they are also sent to the others.
    pub fn new(db: &DatabaseConnection, replica: &str) -> Self {
        let (local, _) = broadcast::channel(1024);
        let remote = (db.get_database_backend() == DbBackend::Postgres).then(|| {
            let (tx, mut rx) = mpsc::unbounded_channel::<String>();
            let db = db.clone();
            tokio::spawn(async move {
                while let Some(payload) = rx.recv().await {
                    let sent = db
                        .execute_raw(Statement::from_sql_and_values(
                            DbBackend::Postgres,
                            "SELECT pg_notify($1, $2)",
                            [CHANNEL.into(), payload.into()],
                        ))
                        .await;
                    if let Err(error) = sent {
                        tracing::warn!(%error, "cannot tell other replicas about a deploy event");
                    }
                }
            });
            tx
        });
        Self {
            local,
            remote,
            replica: replica.to_owned(),
        }
    }

    pub fn send(&self, event: Event) {
        if let Some(remote) = &self.remote {
            let _ = remote.send(Wire::of(&event, &self.replica).to_string());
        }
        let _ = self.local.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.local.subscribe()
    }

    /// Delivers another replica's event to this one's subscribers; `None` when the
    /// payload is this replica's own or unreadable, else the event.
    pub fn deliver(&self, payload: &str) -> Option<Event> {
        let wire: Wire = serde_json::from_str(payload).ok()?;
        if wire.replica == self.replica {
            return None;
        }
        let event = wire.event()?;
        let _ = self.local.send(event.clone());
        Some(event)
    }
}

/// An event as it travels between replicas.
#[derive(serde::Serialize, serde::Deserialize)]
struct Wire {
    replica: String,
    kind: String,
    job_id: i32,
    deployment_id: i32,
    project_id: i32,
    status: Option<String>,
    progress: i32,
    message: String,
    log: Option<String>,
    running: Option<bool>,
}

fn cut(message: &str) -> String {
    let mut end = message.len().min(500);
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    message[..end].to_owned()
}

impl Wire {
    fn of(event: &Event, replica: &str) -> Self {
        let mut wire = Wire {
            replica: replica.to_owned(),
            kind: String::new(),
            job_id: 0,
            deployment_id: 0,
            project_id: 0,
            status: None,
            progress: 0,
            message: String::new(),
            log: None,
            running: None,
        };
        match event {
            Event::Changed {
                job_id,
                deployment_id,
                project_id,
                status,
                progress,
                message,
            } => {
                wire.kind = "changed".into();
                wire.job_id = *job_id;
                wire.deployment_id = *deployment_id;
                wire.project_id = *project_id;
                wire.status = Some(status.to_value());
                wire.progress = *progress;
                wire.message = cut(message);
            }
            Event::Logged {
                deployment_id,
                kind,
            } => {
                wire.kind = "logged".into();
                wire.deployment_id = *deployment_id;
                wire.log = Some(kind.to_value());
            }
            Event::AppChanged {
                project_id,
                running,
                message,
            } => {
                wire.kind = "app".into();
                wire.project_id = *project_id;
                wire.running = Some(*running);
                wire.message = cut(message);
            }
        }
        wire
    }

    fn event(self) -> Option<Event> {
        match self.kind.as_str() {
            "changed" => Some(Event::Changed {
                job_id: self.job_id,
                deployment_id: self.deployment_id,
                project_id: self.project_id,
                status: JobStatus::try_from_value(&self.status?).ok()?,
                progress: self.progress,
                message: self.message,
            }),
            "logged" => Some(Event::Logged {
                deployment_id: self.deployment_id,
                kind: LogKind::try_from_value(&self.log?).ok()?,
            }),
            "app" => Some(Event::AppChanged {
                project_id: self.project_id,
                running: self.running?,
                message: self.message,
            }),
            _ => None,
        }
    }
}

impl std::fmt::Display for Wire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = serde_json::to_string(self).map_err(|_| std::fmt::Error)?;
        f.write_str(&text)
    }
}

/// Listens for the other replicas' events and delivers them here; a queued job wakes
/// this replica's dispatcher, a cancelled one running here is stopped. Reconnects on its own (sqlx's listener does).
pub(crate) async fn listen(
    db: DatabaseConnection,
    events: Events,
    wake: std::sync::Arc<tokio::sync::Notify>,
    manager: crate::manager::Manager,
    stop: tokio_util::sync::CancellationToken,
) {
    let pool = db.get_postgres_connection_pool().clone();
    let mut listener = match sea_orm::sqlx::postgres::PgListener::connect_with(&pool).await {
        Ok(listener) => listener,
        Err(error) => {
            tracing::warn!(%error, "cannot listen for other replicas' deploy events");
            return;
        }
    };
    if let Err(error) = listener.listen(CHANNEL).await {
        tracing::warn!(%error, "cannot listen for other replicas' deploy events");
        return;
    }
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            received = listener.recv() => match received {
                Ok(notification) => match events.deliver(notification.payload()) {
                    // Queued elsewhere: claim it if a slot is free.
                    Some(Event::Changed { status: JobStatus::Pending, .. }) => wake.notify_one(),
                    // Cancelled elsewhere while it runs here: stop it now, not at the
                    // next heartbeat.
                    Some(Event::Changed { status: JobStatus::Cancelled, job_id, .. }) => {
                        manager.finish_job(job_id);
                    }
                    _ => {}
                },
                Err(error) => {
                    tracing::warn!(%error, "lost the deploy events channel; retrying");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            }
        }
    }
}
