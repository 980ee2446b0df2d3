//! Deploy rules: who may queue, cancel, stop and start (the project's writers), on top
//! of the engine that does the work. Plain types in and out.

use async_trait::async_trait;
use entities::projects::{deployment, environment_variable, job, project};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::{
    authz::Grant,
    db::ProjectsDb,
    error::ServiceError,
    projects::{crypto::Cipher, service as projects},
};

/// What to queue for a project.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// Fetch, build, start, route.
    Deploy,
    /// Start the last successful build again.
    Start,
}

/// Queues a deploy or a start of the project, for its writers: the job comes back at
/// once (PENDING), with its deployment.
pub async fn queue(
    db: &ProjectsDb,
    engine: &deploy::Engine,
    viewer: &Grant,
    project_id: i32,
    request: Request,
) -> Result<job::Model, ServiceError> {
    let found = projects::project_for(db, viewer, project_id).await?;
    let (job, _) = match request {
        Request::Deploy => engine.deploy(&found, viewer.id()).await?,
        Request::Start => engine.start_again(&found, viewer.id()).await?,
    };
    Ok(job)
}

/// Cancels a pending or running deployment.
pub async fn cancel(
    db: &ProjectsDb,
    engine: &deploy::Engine,
    viewer: &Grant,
    deployment_id: i32,
) -> Result<deployment::Model, ServiceError> {
    let found = by_id(db, deployment_id)
        .await?
        .ok_or(ServiceError::NotFound("deployment"))?;
    projects::project_for(db, viewer, found.project_id).await?;
    engine.cancel(deployment_id).await?;
    by_id(db, deployment_id)
        .await?
        .ok_or(ServiceError::NotFound("deployment"))
}

/// Stops the project's app and marks it not running.
pub async fn stop(
    db: &ProjectsDb,
    engine: &deploy::Engine,
    viewer: &Grant,
    project_id: i32,
) -> Result<project::Model, ServiceError> {
    projects::project_for(db, viewer, project_id).await?;
    engine.stop_project(project_id).await?;
    project::Entity::find_by_id(project_id)
        .one(&**db)
        .await?
        .ok_or(ServiceError::NotFound("project"))
}

pub async fn by_id(db: &ProjectsDb, id: i32) -> Result<Option<deployment::Model>, ServiceError> {
    Ok(deployment::Entity::find_by_id(id).one(&**db).await?)
}

pub async fn job_by_id(db: &ProjectsDb, id: i32) -> Result<Option<job::Model>, ServiceError> {
    Ok(job::Entity::find_by_id(id).one(&**db).await?)
}

/// A project's variables, decrypted for the app when its job runs.
pub struct Variables {
    /// Uncounted: read by deploy workers, not by requests.
    pub db: sea_orm::DatabaseConnection,
    pub cipher: Cipher,
}

#[async_trait]
impl deploy::Secrets for Variables {
    async fn variables(&self, project_id: i32) -> Result<Vec<(String, String)>, String> {
        let rows = environment_variable::Entity::find()
            .filter(environment_variable::Column::ProjectId.eq(project_id))
            .all(&self.db)
            .await
            .map_err(|e| e.to_string())?;
        rows.into_iter()
            .map(|v| {
                self.cipher
                    .open(v.project_id, &v.name, &v.value)
                    .map(|value| (v.name.clone(), value))
                    .map_err(|e| format!("variable {}: {e}", v.name))
            })
            .collect()
    }
}
