//! One truth for what runs where: the project's record (`running`: what should run;
//! `serving_*`: the deployment whose instance serves, its build folder and address).
//! Every replica routes each request by that record, read for the request (so a change
//! made on any replica holds for the next request on every replica, and a deleted
//! project's app is never reached), and reconciles its own instances to it: an
//! instance the record no longer names is stopped (on the routine's tick, or at once
//! when an event says the project changed, from any replica on PostgreSQL), and an app
//! that should run but that nothing serves (its gateway stopped or died) is started
//! again from its retained build, without fetch or build.

use std::sync::Arc;

use entities::projects::{deployment, enums::JobKind, job, project};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::{Engine, EngineError, Payload, Route, Shared, queue};

/// A project's id, `running`, and `serving_*` (deployment, folder, endpoint).
type Record = (i32, bool, Option<i32>, Option<i32>, Option<String>);

impl Engine {
    /// Queues a start of the project's last successful build.
    pub async fn start_again(
        &self,
        project: &project::Model,
        triggered_by: i32,
    ) -> Result<(job::Model, deployment::Model), EngineError> {
        self.shared.crashes.forget(project.id);
        let cap = self.shared.config.max_active_per_user;
        self.queue_start(project, triggered_by, cap).await
    }

    /// A START job, for a person (`max_active`: their cap of active deploys) or for the
    /// platform (a crashed app, an app whose gateway went away: 0, no cap).
    pub(crate) async fn queue_start(
        &self,
        project: &project::Model,
        triggered_by: i32,
        max_active: u32,
    ) -> Result<(job::Model, deployment::Model), EngineError> {
        self.check_available()?;
        let record = project::Entity::find_by_id(project.id)
            .one(&self.shared.db)
            .await?
            .ok_or(EngineError::NotFound("no such project"))?;
        if record.running && record.serving_deployment_id.is_some() {
            return Err(EngineError::Conflict(
                "the project is already running: stop it first, or deploy".into(),
            ));
        }
        let last = deployment::Entity::find()
            .filter(deployment::Column::ProjectId.eq(project.id))
            .filter(deployment::Column::Successful.eq(true))
            .order_by_desc(deployment::Column::Id)
            .one(&self.shared.db)
            .await?
            .ok_or_else(|| {
                EngineError::Conflict("the project has no successful deploy to start".into())
            })?;
        let mut payload = Payload::of(project);
        // A START reuses a folder: start the build it started, not a chain of starts.
        let source = self.build_folder(&last).await?;
        payload.source_deployment = Some(source);
        let (job, mut started) = queue::enqueue_within(
            &self.shared.db,
            JobKind::Start,
            &payload,
            triggered_by,
            max_active,
        )
        .await?;
        // A START runs the commit its build fetched.
        if last.commit.is_some() {
            deployment::Entity::update_many()
                .col_expr(
                    deployment::Column::Commit,
                    sea_orm::sea_query::Expr::value(last.commit.clone()),
                )
                .filter(deployment::Column::Id.eq(started.id))
                .exec(&self.shared.db)
                .await?;
            started.commit = last.commit;
        }
        self.queued(&job, &started);
        Ok((job, started))
    }

    /// Where a request for `slug`'s app goes now, from the project's record: `None`
    /// when no such project runs.
    pub async fn resolve(&self, slug: &str) -> Result<Option<Route>, EngineError> {
        let found: Option<Record> = project::Entity::find()
            .select_only()
            .columns([
                project::Column::Id,
                project::Column::Running,
                project::Column::ServingDeploymentId,
                project::Column::ServingFolder,
                project::Column::ServingEndpoint,
            ])
            .filter(project::Column::Slug.eq(slug))
            .into_tuple()
            .one(&self.shared.db)
            .await?;
        let Some((project_id, true, Some(serving), folder, endpoint)) = found else {
            return Ok(None);
        };
        let folder = folder.unwrap_or(serving);
        let public = self.shared.config.published_dir(project_id, folder);
        let static_dir = public.is_dir().then_some(public);
        let addr = endpoint.and_then(|e| e.parse().ok());
        if addr.is_none() && static_dir.is_none() {
            return Ok(None);
        }
        Ok(Some(Route {
            project_id,
            deployment_id: folder,
            addr,
            static_dir,
        }))
    }

    /// Stops this replica's instances that the record no longer names (stopped,
    /// deleted, or replaced by a deploy on any replica); returns how many.
    pub async fn reconcile(&self) -> Result<usize, EngineError> {
        reconcile(&self.shared).await
    }

    /// Queues a START of every project that should run but that nothing serves (this
    /// replica's gateway stopped, or one on this host died); returns how many.
    pub async fn restore(&self) -> Result<usize, EngineError> {
        restore(&self.shared).await
    }
}

pub(crate) async fn reconcile(shared: &Arc<Shared>) -> Result<usize, EngineError> {
    let local = shared.apps.all();
    if local.is_empty() {
        return Ok(0);
    }
    let serving: Vec<(i32, Option<i32>)> = project::Entity::find()
        .select_only()
        .columns([project::Column::Id, project::Column::ServingDeploymentId])
        .filter(project::Column::Id.is_in(local.iter().map(|(_, app)| app.route.project_id)))
        .into_tuple()
        .all(&shared.db)
        .await?;
    let mut stopped = 0;
    for (slug, app) in local {
        let named = serving
            .iter()
            .any(|(id, by)| *id == app.route.project_id && *by == Some(app.deployment_id));
        if !named && shared.apps.remove_exact(&slug, &app) {
            tracing::info!(
                project_id = app.route.project_id,
                deployment_id = app.deployment_id,
                "stopping an instance the project's record no longer names"
            );
            shared.apps.retire(app);
            stopped += 1;
        }
    }
    Ok(stopped)
}

pub(crate) async fn restore(shared: &Arc<Shared>) -> Result<usize, EngineError> {
    if shared.sandbox.refusal().is_some() || shared.stop_claiming.is_cancelled() {
        return Ok(0);
    }
    let wanted = project::Entity::find()
        .filter(project::Column::Running.eq(true))
        .filter(project::Column::ServingDeploymentId.is_null())
        .filter(project::Column::ServingFolder.is_not_null())
        .all(&shared.db)
        .await?;
    let engine = Engine {
        shared: shared.clone(),
    };
    let mut queued = 0;
    for found in wanted {
        // Recorded for whoever deployed the build it starts.
        let triggered_by = match found.serving_folder {
            Some(folder) => deployment::Entity::find_by_id(folder)
                .one(&shared.db)
                .await?
                .map_or(found.owner_id, |d| d.triggered_by),
            None => found.owner_id,
        };
        match engine.queue_start(&found, triggered_by, 0).await {
            Ok((job, _)) => {
                tracing::info!(
                    project_id = found.id,
                    job_id = job.id,
                    "starting an app that should run again"
                );
                queued += 1;
            }
            // A start or deploy is under way already (maybe another replica's).
            Err(EngineError::Conflict(_)) => {}
            Err(other) => return Err(other),
        }
    }
    Ok(queued)
}
