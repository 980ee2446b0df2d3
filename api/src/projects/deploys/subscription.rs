//! Following deploys live over graphql-transport-ws: one deployment's steps and log
//! lines until it ends, or every deployment change of a project. A stream starts with
//! the current state (a late subscriber misses nothing), then follows the engine's
//! events (log lines as they are written, a batch at a time while the build runs); a
//! subscriber too slow for the event channel gets the current state read again instead
//! of a backlog, so what one holds never grows. Every update is sent only after the
//! caller's authorization is checked again (`authz::stream`): a stream whose token
//! expired, whose user signed out or was deactivated, or, for log lines, who is no
//! longer a member ends with one error and sends nothing more.

use async_graphql::{Context, ID, Result, SimpleObject, Subscription};
use entities::projects::{deployment, deployment_log, enums::JobStatus, job};
use futures_util::{Stream, stream};
use migration::Domain;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tokio::sync::broadcast::{self, error::RecvError};

use super::types::{DeploymentLog, DeploymentStatus};
use crate::{
    authz::stream::StreamGuard,
    db::ProjectsDb,
    error::{OrGraphql, ServiceError},
    graphql::ids::parse_id,
    projects::{authz, service as projects},
    state::AppState,
};

/// Most log lines one update carries; more arrive in the next ones.
const LINES_PER_UPDATE: u64 = 500;

/// A deployment's state at one step, with the log lines written since the last update.
#[derive(SimpleObject)]
pub struct DeploymentUpdate {
    /// The deployment this update is about.
    pub deployment_id: ID,
    /// The job that runs it.
    pub job_id: ID,
    /// The project deployed.
    pub project_id: ID,
    /// Its status after this step.
    pub status: DeploymentStatus,
    /// 0 to 100.
    pub progress: i32,
    /// What the step said (the failure's cause when FAILED).
    pub message: String,
    /// Whether the project's app runs, when this update is about the app (it started,
    /// stopped or died); null for the deploy's own steps.
    pub running: Option<bool>,
    /// New BUILD and RUNTIME lines, oldest first (only for the project's members and
    /// admins: an app may print its secrets).
    pub lines: Vec<DeploymentLog>,
}

#[derive(Default)]
pub struct DeploysSubscription;

#[Subscription]
impl DeploysSubscription {
    /// One deployment's steps (status, progress, message) and new log lines, starting
    /// with its current state; completes when it ends.
    async fn deployment_updates(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The deployment to follow.")] deployment_id: ID,
    ) -> Result<impl Stream<Item = Result<DeploymentUpdate>> + use<>> {
        let viewer = authz::require(ctx).await.or_graphql(Domain::Projects)?;
        let state = AppState::of(ctx).clone();
        let id = parse_id(&deployment_id, "deploymentId").or_graphql(Domain::Projects)?;
        let db = state.databases.projects.clone();
        let events = state.deploy.subscribe();
        let found = super::service::by_id(&db, id)
            .await
            .and_then(|d| d.ok_or(ServiceError::NotFound("deployment")))
            .or_graphql(Domain::Projects)?;
        let member = member(&db, &viewer, found.project_id).await?;
        let guard = StreamGuard::new(ctx, member.then_some(found.project_id));
        Ok(follow(db, Scope::Deployment(id), member, events, guard))
    }

    /// Every new deployment of a project and each of its steps (no log lines), and its
    /// app starting, stopping or dying (`running`), starting with the newest
    /// deployment's state.
    async fn project_deployments(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project to follow.")] project_id: ID,
    ) -> Result<impl Stream<Item = Result<DeploymentUpdate>> + use<>> {
        authz::require(ctx).await.or_graphql(Domain::Projects)?;
        let state = AppState::of(ctx).clone();
        let id = parse_id(&project_id, "projectId").or_graphql(Domain::Projects)?;
        let db = state.databases.projects.clone();
        let events = state.deploy.subscribe();
        entities::projects::project::Entity::find_by_id(id)
            .one(&*db)
            .await
            .map_err(ServiceError::from)
            .and_then(|p| p.ok_or(ServiceError::NotFound("project")))
            .or_graphql(Domain::Projects)?;
        Ok(follow(
            db,
            Scope::Project(id),
            false,
            events,
            StreamGuard::new(ctx, None),
        ))
    }
}

async fn member(
    db: &ProjectsDb,
    viewer: &crate::users::viewer::Viewer,
    project_id: i32,
) -> Result<bool> {
    let project = entities::projects::project::Entity::find_by_id(project_id)
        .one(&**db)
        .await
        .map_err(ServiceError::from)
        .and_then(|p| p.ok_or(ServiceError::NotFound("project")))
        .or_graphql(Domain::Projects)?;
    Ok(projects::access(&**db, viewer, &project)
        .await
        .or_graphql(Domain::Projects)?
        .can_write())
}

#[derive(Clone, Copy)]
enum Scope {
    Deployment(i32),
    Project(i32),
}

struct Follower {
    db: ProjectsDb,
    scope: Scope,
    with_lines: bool,
    events: broadcast::Receiver<deploy::Event>,
    guard: StreamGuard,
    last_line: i64,
    /// The last update sent, whose state an update of new log lines repeats.
    last: Option<DeploymentUpdate>,
    started: bool,
    done: bool,
}

fn is_final(status: JobStatus) -> bool {
    !matches!(status, JobStatus::Pending | JobStatus::Running)
}

fn follow(
    db: ProjectsDb,
    scope: Scope,
    with_lines: bool,
    events: broadcast::Receiver<deploy::Event>,
    guard: StreamGuard,
) -> impl Stream<Item = Result<DeploymentUpdate>> {
    let follower = Follower {
        db,
        scope,
        with_lines,
        events,
        guard,
        last_line: 0,
        last: None,
        started: false,
        done: false,
    };
    stream::unfold(follower, |mut f| async move {
        if f.done {
            return None;
        }
        // Sent only while the caller may still see it; a refusal is the last item.
        let next = match f.next().await? {
            Ok(update) => f.guard.check().await.map(|()| update),
            Err(refused) => Err(refused),
        };
        if next.is_err() {
            f.done = true;
        }
        Some((next, f))
    })
}

impl Follower {
    /// The next update, or the refusal that ends the stream while it is quiet.
    async fn next(&mut self) -> Option<Result<DeploymentUpdate>> {
        if !self.started {
            self.started = true;
            if let Some(update) = self.snapshot().await {
                return Some(Ok(self.emit(update)));
            }
        }
        let mut tick = tokio::time::interval(crate::authz::stream::TICK);
        tick.tick().await;
        loop {
            let event = tokio::select! {
                event = self.events.recv() => event,
                () = self.guard.expired() => {
                    self.guard.expiry_seen();
                    match self.guard.check().await {
                        Err(refused) => return Some(Err(refused)),
                        Ok(()) => continue,
                    }
                }
                _ = tick.tick() => match self.guard.check().await {
                    Err(refused) => return Some(Err(refused)),
                    Ok(()) => continue,
                },
            };
            match event {
                Ok(event) => {
                    if let Some(update) = self.on_event(event).await {
                        return Some(Ok(update));
                    }
                }
                // Too slow for the channel: read the state again rather than hold a
                // backlog.
                Err(RecvError::Lagged(_)) => {
                    if let Some(update) = self.snapshot().await {
                        return Some(Ok(self.emit(update)));
                    }
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }

    /// The update an engine event makes, if it concerns this stream.
    async fn on_event(&mut self, event: deploy::Event) -> Option<DeploymentUpdate> {
        match event {
            deploy::Event::Logged { deployment_id, .. }
                if self.with_lines
                    && matches!(self.scope, Scope::Deployment(id) if id == deployment_id) =>
            {
                let lines = self.new_lines(deployment_id).await;
                let last = self.last.as_ref().filter(|_| !lines.is_empty())?;
                Some(DeploymentUpdate {
                    deployment_id: last.deployment_id.clone(),
                    job_id: last.job_id.clone(),
                    project_id: last.project_id.clone(),
                    status: last.status,
                    progress: last.progress,
                    message: last.message.clone(),
                    running: None,
                    lines,
                })
            }
            deploy::Event::Changed {
                job_id,
                deployment_id,
                project_id,
                status,
                progress,
                message,
            } if self.concerns(deployment_id, project_id) => {
                let update = DeploymentUpdate {
                    deployment_id: deployment_id.into(),
                    job_id: job_id.into(),
                    project_id: project_id.into(),
                    status: status.into(),
                    progress,
                    message,
                    running: None,
                    lines: self.new_lines(deployment_id).await,
                };
                Some(self.emit(update))
            }
            deploy::Event::AppChanged {
                project_id,
                running,
                message,
            } if matches!(self.scope, Scope::Project(id) if id == project_id) => {
                let mut update = self.snapshot().await?;
                update.running = Some(running);
                update.message = message;
                Some(update)
            }
            _ => None,
        }
    }

    fn concerns(&self, deployment_id: i32, project_id: i32) -> bool {
        match self.scope {
            Scope::Deployment(id) => id == deployment_id,
            Scope::Project(id) => id == project_id,
        }
    }

    fn emit(&mut self, update: DeploymentUpdate) -> DeploymentUpdate {
        if matches!(self.scope, Scope::Deployment(_)) && is_final(status_of(update.status)) {
            self.done = true;
        }
        self.last = Some(DeploymentUpdate {
            deployment_id: update.deployment_id.clone(),
            job_id: update.job_id.clone(),
            project_id: update.project_id.clone(),
            status: update.status,
            progress: update.progress,
            message: update.message.clone(),
            running: update.running,
            lines: Vec::new(),
        });
        update
    }

    /// The current state: the deployment's, or the project's newest deployment's.
    async fn snapshot(&mut self) -> Option<DeploymentUpdate> {
        let mut query = deployment::Entity::find();
        query = match self.scope {
            Scope::Deployment(id) => query.filter(deployment::Column::Id.eq(id)),
            Scope::Project(id) => query
                .filter(deployment::Column::ProjectId.eq(id))
                .order_by_desc(deployment::Column::Id),
        };
        let found = query.one(&*self.db).await.ok().flatten()?;
        let job = job::Entity::find_by_id(found.job_id)
            .one(&*self.db)
            .await
            .ok()
            .flatten()?;
        Some(DeploymentUpdate {
            deployment_id: found.id.into(),
            job_id: job.id.into(),
            project_id: found.project_id.into(),
            status: job.status.into(),
            progress: job.progress,
            message: job.message,
            running: None,
            lines: self.new_lines(found.id).await,
        })
    }

    /// Lines written since the last update (for members following one deployment).
    async fn new_lines(&mut self, deployment_id: i32) -> Vec<DeploymentLog> {
        if !self.with_lines {
            return Vec::new();
        }
        let rows = deployment_log::Entity::find()
            .filter(deployment_log::Column::DeploymentId.eq(deployment_id))
            .filter(deployment_log::Column::Id.gt(self.last_line))
            .order_by_asc(deployment_log::Column::Id)
            .limit(LINES_PER_UPDATE)
            .all(&*self.db)
            .await
            .unwrap_or_default();
        if let Some(last) = rows.last() {
            self.last_line = last.id;
        }
        rows.into_iter().map(DeploymentLog).collect()
    }
}

fn status_of(status: DeploymentStatus) -> JobStatus {
    match status {
        DeploymentStatus::Pending => JobStatus::Pending,
        DeploymentStatus::Running => JobStatus::Running,
        DeploymentStatus::Succeeded => JobStatus::Succeeded,
        DeploymentStatus::Failed => JobStatus::Failed,
        DeploymentStatus::Cancelled => JobStatus::Cancelled,
    }
}
