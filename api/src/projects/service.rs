//! Rules and queries of the projects domain. User and course ids point into the other
//! databases: every write checks them there first.

use std::collections::{BTreeSet, HashMap};

use chrono::Utc;
use entities::{
    academic::{course, enrollment},
    projects::{
        collaborator, environment_variable, file, project, project_course, project_tag, rating,
        stage, stage_file, stage_status, tag,
    },
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set,
    sea_query::{Expr, ExprTrait, Func, OnConflict, SubQueryStatement},
};

use super::{
    crypto::Cipher,
    types::{
        CreateProjectInput, CreateStageInput, ProjectFilter, StageStatusName, UpdateProjectInput,
        UpdateStageInput,
    },
};
use crate::{
    db::{AcademicDb, ProjectsDb, UsersDb},
    error::ServiceError,
    graphql::pagination::{Page, like_pattern},
    users::{service as users, types::RoleName, viewer::Viewer},
};

pub fn parse_id(id: &async_graphql::ID, field: &'static str) -> Result<i32, ServiceError> {
    id.parse::<i32>()
        .map_err(|_| ServiceError::invalid(field, format!("{:?} is not an id", id.as_str())))
}

pub fn parse_ids(ids: &[async_graphql::ID], field: &'static str) -> Result<Vec<i32>, ServiceError> {
    ids.iter().map(|id| parse_id(id, field)).collect()
}

// ---- validation -----------------------------------------------------------------------

fn check_name(name: &str) -> Result<String, ServiceError> {
    let name = name.trim().to_owned();
    if !(5..=255).contains(&name.chars().count()) {
        return Err(ServiceError::invalid("name", "must be 5 to 255 characters"));
    }
    Ok(name)
}

pub fn check_slug(slug: &str) -> Result<String, ServiceError> {
    let slug = slug.trim();
    let valid = (5..=30).contains(&slug.len())
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        return Err(ServiceError::invalid(
            "slug",
            "must be 5 to 30 characters of a-z, 0-9 and -",
        ));
    }
    Ok(slug.to_owned())
}

fn check_repository(url: &str, allow_local: bool) -> Result<String, ServiceError> {
    let url = url.trim();
    let invalid = || {
        Err(ServiceError::invalid(
            "repositoryUrl",
            "must be an http(s) or ssh git URL (for example https://github.com/user/repo.git or git@host:user/repo.git)",
        ))
    };
    if url.is_empty() || url.len() > 2048 || url.chars().any(char::is_whitespace) {
        return invalid();
    }
    if let Ok(parsed) = url::Url::parse(url) {
        let has_path = !parsed.path().trim_matches('/').is_empty();
        return match parsed.scheme() {
            "http" | "https" | "ssh" | "git" if parsed.host().is_some() && has_path => {
                Ok(url.to_owned())
            }
            "file" if allow_local => Ok(url.to_owned()),
            _ => invalid(),
        };
    }
    // scp-like ssh syntax: user@host:path
    if let Some((user_host, path)) = url.split_once(':')
        && let Some((user, host)) = user_host.split_once('@')
        && !user.is_empty()
        && !host.is_empty()
        && !path.is_empty()
        && !path.starts_with('/')
    {
        return Ok(url.to_owned());
    }
    if allow_local && url.starts_with('/') {
        return Ok(url.to_owned());
    }
    invalid()
}

fn check_port(port: i32) -> Result<i32, ServiceError> {
    if !(1..=65535).contains(&port) {
        return Err(ServiceError::invalid("containerPort", "must be 1 to 65535"));
    }
    Ok(port)
}

fn check_static_path(path: Option<String>) -> Result<Option<String>, ServiceError> {
    let Some(path) = path
        .map(|p| p.trim().trim_matches('/').to_owned())
        .filter(|p| !p.is_empty())
    else {
        return Ok(None);
    };
    if path.len() > 255
        || path.split('/').any(|part| part == ".." || part.is_empty())
        || path.contains('\\')
    {
        return Err(ServiceError::invalid(
            "staticPath",
            "must be a relative folder of the repository",
        ));
    }
    Ok(Some(path))
}

fn check_description(text: Option<String>) -> Result<String, ServiceError> {
    let text = text.unwrap_or_default();
    if text.chars().count() > 10_000 {
        return Err(ServiceError::invalid(
            "description",
            "must be at most 10000 characters",
        ));
    }
    Ok(text)
}

pub fn check_variable_name(name: &str) -> Result<String, ServiceError> {
    let valid = (1..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err(ServiceError::invalid(
            "name",
            "must be 1 to 64 characters matching [A-Z_][A-Z0-9_]*",
        ));
    }
    Ok(name.to_owned())
}

fn check_stage_name(name: &str) -> Result<String, ServiceError> {
    let name = name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ServiceError::invalid("name", "must be 1 to 100 characters"));
    }
    Ok(name)
}

// ---- permissions ----------------------------------------------------------------------

/// What the viewer may do to one project.
#[derive(Clone, Copy, Debug)]
pub struct Access {
    pub owner: bool,
    pub collaborator: bool,
    pub admin: bool,
}

impl Access {
    pub fn can_write(self) -> bool {
        self.owner || self.collaborator || self.admin
    }

    pub fn can_manage(self) -> bool {
        self.owner || self.admin
    }
}

pub async fn access(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    found: &project::Model,
) -> Result<Access, ServiceError> {
    let collaborator = found.owner_id != viewer.id()
        && collaborator::Entity::find()
            .filter(collaborator::Column::ProjectId.eq(found.id))
            .filter(collaborator::Column::UserId.eq(viewer.id()))
            .count(db)
            .await?
            > 0;
    Ok(Access {
        owner: found.owner_id == viewer.id(),
        collaborator,
        admin: viewer.has(RoleName::Admin),
    })
}

async fn load(db: &impl ConnectionTrait, id: i32) -> Result<project::Model, ServiceError> {
    project::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("project"))
}

/// The project, if the viewer may write to it (owner, collaborator, admin).
pub async fn writable(
    db: &ProjectsDb,
    viewer: &Viewer,
    id: i32,
) -> Result<project::Model, ServiceError> {
    let found = load(&**db, id).await?;
    if access(&**db, viewer, &found).await?.can_write() {
        Ok(found)
    } else {
        Err(ServiceError::forbidden(
            "only the project's owner, its collaborators and admins change it",
        ))
    }
}

/// The project, if the viewer manages it (owner, admin).
pub async fn managed(
    db: &ProjectsDb,
    viewer: &Viewer,
    id: i32,
) -> Result<project::Model, ServiceError> {
    let found = load(&**db, id).await?;
    if access(&**db, viewer, &found).await?.can_manage() {
        Ok(found)
    } else {
        Err(ServiceError::forbidden(
            "only the project's owner and admins do this",
        ))
    }
}

/// Checks each course exists, and that the viewer may link it: a student a course they
/// are enrolled in, a teacher one they teach, an admin any.
async fn check_courses(
    academic: &AcademicDb,
    viewer: &Viewer,
    course_ids: &[i32],
) -> Result<(), ServiceError> {
    let found: HashMap<i32, course::Model> = course::Entity::find()
        .filter(course::Column::Id.is_in(course_ids.iter().copied()))
        .all(&**academic)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    if let Some(missing) = course_ids.iter().find(|id| !found.contains_key(id)) {
        return Err(ServiceError::invalid(
            "courseIds",
            format!("no course has id {missing}"),
        ));
    }
    if viewer.has(RoleName::Admin) {
        return Ok(());
    }
    let enrolled: BTreeSet<i32> = enrollment::Entity::find()
        .filter(enrollment::Column::StudentId.eq(viewer.id()))
        .filter(enrollment::Column::CourseId.is_in(course_ids.iter().copied()))
        .all(&**academic)
        .await?
        .into_iter()
        .map(|e| e.course_id)
        .collect();
    for id in course_ids {
        let teaches = viewer.has(RoleName::Teacher) && found[id].teacher_id == viewer.id();
        if !teaches && !enrolled.contains(id) {
            return Err(ServiceError::forbidden(format!(
                "course {id}: link courses you are enrolled in (students) or teach (teachers)"
            )));
        }
    }
    Ok(())
}

async fn check_tags(db: &impl ConnectionTrait, tag_ids: &[i32]) -> Result<(), ServiceError> {
    let found = tag::Entity::find()
        .filter(tag::Column::Id.is_in(tag_ids.iter().copied()))
        .count(db)
        .await?;
    if found as usize != tag_ids.iter().collect::<BTreeSet<_>>().len() {
        return Err(ServiceError::invalid("tagIds", "a tag id matches no tag"));
    }
    Ok(())
}

/// An image must be an uploaded image file of the viewer's (or any, for admins).
async fn check_image(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    file_id: i32,
) -> Result<(), ServiceError> {
    let found = file::Entity::find_by_id(file_id)
        .one(db)
        .await?
        .ok_or_else(|| ServiceError::invalid("imageFileId", "no file has this id"))?;
    if !found.content_type.starts_with("image/") {
        return Err(ServiceError::invalid(
            "imageFileId",
            "the file is not an image",
        ));
    }
    check_own_file(viewer, &found, "imageFileId")
}

fn check_own_file(
    viewer: &Viewer,
    found: &file::Model,
    field: &'static str,
) -> Result<(), ServiceError> {
    if found.uploaded_by != viewer.id() && !viewer.has(RoleName::Admin) {
        return Err(ServiceError::invalid(field, "use a file you uploaded"));
    }
    Ok(())
}

// ---- projects -------------------------------------------------------------------------

pub async fn create(
    db: &ProjectsDb,
    academic: &AcademicDb,
    viewer: &Viewer,
    input: CreateProjectInput,
    allow_local: bool,
) -> Result<project::Model, ServiceError> {
    let name = check_name(&input.name)?;
    let slug = check_slug(&input.slug)?;
    let repository = check_repository(&input.repository_url, allow_local)?;
    let port = check_port(input.container_port)?;
    let static_path = check_static_path(input.static_path)?;
    let description = check_description(input.description)?;
    let course_ids: Vec<i32> = parse_ids(&input.course_ids, "courseIds")?
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if course_ids.is_empty() {
        return Err(ServiceError::invalid(
            "courseIds",
            "link at least one course",
        ));
    }
    let tag_ids: Vec<i32> = parse_ids(&input.tag_ids, "tagIds")?
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let image = input
        .image_file_id
        .as_ref()
        .map(|id| parse_id(id, "imageFileId"))
        .transpose()?;
    check_courses(academic, viewer, &course_ids).await?;
    let txn = db.begin_write().await?;
    check_tags(&txn, &tag_ids).await?;
    if let Some(image) = image {
        check_image(&txn, viewer, image).await?;
    }
    let now = Utc::now();
    let created = project::ActiveModel {
        owner_id: Set(viewer.id()),
        name: Set(name),
        slug: Set(slug),
        repository_url: Set(repository),
        container_port: Set(port),
        static_path: Set(static_path),
        description: Set(description),
        image_file_id: Set(image),
        running: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(conflict_names)?;
    for course_id in course_ids {
        project_course::ActiveModel {
            project_id: Set(created.id),
            course_id: Set(course_id),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }
    for tag_id in tag_ids {
        project_tag::ActiveModel {
            project_id: Set(created.id),
            tag_id: Set(tag_id),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }
    txn.commit().await?;
    Ok(created)
}

/// Unique violations of `projects` name the GraphQL field.
fn conflict_names(error: sea_orm::DbErr) -> ServiceError {
    match ServiceError::from(error) {
        ServiceError::Conflict { field, reason } => {
            let field = match field.as_str() {
                "slug" => "slug",
                "repository_url" => "repositoryUrl",
                other => other,
            };
            ServiceError::conflict(field, reason)
        }
        other => other,
    }
}

pub async fn update(
    db: &ProjectsDb,
    viewer: &Viewer,
    id: i32,
    input: UpdateProjectInput,
    allow_local: bool,
) -> Result<project::Model, ServiceError> {
    let found = writable(db, viewer, id).await?;
    let mut model: project::ActiveModel = found.into();
    if let Some(name) = input.name {
        model.name = Set(check_name(&name)?);
    }
    if let Some(slug) = input.slug {
        model.slug = Set(check_slug(&slug)?);
    }
    if let Some(url) = input.repository_url {
        model.repository_url = Set(check_repository(&url, allow_local)?);
    }
    if let Some(port) = input.container_port {
        model.container_port = Set(check_port(port)?);
    }
    if let Some(path) = input.static_path {
        model.static_path = Set(check_static_path(path)?);
    }
    if let Some(description) = input.description {
        model.description = Set(check_description(Some(description))?);
    }
    if let Some(image) = input.image_file_id {
        let image = image
            .as_ref()
            .map(|id| parse_id(id, "imageFileId"))
            .transpose()?;
        if let Some(image) = image {
            check_image(&**db, viewer, image).await?;
        }
        model.image_file_id = Set(image);
    }
    model.updated_at = Set(Utc::now());
    model.update(&**db).await.map_err(conflict_names)
}

/// Deletes a project with everything hanging off it, and its files; its app is stopped
/// and its deployment folders removed first.
pub async fn delete(
    db: &ProjectsDb,
    data_dir: &std::path::Path,
    engine: &deploy::Engine,
    viewer: &Viewer,
    id: i32,
) -> Result<(), ServiceError> {
    let found = managed(db, viewer, id).await?;
    engine.remove_project(id).await?;
    let stage_ids: Vec<i32> = stage::Entity::find()
        .filter(stage::Column::ProjectId.eq(id))
        .all(&**db)
        .await?
        .iter()
        .map(|s| s.id)
        .collect();
    let mut file_ids: Vec<i32> = stage_file::Entity::find()
        .filter(stage_file::Column::StageId.is_in(stage_ids))
        .all(&**db)
        .await?
        .iter()
        .map(|f| f.file_id)
        .collect();
    file_ids.extend(found.image_file_id);
    project::Entity::delete_by_id(id).exec(&**db).await?;
    super::files::delete_unused(db, data_dir, &file_ids).await
}

/// A project row as the read queries return it: with the mean of its ratings when the
/// client asked for `averageRating` (`None` when not read, `Some(None)` with no ratings).
#[derive(Debug)]
pub struct ProjectRead {
    pub model: project::Model,
    pub average_rating: Option<Option<f64>>,
}

#[derive(FromQueryResult)]
struct ProjectWithAverage {
    #[sea_orm(nested)]
    model: project::Model,
    average_rating: Option<f64>,
}

/// Runs a projects query, reading each project's mean rating in the same statement (a
/// correlated subquery on the ratings index) when `with_average`.
async fn read_projects(
    db: &ProjectsDb,
    query: sea_orm::Select<project::Entity>,
    with_average: bool,
) -> Result<Vec<ProjectRead>, ServiceError> {
    if !with_average {
        return Ok(query
            .all(&**db)
            .await?
            .into_iter()
            .map(|model| ProjectRead {
                model,
                average_rating: None,
            })
            .collect());
    }
    let average = rating::Entity::find()
        .select_only()
        .expr(
            Expr::col((rating::Entity, rating::Column::Stars))
                .cast_as("DOUBLE PRECISION")
                .avg(),
        )
        .filter(
            Expr::col((rating::Entity, rating::Column::ProjectId))
                .equals((project::Entity, project::Column::Id)),
        )
        .into_query();
    Ok(query
        .column_as(
            Expr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(average))),
            "average_rating",
        )
        .into_model::<ProjectWithAverage>()
        .all(&**db)
        .await?
        .into_iter()
        .map(|row| ProjectRead {
            model: row.model,
            average_rating: Some(row.average_rating),
        })
        .collect())
}

/// One project by id for reading, with its mean rating when asked.
pub async fn read_by_id(
    db: &ProjectsDb,
    id: i32,
    with_average: bool,
) -> Result<Option<ProjectRead>, ServiceError> {
    let query = project::Entity::find().filter(project::Column::Id.eq(id));
    Ok(read_projects(db, query, with_average)
        .await?
        .into_iter()
        .next())
}

pub async fn by_slug(db: &ProjectsDb, slug: &str) -> Result<Option<project::Model>, ServiceError> {
    Ok(project::Entity::find()
        .filter(project::Column::Slug.eq(slug.trim()))
        .one(&**db)
        .await?)
}

/// Whether `slug` is well-formed and free.
pub async fn slug_available(db: &ProjectsDb, slug: &str) -> Result<bool, ServiceError> {
    let Ok(slug) = check_slug(slug) else {
        return Ok(false);
    };
    Ok(project::Entity::find()
        .filter(project::Column::Slug.eq(slug))
        .count(&**db)
        .await?
        == 0)
}

/// A page of projects by id, filtered; and how many match in all.
pub async fn page(
    db: &ProjectsDb,
    filter: &ProjectFilter,
    page: &Page,
    with_average: bool,
) -> Result<(Vec<ProjectRead>, u64), ServiceError> {
    let mut condition = Condition::all();
    if !filter.tag_ids.is_empty() {
        let tagged = project_tag::Entity::find()
            .select_only()
            .column(project_tag::Column::ProjectId)
            .filter(project_tag::Column::TagId.is_in(parse_ids(&filter.tag_ids, "tagIds")?))
            .into_query();
        condition = condition.add(project::Column::Id.in_subquery(tagged));
    }
    if let Some(owner) = &filter.owner_id {
        condition = condition.add(project::Column::OwnerId.eq(parse_id(owner, "ownerId")?));
    }
    if let Some(member) = &filter.member_id {
        let member = parse_id(member, "memberId")?;
        let collaborating = collaborator::Entity::find()
            .select_only()
            .column(collaborator::Column::ProjectId)
            .filter(collaborator::Column::UserId.eq(member))
            .into_query();
        condition = condition.add(
            Condition::any()
                .add(project::Column::OwnerId.eq(member))
                .add(project::Column::Id.in_subquery(collaborating)),
        );
    }
    if let Some(course) = &filter.course_id {
        let linked = project_course::Entity::find()
            .select_only()
            .column(project_course::Column::ProjectId)
            .filter(project_course::Column::CourseId.eq(parse_id(course, "courseId")?))
            .into_query();
        condition = condition.add(project::Column::Id.in_subquery(linked));
    }
    if let Some(search) = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        condition = condition.add(
            Expr::expr(Func::lower(Expr::col(project::Column::Name))).like(like_pattern(search)),
        );
    }
    let total = project::Entity::find()
        .filter(condition.clone())
        .count(&**db)
        .await?;
    let mut query = project::Entity::find().filter(condition);
    if let Some(after) = page.after {
        query = query.filter(project::Column::Id.gt(after));
    }
    let query = query
        .order_by_asc(project::Column::Id)
        .limit(page.first + 1);
    let rows = read_projects(db, query, with_average).await?;
    Ok((rows, total))
}

// ---- members, ratings, courses, tags ---------------------------------------------------

pub async fn add_collaborator(
    db: &ProjectsDb,
    users_db: &UsersDb,
    viewer: &Viewer,
    project_id: i32,
    user_id: i32,
) -> Result<project::Model, ServiceError> {
    let found = managed(db, viewer, project_id).await?;
    if users::existing_ids(users_db, &[user_id]).await?.is_empty() {
        return Err(ServiceError::invalid(
            "userId",
            format!("no user has id {user_id}"),
        ));
    }
    if found.owner_id == user_id {
        return Err(ServiceError::invalid(
            "userId",
            "the owner is not a collaborator",
        ));
    }
    collaborator::ActiveModel {
        project_id: Set(project_id),
        user_id: Set(user_id),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&**db)
    .await
    .map_err(ServiceError::conflict_as(
        "userId",
        "already a collaborator",
    ))?;
    Ok(found)
}

pub async fn remove_collaborator(
    db: &ProjectsDb,
    viewer: &Viewer,
    project_id: i32,
    user_id: i32,
) -> Result<project::Model, ServiceError> {
    let found = managed(db, viewer, project_id).await?;
    let removed = collaborator::Entity::delete_many()
        .filter(collaborator::Column::ProjectId.eq(project_id))
        .filter(collaborator::Column::UserId.eq(user_id))
        .exec(&**db)
        .await?;
    if removed.rows_affected == 0 {
        return Err(ServiceError::NotFound("collaborator"));
    }
    Ok(found)
}

/// Rates a project 1 to 5; one rating per user, updatable; never one's own project.
pub async fn rate(
    db: &ProjectsDb,
    viewer: &Viewer,
    project_id: i32,
    stars: i32,
) -> Result<rating::Model, ServiceError> {
    if !(1..=5).contains(&stars) {
        return Err(ServiceError::invalid("stars", "must be 1 to 5"));
    }
    let found = load(&**db, project_id).await?;
    let access = access(&**db, viewer, &found).await?;
    if access.owner || access.collaborator {
        return Err(ServiceError::forbidden(
            "members do not rate their own project",
        ));
    }
    let now = Utc::now();
    // One atomic upsert: two concurrent ratings by the same user cannot both insert.
    rating::Entity::insert(rating::ActiveModel {
        project_id: Set(project_id),
        user_id: Set(viewer.id()),
        stars: Set(stars),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([rating::Column::ProjectId, rating::Column::UserId])
            .update_columns([rating::Column::Stars, rating::Column::UpdatedAt])
            .to_owned(),
    )
    .exec(&**db)
    .await?;
    rating::Entity::find()
        .filter(rating::Column::ProjectId.eq(project_id))
        .filter(rating::Column::UserId.eq(viewer.id()))
        .one(&**db)
        .await?
        .ok_or_else(|| ServiceError::Corrupt("a rating vanished after its upsert".into()))
}

/// How many projects are built for a course (the academic service refuses to delete it
/// while any is).
pub async fn projects_of_course(db: &ProjectsDb, course_id: i32) -> Result<u64, ServiceError> {
    Ok(project_course::Entity::find()
        .filter(project_course::Column::CourseId.eq(course_id))
        .count(&**db)
        .await?)
}

pub async fn link_course(
    db: &ProjectsDb,
    academic: &AcademicDb,
    viewer: &Viewer,
    project_id: i32,
    course_id: i32,
) -> Result<project::Model, ServiceError> {
    let found = writable(db, viewer, project_id).await?;
    check_courses(academic, viewer, &[course_id]).await?;
    project_course::ActiveModel {
        project_id: Set(project_id),
        course_id: Set(course_id),
        ..Default::default()
    }
    .insert(&**db)
    .await
    .map_err(ServiceError::conflict_as("courseId", "already linked"))?;
    Ok(found)
}

/// Unlinks a course; a project keeps at least one.
pub async fn unlink_course(
    db: &ProjectsDb,
    viewer: &Viewer,
    project_id: i32,
    course_id: i32,
) -> Result<project::Model, ServiceError> {
    let found = writable(db, viewer, project_id).await?;
    let txn = db.begin_write().await?;
    let linked = project_course::Entity::find()
        .filter(project_course::Column::ProjectId.eq(project_id))
        .all(&txn)
        .await?;
    if !linked.iter().any(|l| l.course_id == course_id) {
        return Err(ServiceError::NotFound("course link"));
    }
    if linked.len() <= 1 {
        return Err(ServiceError::conflict(
            "courseId",
            "a project keeps at least one course",
        ));
    }
    project_course::Entity::delete_many()
        .filter(project_course::Column::ProjectId.eq(project_id))
        .filter(project_course::Column::CourseId.eq(course_id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(found)
}

pub async fn tag(
    db: &ProjectsDb,
    viewer: &Viewer,
    project_id: i32,
    tag_id: i32,
) -> Result<project::Model, ServiceError> {
    let found = writable(db, viewer, project_id).await?;
    check_tags(&**db, &[tag_id]).await?;
    project_tag::ActiveModel {
        project_id: Set(project_id),
        tag_id: Set(tag_id),
        ..Default::default()
    }
    .insert(&**db)
    .await
    .map_err(ServiceError::conflict_as("tagId", "already tagged"))?;
    Ok(found)
}

pub async fn untag(
    db: &ProjectsDb,
    viewer: &Viewer,
    project_id: i32,
    tag_id: i32,
) -> Result<project::Model, ServiceError> {
    let found = writable(db, viewer, project_id).await?;
    project_tag::Entity::delete_many()
        .filter(project_tag::Column::ProjectId.eq(project_id))
        .filter(project_tag::Column::TagId.eq(tag_id))
        .exec(&**db)
        .await?;
    Ok(found)
}

// ---- stages and files -----------------------------------------------------------------

async fn status_id(
    db: &impl ConnectionTrait,
    status: StageStatusName,
) -> Result<i32, ServiceError> {
    stage_status::Entity::find()
        .filter(stage_status::Column::Name.eq(status.as_db()))
        .one(db)
        .await?
        .map(|s| s.id)
        .ok_or_else(|| {
            ServiceError::Corrupt(format!("stage status {} is not seeded", status.as_db()))
        })
}

pub async fn create_stage(
    db: &ProjectsDb,
    viewer: &Viewer,
    input: CreateStageInput,
) -> Result<stage::Model, ServiceError> {
    let project_id = parse_id(&input.project_id, "projectId")?;
    let name = check_stage_name(&input.name)?;
    let description = check_description(input.description)?;
    writable(db, viewer, project_id).await?;
    let status = status_id(&**db, input.status.unwrap_or(StageStatusName::NotStarted)).await?;
    let now = Utc::now();
    Ok(stage::ActiveModel {
        project_id: Set(project_id),
        name: Set(name),
        description: Set(description),
        status_id: Set(status),
        author_id: Set(viewer.id()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&**db)
    .await?)
}

async fn writable_stage(
    db: &ProjectsDb,
    viewer: &Viewer,
    stage_id: i32,
) -> Result<stage::Model, ServiceError> {
    let found = stage::Entity::find_by_id(stage_id)
        .one(&**db)
        .await?
        .ok_or(ServiceError::NotFound("stage"))?;
    writable(db, viewer, found.project_id).await?;
    Ok(found)
}

pub async fn update_stage(
    db: &ProjectsDb,
    viewer: &Viewer,
    stage_id: i32,
    input: UpdateStageInput,
) -> Result<stage::Model, ServiceError> {
    let found = writable_stage(db, viewer, stage_id).await?;
    let mut model: stage::ActiveModel = found.into();
    if let Some(name) = input.name {
        model.name = Set(check_stage_name(&name)?);
    }
    if let Some(description) = input.description {
        model.description = Set(check_description(Some(description))?);
    }
    if let Some(status) = input.status {
        model.status_id = Set(status_id(&**db, status).await?);
    }
    model.updated_at = Set(Utc::now());
    Ok(model.update(&**db).await?)
}

pub async fn delete_stage(
    db: &ProjectsDb,
    data_dir: &std::path::Path,
    viewer: &Viewer,
    stage_id: i32,
) -> Result<(), ServiceError> {
    writable_stage(db, viewer, stage_id).await?;
    let file_ids: Vec<i32> = stage_file::Entity::find()
        .filter(stage_file::Column::StageId.eq(stage_id))
        .all(&**db)
        .await?
        .iter()
        .map(|f| f.file_id)
        .collect();
    stage::Entity::delete_by_id(stage_id).exec(&**db).await?;
    super::files::delete_unused(db, data_dir, &file_ids).await
}

pub async fn attach_file(
    db: &ProjectsDb,
    viewer: &Viewer,
    stage_id: i32,
    file_id: i32,
) -> Result<stage::Model, ServiceError> {
    let found = writable_stage(db, viewer, stage_id).await?;
    let stored = file::Entity::find_by_id(file_id)
        .one(&**db)
        .await?
        .ok_or_else(|| ServiceError::invalid("fileId", "no file has this id"))?;
    check_own_file(viewer, &stored, "fileId")?;
    stage_file::ActiveModel {
        stage_id: Set(stage_id),
        file_id: Set(file_id),
        author_id: Set(viewer.id()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&**db)
    .await
    .map_err(ServiceError::conflict_as("fileId", "already attached"))?;
    Ok(found)
}

pub async fn detach_file(
    db: &ProjectsDb,
    data_dir: &std::path::Path,
    viewer: &Viewer,
    stage_id: i32,
    file_id: i32,
) -> Result<stage::Model, ServiceError> {
    let found = writable_stage(db, viewer, stage_id).await?;
    let removed = stage_file::Entity::delete_many()
        .filter(stage_file::Column::StageId.eq(stage_id))
        .filter(stage_file::Column::FileId.eq(file_id))
        .exec(&**db)
        .await?;
    if removed.rows_affected == 0 {
        return Err(ServiceError::NotFound("attached file"));
    }
    super::files::delete_unused(db, data_dir, &[file_id]).await?;
    Ok(found)
}

// ---- environment variables ------------------------------------------------------------

/// Creates or updates a variable; the value is stored encrypted.
pub async fn set_variable(
    db: &ProjectsDb,
    cipher: &Cipher,
    viewer: &Viewer,
    project_id: i32,
    name: &str,
    value: &str,
) -> Result<environment_variable::Model, ServiceError> {
    let name = check_variable_name(name)?;
    if value.len() > 8192 {
        return Err(ServiceError::invalid("value", "must be at most 8192 bytes"));
    }
    writable(db, viewer, project_id).await?;
    let sealed = cipher
        .seal(project_id, &name, value)
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    let now = Utc::now();
    let txn = db.begin_write().await?;
    let existing = environment_variable::Entity::find()
        .filter(environment_variable::Column::ProjectId.eq(project_id))
        .filter(environment_variable::Column::Name.eq(name.as_str()))
        .one(&txn)
        .await?;
    let saved = match existing {
        Some(existing) => {
            let mut model: environment_variable::ActiveModel = existing.into();
            model.value = Set(sealed);
            model.updated_at = Set(now);
            model.update(&txn).await?
        }
        None => {
            environment_variable::ActiveModel {
                project_id: Set(project_id),
                name: Set(name),
                value: Set(sealed),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?
        }
    };
    txn.commit().await?;
    Ok(saved)
}

pub async fn delete_variable(
    db: &ProjectsDb,
    viewer: &Viewer,
    project_id: i32,
    name: &str,
) -> Result<(), ServiceError> {
    writable(db, viewer, project_id).await?;
    let removed = environment_variable::Entity::delete_many()
        .filter(environment_variable::Column::ProjectId.eq(project_id))
        .filter(environment_variable::Column::Name.eq(name))
        .exec(&**db)
        .await?;
    if removed.rows_affected == 0 {
        return Err(ServiceError::NotFound("environment variable"));
    }
    Ok(())
}

// ---- reference data -------------------------------------------------------------------

/// Every stage status, in workflow order.
pub async fn stage_statuses(db: &ProjectsDb) -> Result<Vec<stage_status::Model>, ServiceError> {
    Ok(stage_status::Entity::find()
        .order_by_asc(stage_status::Column::Id)
        .all(&**db)
        .await?)
}
