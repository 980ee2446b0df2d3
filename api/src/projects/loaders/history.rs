//! The newest deployments and statistics of each project (a window per project).

use super::*;

/// The newest `limit` rows of `table` for each project id, in one windowed statement.
/// The ids and the limit are bound parameters (the table name is the entity's own), so
/// the statement's text, and its prepared plan, do not change from one batch to the next.
pub(super) fn newest_per_project(
    db: &ProjectsDb,
    table: &str,
    ids: &[i32],
    limit: i32,
) -> Statement {
    let backend = db.get_database_backend();
    let (in_ids, limit_param, mut values): (String, &str, Vec<sea_orm::Value>) = match backend {
        DbBackend::Postgres => ("= ANY($1)".into(), "$2", vec![ids.to_vec().into()]),
        _ => (
            format!("IN ({})", vec!["?"; ids.len()].join(", ")),
            "?",
            ids.iter().map(|id| (*id).into()).collect(),
        ),
    };
    values.push(limit.into());
    Statement::from_sql_and_values(
        backend,
        format!(
            "SELECT * FROM (SELECT t.*, ROW_NUMBER() OVER (PARTITION BY t.project_id ORDER BY t.id DESC) AS row_rank \
             FROM {table} t WHERE t.project_id {in_ids}) ranked WHERE row_rank <= {limit_param} ORDER BY project_id, id DESC"
        ),
        values,
    )
}

/// The newest rows of `E` for each (project, how many) key, in one windowed statement.
pub(super) async fn newest<E>(
    db: &ProjectsDb,
    keys: &[(i32, i32)],
    project_of: fn(&E::Model) -> i32,
) -> Result<HashMap<(i32, i32), Vec<E::Model>>, Shared>
where
    E: EntityTrait,
    E::Model: Clone,
{
    let limit = keys.iter().map(|(_, n)| *n).max().unwrap_or(1);
    let ids: Vec<i32> = keys.iter().map(|(p, _)| *p).collect();
    let rows = E::find()
        .from_raw_sql(newest_per_project(
            db,
            E::default().table_name(),
            &ids,
            limit,
        ))
        .all(&**db)
        .await
        .map_err(shared)?;
    let by_project = grouped(&ids, rows.into_iter().map(|row| (project_of(&row), row)));
    Ok(keys
        .iter()
        .map(|(project, n)| {
            let rows = by_project
                .get(project)
                .map(|r| {
                    r.iter()
                        .take(usize::try_from(*n).unwrap_or(0))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            ((*project, *n), rows)
        })
        .collect())
}

/// Deployments of each project, newest first, keyed by (project, how many).
pub struct DeploymentsLoader(pub ProjectsDb);

impl Loader<(i32, i32)> for DeploymentsLoader {
    type Value = Vec<deployment::Model>;
    type Error = Shared;

    async fn load(&self, keys: &[(i32, i32)]) -> Result<HashMap<(i32, i32), Self::Value>, Shared> {
        newest::<deployment::Entity>(&self.0, keys, |d| d.project_id).await
    }
}

/// Statistics of each project, newest first, keyed by (project, how many).
pub struct StatisticsLoader(pub ProjectsDb);

impl Loader<(i32, i32)> for StatisticsLoader {
    type Value = Vec<statistic::Model>;
    type Error = Shared;

    async fn load(&self, keys: &[(i32, i32)]) -> Result<HashMap<(i32, i32), Self::Value>, Shared> {
        newest::<statistic::Entity>(&self.0, keys, |s| s.project_id).await
    }
}
