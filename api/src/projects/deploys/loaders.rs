//! Batch loaders of deploys: jobs by id, the deployment of each job, and the newest log
//! lines of each deployment (one windowed statement per log kind per request).

use std::{collections::HashMap, sync::Arc};

use async_graphql::{Context, dataloader::Loader};
use entities::projects::{deployment, deployment_log, enums, job};
use migration::Domain;
use sea_orm::{DbBackend, EntityTrait, QueryFilter, Statement};

use super::types::LogKind;
use crate::{
    db::ProjectsDb,
    error::{OrGraphql, ServiceError},
    projects::loaders as project_loaders,
};

type Shared = Arc<ServiceError>;

fn shared(error: sea_orm::DbErr) -> Shared {
    Arc::new(error.into())
}

/// Jobs by id.
pub struct JobLoader(pub ProjectsDb);

impl Loader<i32> for JobLoader {
    type Value = job::Model;
    type Error = Shared;

    async fn load(&self, ids: &[i32]) -> Result<HashMap<i32, job::Model>, Shared> {
        let rows = job::Entity::find()
            .filter(self.0.any_of(job::Column::Id, ids.iter().copied()))
            .all(&*self.0)
            .await
            .map_err(shared)?;
        Ok(rows.into_iter().map(|j| (j.id, j)).collect())
    }
}

/// The deployment each job runs, by job id.
pub struct DeploymentOfJobLoader(pub ProjectsDb);

impl Loader<i32> for DeploymentOfJobLoader {
    type Value = deployment::Model;
    type Error = Shared;

    async fn load(&self, ids: &[i32]) -> Result<HashMap<i32, deployment::Model>, Shared> {
        let rows = deployment::Entity::find()
            .filter(
                self.0
                    .any_of(deployment::Column::JobId, ids.iter().copied()),
            )
            .all(&*self.0)
            .await
            .map_err(shared)?;
        Ok(rows.into_iter().map(|d| (d.job_id, d)).collect())
    }
}

/// The newest lines of one log of each deployment, keyed by (deployment, kind, how many).
pub struct LogsLoader(pub ProjectsDb);

impl Loader<(i32, LogKind, i32)> for LogsLoader {
    type Value = Vec<deployment_log::Model>;
    type Error = Shared;

    async fn load(
        &self,
        keys: &[(i32, LogKind, i32)],
    ) -> Result<HashMap<(i32, LogKind, i32), Self::Value>, Shared> {
        let mut out = HashMap::new();
        for kind in [LogKind::Build, LogKind::Runtime] {
            let of_kind: Vec<&(i32, LogKind, i32)> =
                keys.iter().filter(|(_, k, _)| *k == kind).collect();
            let Some(limit) = of_kind.iter().map(|(_, _, n)| *n).max() else {
                continue;
            };
            let ids: Vec<i32> = of_kind.iter().map(|(d, _, _)| *d).collect();
            let rows = deployment_log::Entity::find()
                .from_raw_sql(newest_lines(&self.0, &ids, kind.into(), limit))
                .all(&*self.0)
                .await
                .map_err(shared)?;
            let mut by_deployment: HashMap<i32, Vec<deployment_log::Model>> = HashMap::new();
            for row in rows {
                by_deployment
                    .entry(row.deployment_id)
                    .or_default()
                    .push(row);
            }
            for (deployment_id, kind, n) in of_kind {
                // Rows come newest first; the client reads them oldest first.
                let mut lines: Vec<deployment_log::Model> = by_deployment
                    .get(deployment_id)
                    .map(|rows| {
                        rows.iter()
                            .take(usize::try_from(*n).unwrap_or(0))
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default();
                lines.reverse();
                out.insert((*deployment_id, *kind, *n), lines);
            }
        }
        Ok(out)
    }
}

/// The newest `limit` lines of `kind` for each deployment, in one windowed statement
/// with bound parameters (its text does not change between batches).
fn newest_lines(db: &ProjectsDb, ids: &[i32], kind: enums::LogKind, limit: i32) -> Statement {
    use sea_orm::ActiveEnum;
    let backend = db.get_database_backend();
    let (in_ids, kind_param, limit_param, mut values): (String, &str, &str, Vec<sea_orm::Value>) =
        match backend {
            DbBackend::Postgres => ("= ANY($1)".into(), "$2", "$3", vec![ids.to_vec().into()]),
            _ => (
                format!("IN ({})", vec!["?"; ids.len()].join(", ")),
                "?",
                "?",
                ids.iter().map(|id| (*id).into()).collect(),
            ),
        };
    values.push(kind.to_value().into());
    values.push(limit.into());
    Statement::from_sql_and_values(
        backend,
        format!(
            "SELECT * FROM (SELECT l.*, ROW_NUMBER() OVER (PARTITION BY l.deployment_id ORDER BY l.id DESC) AS row_rank \
             FROM deployment_logs l WHERE l.deployment_id {in_ids} AND l.kind = {kind_param}) ranked \
             WHERE row_rank <= {limit_param} ORDER BY deployment_id, id DESC"
        ),
        values,
    )
}

fn loader_error(error: Shared) -> async_graphql::Error {
    crate::error::shared_error(Domain::Projects, error)
}

pub async fn job(ctx: &Context<'_>, id: i32) -> async_graphql::Result<Option<job::Model>> {
    let loader = crate::graphql::loaders::of::<i32, JobLoader>(ctx)?;
    loader.load_one(id).await.map_err(loader_error)
}

pub async fn deployment_of_job(
    ctx: &Context<'_>,
    job_id: i32,
) -> async_graphql::Result<Option<deployment::Model>> {
    let loader = crate::graphql::loaders::of::<i32, DeploymentOfJobLoader>(ctx)?;
    loader.load_one(job_id).await.map_err(loader_error)
}

/// A deployment's newest log lines, for the project's members and admins.
pub async fn logs(
    ctx: &Context<'_>,
    found: &deployment::Model,
    kind: LogKind,
    last: i32,
) -> async_graphql::Result<Vec<deployment_log::Model>> {
    if !(1..=1000).contains(&last) {
        return Err(ServiceError::invalid("last", "must be 1 to 1000"))
            .or_graphql(Domain::Projects);
    }
    let project = project_loaders::project(ctx, found.project_id)
        .await?
        .ok_or(ServiceError::NotFound("project"))
        .or_graphql(Domain::Projects)?;
    if !project_loaders::is_member(ctx, &project).await? {
        return Err(ServiceError::forbidden(
            "only the project's owner, its collaborators and admins read its logs",
        ))
        .or_graphql(Domain::Projects);
    }
    let loader = crate::graphql::loaders::of::<(i32, LogKind, i32), LogsLoader>(ctx)?;
    Ok(loader
        .load_one((found.id, kind, last))
        .await
        .map_err(loader_error)?
        .unwrap_or_default())
}
