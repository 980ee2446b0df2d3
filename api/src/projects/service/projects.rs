//! Projects: create, update, delete, read one or a page.

use super::*;

/// Creates a project of the viewer's: refused past `max_projects` of their own (0: no
/// cap; staff are exempt).
pub async fn create(
    db: &ProjectsDb,
    academic: &AcademicDb,
    viewer: &Viewer,
    input: NewProject,
    (allow_local, max_projects): (bool, u32),
) -> Result<project::Model, ServiceError> {
    let name = check_name(&input.name)?;
    let slug = check_slug(&input.slug)?;
    let repository = check_repository(&input.repository_url, allow_local)?;
    let port = check_port(input.container_port)?;
    let static_path = check_static_path(input.static_path)?;
    let description = check_description(input.description)?;
    let course_ids = distinct(input.course_ids);
    if course_ids.is_empty() {
        return Err(ServiceError::invalid(
            "courseIds",
            "link at least one course",
        ));
    }
    let tag_ids = distinct(input.tag_ids);
    let image = input.image_file_id;
    check_courses(academic, viewer, &course_ids).await?;
    let txn = db.begin_write().await?;
    check_quota(&txn, viewer, max_projects).await?;
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
    link(&txn, created.id, &course_ids, &tag_ids).await?;
    txn.commit().await?;
    Ok(created)
}

/// Each id once, in ascending order.
fn distinct(ids: Vec<i32>) -> Vec<i32> {
    ids.into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Links a new project to its courses and tags.
async fn link(
    txn: &impl ConnectionTrait,
    project_id: i32,
    course_ids: &[i32],
    tag_ids: &[i32],
) -> Result<(), ServiceError> {
    for &course_id in course_ids {
        project_course::ActiveModel {
            project_id: Set(project_id),
            course_id: Set(course_id),
            ..Default::default()
        }
        .insert(txn)
        .await?;
    }
    for &tag_id in tag_ids {
        project_tag::ActiveModel {
            project_id: Set(project_id),
            tag_id: Set(tag_id),
            ..Default::default()
        }
        .insert(txn)
        .await?;
    }
    Ok(())
}

/// Unique violations of `projects` name the GraphQL field.
pub(super) fn conflict_names(error: sea_orm::DbErr) -> ServiceError {
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
    viewer: &Grant,
    id: i32,
    input: ProjectPatch,
    allow_local: bool,
) -> Result<project::Model, ServiceError> {
    let found = project_for(db, viewer, id).await?;
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
    viewer: &Grant,
    id: i32,
) -> Result<(), ServiceError> {
    let found = project_for(db, viewer, id).await?;
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
    engine.delete_project(id).await?;
    crate::projects::files::delete_unused(db, data_dir, &file_ids).await
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

/// A student may own at most `max` projects (0: no cap); staff are exempt.
async fn check_quota(
    txn: &impl sea_orm::ConnectionTrait,
    viewer: &Viewer,
    max: u32,
) -> Result<(), ServiceError> {
    if max == 0 || viewer.is_staff() {
        return Ok(());
    }
    let owned = project::Entity::find()
        .filter(project::Column::OwnerId.eq(viewer.id()))
        .count(txn)
        .await?;
    if owned >= u64::from(max) {
        return Err(ServiceError::LimitReached {
            limit: "MAX_PROJECTS_PER_STUDENT",
            reason: format!("you own {owned} projects, the most a student may own"),
        });
    }
    Ok(())
}
