//! Batch loaders for every relation of a project: one statement per field per request
//! (per database), never one per row.

use std::{collections::HashMap, hash::Hash, sync::Arc};

use async_graphql::{Context, dataloader::Loader};
use entities::{
    academic::{course, subject},
    projects::{
        collaborator, deployment, environment_variable, file, project, project_course, project_tag,
        rating, stage, stage_file, stage_status, statistic, tag, tag_type,
    },
    users::user,
};
use migration::Domain;
use sea_orm::{
    ColumnTrait, DbBackend, EntityTrait, FromQueryResult, JoinType, QueryFilter, QueryOrder,
    QuerySelect, RelationTrait, Statement,
    sea_query::{Expr, ExprTrait},
};

use super::types::{EnvironmentVariable, Stage, StageStatusName, Tag, TagType};
use crate::graphql::dangling::Linked;
use crate::{
    db::{AcademicDb, ProjectsDb, UsersDb},
    error::ServiceError,
    graphql::batch::BatchLoader,
    state::AppState,
    users::viewer,
};

type Shared = Arc<ServiceError>;

fn shared(error: impl Into<ServiceError>) -> Shared {
    Arc::new(error.into())
}

fn grouped<K: Hash + Eq + Copy, V>(
    keys: &[K],
    rows: impl IntoIterator<Item = (K, V)>,
) -> HashMap<K, Vec<V>> {
    let mut map: HashMap<K, Vec<V>> = keys.iter().map(|k| (*k, Vec::new())).collect();
    for (key, value) in rows {
        map.entry(key).or_default().push(value);
    }
    map
}

/// Projects by id.
pub struct ProjectLoader(pub ProjectsDb);

impl Loader<i32> for ProjectLoader {
    type Value = project::Model;
    type Error = Shared;

    async fn load(&self, ids: &[i32]) -> Result<HashMap<i32, project::Model>, Shared> {
        let rows = project::Entity::find()
            .filter(self.0.any_of(project::Column::Id, ids.iter().copied()))
            .all(&*self.0)
            .await
            .map_err(shared)?;
        Ok(rows.into_iter().map(|p| (p.id, p)).collect())
    }
}

/// Collaborator ids of each project.
pub struct CollaboratorIdsLoader(pub ProjectsDb);

impl Loader<i32> for CollaboratorIdsLoader {
    type Value = Vec<i32>;
    type Error = Shared;

    async fn load(&self, ids: &[i32]) -> Result<HashMap<i32, Vec<i32>>, Shared> {
        let rows = collaborator::Entity::find()
            .filter(
                self.0
                    .any_of(collaborator::Column::ProjectId, ids.iter().copied()),
            )
            .order_by_asc(collaborator::Column::Id)
            .all(&*self.0)
            .await
            .map_err(shared)?;
        Ok(grouped(
            ids,
            rows.into_iter().map(|c| (c.project_id, c.user_id)),
        ))
    }
}

/// Collaborators of each project, as users: one statement per database.
pub struct CollaboratorsLoader {
    pub projects: ProjectsDb,
    pub users: UsersDb,
}

impl Loader<i32> for CollaboratorsLoader {
    type Value = Linked<user::Model>;
    type Error = Shared;

    async fn load(&self, ids: &[i32]) -> Result<HashMap<i32, Linked<user::Model>>, Shared> {
        let pairs = CollaboratorIdsLoader(self.projects.clone())
            .load(ids)
            .await?;
        let user_ids: Vec<i32> = pairs.values().flatten().copied().collect();
        let users = crate::users::service::existing_ids(&self.users, &user_ids)
            .await
            .map_err(Arc::new)?;
        Ok(pairs
            .into_iter()
            .map(|(project, members)| {
                let mut linked = Linked::default();
                for id in members {
                    match users.get(&id) {
                        Some(user) => linked.found.push(user.clone()),
                        None => linked.missing.push(id),
                    }
                }
                (project, linked)
            })
            .collect())
    }
}

/// Courses of each project, read from the academic database.
/// A course and its subject, read together.
pub type CourseWithSubject = (course::Model, Option<subject::Model>);

pub struct CoursesLoader {
    pub projects: ProjectsDb,
    pub academic: AcademicDb,
}

impl Loader<i32> for CoursesLoader {
    type Value = Linked<CourseWithSubject>;
    type Error = Shared;

    async fn load(&self, ids: &[i32]) -> Result<HashMap<i32, Linked<CourseWithSubject>>, Shared> {
        let links = project_course::Entity::find()
            .filter(
                self.projects
                    .any_of(project_course::Column::ProjectId, ids.iter().copied()),
            )
            .order_by_asc(project_course::Column::Id)
            .all(&*self.projects)
            .await
            .map_err(shared)?;
        let course_ids: Vec<i32> = links.iter().map(|l| l.course_id).collect();
        let courses: HashMap<i32, CourseWithSubject> = if course_ids.is_empty() {
            HashMap::new()
        } else {
            // Each course with its subject, which every client showing a course asks for.
            course::Entity::find()
                .filter(self.academic.any_of(course::Column::Id, course_ids))
                .find_also_related(subject::Entity)
                .all(&*self.academic)
                .await
                .map_err(shared)?
                .into_iter()
                .map(|(c, s)| (c.id, (c, s)))
                .collect()
        };
        let mut by_project: HashMap<i32, Linked<CourseWithSubject>> =
            ids.iter().map(|id| (*id, Linked::default())).collect();
        for link in links {
            let entry = by_project.entry(link.project_id).or_default();
            match courses.get(&link.course_id) {
                Some(course) => entry.found.push(course.clone()),
                None => entry.missing.push(link.course_id),
            }
        }
        Ok(by_project)
    }
}

/// Tags (with their type) of each project.
pub struct TagsLoader(pub ProjectsDb);

#[derive(FromQueryResult)]
struct TagRow {
    project_id: i32,
    tag_id: i32,
    tag_name: String,
    type_name: String,
}

impl Loader<i32> for TagsLoader {
    type Value = Vec<Tag>;
    type Error = Shared;

    /// One statement: project_tags joined with tags and their types.
    async fn load(&self, ids: &[i32]) -> Result<HashMap<i32, Vec<Tag>>, Shared> {
        let rows = project_tag::Entity::find()
            .select_only()
            .column(project_tag::Column::ProjectId)
            .column_as(tag::Column::Id, "tag_id")
            .column_as(tag::Column::Name, "tag_name")
            .column_as(tag_type::Column::Name, "type_name")
            .join(JoinType::InnerJoin, project_tag::Relation::Tag.def())
            .join(JoinType::InnerJoin, tag::Relation::TagType.def())
            .filter(
                self.0
                    .any_of(project_tag::Column::ProjectId, ids.iter().copied()),
            )
            .order_by_asc(project_tag::Column::Id)
            .into_model::<TagRow>()
            .all(&*self.0)
            .await
            .map_err(shared)?;
        let mut tags = Vec::with_capacity(rows.len());
        for row in rows {
            let tag_type = TagType::from_db(&row.type_name).map_err(shared)?;
            tags.push((
                row.project_id,
                Tag {
                    id: row.tag_id.into(),
                    name: row.tag_name,
                    tag_type,
                },
            ));
        }
        Ok(grouped(ids, tags))
    }
}

/// Stages (with their status) of each project.
pub struct StagesLoader(pub ProjectsDb);

impl Loader<i32> for StagesLoader {
    type Value = Vec<(stage::Model, StageStatusName)>;
    type Error = Shared;

    async fn load(&self, ids: &[i32]) -> Result<HashMap<i32, Self::Value>, Shared> {
        let rows = stage::Entity::find()
            .find_also_related(stage_status::Entity)
            .filter(self.0.any_of(stage::Column::ProjectId, ids.iter().copied()))
            .order_by_asc(stage::Column::Id)
            .all(&*self.0)
            .await
            .map_err(shared)?;
        let mut stages = Vec::with_capacity(rows.len());
        for (found, status) in rows {
            let status = status.ok_or_else(|| {
                shared(ServiceError::Corrupt(format!(
                    "stage {} has no status",
                    found.id
                )))
            })?;
            let status = StageStatusName::from_db(&status.name).map_err(shared)?;
            stages.push((found.project_id, (found, status)));
        }
        Ok(grouped(ids, stages))
    }
}

/// Files attached to each stage.
pub struct StageFilesLoader(pub ProjectsDb);

impl Loader<i32> for StageFilesLoader {
    type Value = Vec<file::Model>;
    type Error = Shared;

    async fn load(&self, ids: &[i32]) -> Result<HashMap<i32, Vec<file::Model>>, Shared> {
        let rows = stage_file::Entity::find()
            .find_also_related(file::Entity)
            .filter(
                self.0
                    .any_of(stage_file::Column::StageId, ids.iter().copied()),
            )
            .order_by_asc(stage_file::Column::Id)
            .all(&*self.0)
            .await
            .map_err(shared)?;
        Ok(grouped(
            ids,
            rows.into_iter()
                .filter_map(|(link, found)| found.map(|f| (link.stage_id, f))),
        ))
    }
}

/// Ratings of each project.
pub struct RatingsLoader(pub ProjectsDb);

impl Loader<i32> for RatingsLoader {
    type Value = Vec<rating::Model>;
    type Error = Shared;

    async fn load(&self, ids: &[i32]) -> Result<HashMap<i32, Vec<rating::Model>>, Shared> {
        let rows = rating::Entity::find()
            .filter(
                self.0
                    .any_of(rating::Column::ProjectId, ids.iter().copied()),
            )
            .order_by_asc(rating::Column::Id)
            .all(&*self.0)
            .await
            .map_err(shared)?;
        Ok(grouped(ids, rows.into_iter().map(|r| (r.project_id, r))))
    }
}

#[derive(FromQueryResult)]
struct Average {
    project_id: i32,
    average: Option<f64>,
}

/// Mean stars of each project, computed by the database.
pub struct AverageRatingLoader(pub ProjectsDb);

impl Loader<i32> for AverageRatingLoader {
    type Value = f64;
    type Error = Shared;

    async fn load(&self, ids: &[i32]) -> Result<HashMap<i32, f64>, Shared> {
        let rows = rating::Entity::find()
            .select_only()
            .column(rating::Column::ProjectId)
            .column_as(
                Expr::col(rating::Column::Stars)
                    .cast_as("DOUBLE PRECISION")
                    .avg(),
                "average",
            )
            .filter(
                self.0
                    .any_of(rating::Column::ProjectId, ids.iter().copied()),
            )
            .group_by(rating::Column::ProjectId)
            .into_model::<Average>()
            .all(&*self.0)
            .await
            .map_err(shared)?;
        Ok(rows
            .into_iter()
            .filter_map(|r| r.average.map(|a| (r.project_id, a)))
            .collect())
    }
}

/// One user's rating of each project, keyed by (project, user).
pub struct MyRatingLoader(pub ProjectsDb);

impl Loader<(i32, i32)> for MyRatingLoader {
    type Value = rating::Model;
    type Error = Shared;

    async fn load(
        &self,
        keys: &[(i32, i32)],
    ) -> Result<HashMap<(i32, i32), rating::Model>, Shared> {
        let Some((_, user_id)) = keys.first() else {
            return Ok(HashMap::new());
        };
        // A request has one viewer: every key names the same user.
        let rows = rating::Entity::find()
            .filter(rating::Column::UserId.eq(*user_id))
            .filter(
                self.0
                    .any_of(rating::Column::ProjectId, keys.iter().map(|(p, _)| *p)),
            )
            .all(&*self.0)
            .await
            .map_err(shared)?;
        Ok(rows
            .into_iter()
            .map(|r| ((r.project_id, r.user_id), r))
            .collect())
    }
}

/// The newest `limit` rows of `table` for each project id, in one windowed statement.
/// The ids and the limit are bound parameters (the table name is the entity's own), so
/// the statement's text, and its prepared plan, do not change from one batch to the next.
fn newest_per_project(db: &ProjectsDb, table: &str, ids: &[i32], limit: i32) -> Statement {
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
async fn newest<E>(
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

/// Environment variables of each project (still encrypted).
pub struct VariablesLoader(pub ProjectsDb);

impl Loader<i32> for VariablesLoader {
    type Value = Vec<environment_variable::Model>;
    type Error = Shared;

    async fn load(&self, ids: &[i32]) -> Result<HashMap<i32, Self::Value>, Shared> {
        let rows = environment_variable::Entity::find()
            .filter(
                self.0
                    .any_of(environment_variable::Column::ProjectId, ids.iter().copied()),
            )
            .order_by_asc(environment_variable::Column::Name)
            .all(&*self.0)
            .await
            .map_err(shared)?;
        Ok(grouped(ids, rows.into_iter().map(|v| (v.project_id, v))))
    }
}

/// Projects each user owns or collaborates on.
pub struct ProjectsOfUserLoader(pub ProjectsDb);

impl Loader<i32> for ProjectsOfUserLoader {
    type Value = Vec<project::Model>;
    type Error = Shared;

    async fn load(&self, ids: &[i32]) -> Result<HashMap<i32, Vec<project::Model>>, Shared> {
        let memberships = collaborator::Entity::find()
            .filter(
                self.0
                    .any_of(collaborator::Column::UserId, ids.iter().copied()),
            )
            .all(&*self.0)
            .await
            .map_err(shared)?;
        let member_projects: Vec<i32> = memberships.iter().map(|m| m.project_id).collect();
        let projects = project::Entity::find()
            .filter(
                sea_orm::Condition::any()
                    .add(self.0.any_of(project::Column::OwnerId, ids.iter().copied()))
                    .add(self.0.any_of(project::Column::Id, member_projects)),
            )
            .order_by_asc(project::Column::Id)
            .all(&*self.0)
            .await
            .map_err(shared)?;
        let mut by_user: HashMap<i32, Vec<project::Model>> =
            ids.iter().map(|id| (*id, Vec::new())).collect();
        for found in &projects {
            if let Some(list) = by_user.get_mut(&found.owner_id) {
                list.push(found.clone());
            }
        }
        for membership in memberships {
            if let (Some(list), Some(found)) = (
                by_user.get_mut(&membership.user_id),
                projects.iter().find(|p| p.id == membership.project_id),
            ) {
                list.push(found.clone());
            }
        }
        for list in by_user.values_mut() {
            list.sort_by_key(|p| p.id);
        }
        Ok(by_user)
    }
}

/// Projects linked to each course.
pub struct ProjectsOfCourseLoader(pub ProjectsDb);

impl Loader<i32> for ProjectsOfCourseLoader {
    type Value = Vec<project::Model>;
    type Error = Shared;

    async fn load(&self, ids: &[i32]) -> Result<HashMap<i32, Vec<project::Model>>, Shared> {
        let rows = project_course::Entity::find()
            .find_also_related(project::Entity)
            .filter(
                self.0
                    .any_of(project_course::Column::CourseId, ids.iter().copied()),
            )
            .order_by_asc(project_course::Column::ProjectId)
            .all(&*self.0)
            .await
            .map_err(shared)?;
        Ok(grouped(
            ids,
            rows.into_iter()
                .filter_map(|(link, found)| found.map(|p| (link.course_id, p))),
        ))
    }
}

/// Adds the projects loaders to a request's data.
pub fn register(data: &mut async_graphql::Data, state: &AppState) {
    let dbs = &state.databases;
    let projects = || dbs.projects.clone();
    data.insert(BatchLoader::<i32, _>::new(ProjectLoader(projects())));
    data.insert(BatchLoader::<i32, _>::new(
        CollaboratorIdsLoader(projects()),
    ));
    data.insert(BatchLoader::<i32, _>::new(CollaboratorsLoader {
        projects: projects(),
        users: dbs.users.clone(),
    }));
    data.insert(BatchLoader::<i32, _>::new(CoursesLoader {
        projects: projects(),
        academic: dbs.academic.clone(),
    }));
    data.insert(BatchLoader::<i32, _>::new(TagsLoader(projects())));
    data.insert(BatchLoader::<i32, _>::new(StagesLoader(projects())));
    data.insert(BatchLoader::<i32, _>::new(StageFilesLoader(projects())));
    data.insert(BatchLoader::<i32, _>::new(RatingsLoader(projects())));
    data.insert(BatchLoader::<i32, _>::new(AverageRatingLoader(projects())));
    data.insert(BatchLoader::<(i32, i32), _>::new(
        MyRatingLoader(projects()),
    ));
    data.insert(BatchLoader::<(i32, i32), _>::new(DeploymentsLoader(
        projects(),
    )));
    data.insert(BatchLoader::<(i32, i32), _>::new(StatisticsLoader(
        projects(),
    )));
    data.insert(BatchLoader::<i32, _>::new(VariablesLoader(projects())));
    data.insert(BatchLoader::<i32, _>::new(ProjectsOfUserLoader(projects())));
    data.insert(BatchLoader::<i32, _>::new(ProjectsOfCourseLoader(
        projects(),
    )));
}

fn loader_error(error: Shared) -> async_graphql::Error {
    crate::error::shared_error(Domain::Projects, error)
}

async fn many<K, L>(ctx: &Context<'_>, key: K) -> async_graphql::Result<L::Value>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    L: Loader<K, Error = Shared>,
    L::Value: Default,
{
    let loader = ctx.data::<BatchLoader<K, L>>()?;
    Ok(loader
        .load_one(key)
        .await
        .map_err(loader_error)?
        .unwrap_or_default())
}

pub async fn collaborators(
    ctx: &Context<'_>,
    project_id: i32,
) -> async_graphql::Result<Linked<user::Model>> {
    many::<_, CollaboratorsLoader>(ctx, project_id).await
}

pub async fn courses(
    ctx: &Context<'_>,
    project_id: i32,
) -> async_graphql::Result<Linked<CourseWithSubject>> {
    many::<_, CoursesLoader>(ctx, project_id).await
}

pub async fn tags(ctx: &Context<'_>, project_id: i32) -> async_graphql::Result<Vec<Tag>> {
    many::<_, TagsLoader>(ctx, project_id).await
}

pub async fn stages(ctx: &Context<'_>, project_id: i32) -> async_graphql::Result<Vec<Stage>> {
    let rows = many::<_, StagesLoader>(ctx, project_id).await?;
    Ok(rows
        .into_iter()
        .map(|(model, status)| Stage { model, status })
        .collect())
}

pub async fn stage_files(
    ctx: &Context<'_>,
    stage_id: i32,
) -> async_graphql::Result<Vec<file::Model>> {
    many::<_, StageFilesLoader>(ctx, stage_id).await
}

pub async fn ratings(
    ctx: &Context<'_>,
    project_id: i32,
) -> async_graphql::Result<Vec<rating::Model>> {
    many::<_, RatingsLoader>(ctx, project_id).await
}

pub async fn average_rating(
    ctx: &Context<'_>,
    project_id: i32,
) -> async_graphql::Result<Option<f64>> {
    let loader = ctx.data::<BatchLoader<i32, AverageRatingLoader>>()?;
    loader.load_one(project_id).await.map_err(loader_error)
}

/// Records a mean rating the project's own statement already read.
pub fn prime_average_rating(ctx: &Context<'_>, project_id: i32, average: Option<f64>) {
    if let Ok(loader) = ctx.data::<BatchLoader<i32, AverageRatingLoader>>() {
        loader.prime([(project_id, average)]);
    }
}

pub async fn my_rating(
    ctx: &Context<'_>,
    project_id: i32,
) -> async_graphql::Result<Option<rating::Model>> {
    let viewer = viewer::require(ctx)
        .await
        .map_err(|e| e.into_graphql(Domain::Projects))?;
    let loader = ctx.data::<BatchLoader<(i32, i32), MyRatingLoader>>()?;
    loader
        .load_one((project_id, viewer.id()))
        .await
        .map_err(loader_error)
}

pub async fn deployments(
    ctx: &Context<'_>,
    project_id: i32,
    first: i32,
) -> async_graphql::Result<Vec<deployment::Model>> {
    many::<_, DeploymentsLoader>(ctx, (project_id, first)).await
}

pub async fn statistics(
    ctx: &Context<'_>,
    project_id: i32,
    last: i32,
) -> async_graphql::Result<Vec<statistic::Model>> {
    many::<_, StatisticsLoader>(ctx, (project_id, last)).await
}

pub async fn projects_of_user(
    ctx: &Context<'_>,
    user_id: i32,
) -> async_graphql::Result<Vec<project::Model>> {
    many::<_, ProjectsOfUserLoader>(ctx, user_id).await
}

pub async fn projects_of_course(
    ctx: &Context<'_>,
    course_id: i32,
) -> async_graphql::Result<Vec<project::Model>> {
    many::<_, ProjectsOfCourseLoader>(ctx, course_id).await
}

/// A project by id, batched.
pub async fn project(ctx: &Context<'_>, id: i32) -> async_graphql::Result<Option<project::Model>> {
    let loader = ctx.data::<BatchLoader<i32, ProjectLoader>>()?;
    loader.load_one(id).await.map_err(loader_error)
}

/// Whether the viewer is the project's owner, a collaborator, or an admin (batched).
pub async fn is_member(ctx: &Context<'_>, found: &project::Model) -> async_graphql::Result<bool> {
    let viewer = viewer::require(ctx)
        .await
        .map_err(|e| e.into_graphql(Domain::Projects))?;
    let members = many::<_, CollaboratorIdsLoader>(ctx, found.id).await?;
    Ok(found.owner_id == viewer.id()
        || members.contains(&viewer.id())
        || viewer.has(crate::users::types::RoleName::Admin))
}

/// Decrypted variables, if the viewer is the owner, a collaborator or an admin.
pub async fn environment_variables(
    ctx: &Context<'_>,
    found: &project::Model,
) -> async_graphql::Result<Vec<EnvironmentVariable>> {
    if !is_member(ctx, found).await? {
        return Err(ServiceError::forbidden(
            "only the owner, collaborators and admins read environment variables",
        )
        .into_graphql(Domain::Projects));
    }
    let cipher = &AppState::of(ctx).cipher;
    many::<_, VariablesLoader>(ctx, found.id)
        .await?
        .into_iter()
        .map(|v| {
            let value = cipher
                .open(v.project_id, &v.name, &v.value)
                .map_err(|e| {
                    ServiceError::Internal(format!(
                        "variable {} of project {}: {e}",
                        v.name, v.project_id
                    ))
                })
                .map_err(|e| e.into_graphql(Domain::Projects))?;
            Ok(EnvironmentVariable {
                name: v.name,
                value,
                updated_at: v.updated_at,
            })
        })
        .collect()
}
