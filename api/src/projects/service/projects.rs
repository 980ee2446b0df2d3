//! Projects: create, update, delete, read one or a page.

use super::*;

pub async fn create(
    db: &ProjectsDb,
    academic: &AcademicDb,
    viewer: &Viewer,
    input: NewProject,
    allow_local: bool,
) -> Result<project::Model, ServiceError> {
    let name = check_name(&input.name)?;
    let slug = check_slug(&input.slug)?;
    let repository = check_repository(&input.repository_url, allow_local)?;
    let port = check_port(input.container_port)?;
    let static_path = check_static_path(input.static_path)?;
    let description = check_description(input.description)?;
    let course_ids: Vec<i32> = input
        .course_ids
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
    let tag_ids: Vec<i32> = input
        .tag_ids
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let image = input.image_file_id;
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
    crate::projects::files::delete_unused(db, data_dir, &file_ids).await
}

/// A project row as the read queries return it: with the mean of its ratings when the
/// client asked for `averageRating` (`None` when not read, `Some(None)` with no ratings).
#[derive(Debug)]
pub struct ProjectRead {
    pub model: project::Model,
    pub average_rating: Option<Option<f64>>,
}

#[derive(FromQueryResult)]
pub(super) struct ProjectWithAverage {
    #[sea_orm(nested)]
    model: project::Model,
    average_rating: Option<f64>,
}

/// Runs a projects query, reading each project's mean rating in the same statement (a
/// correlated subquery on the ratings index) when `with_average`.
pub(super) async fn read_projects(
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
    filter: &ProjectQuery,
    page: &Page,
    with_average: bool,
) -> Result<(Vec<ProjectRead>, u64), ServiceError> {
    let mut condition = Condition::all();
    if !filter.tag_ids.is_empty() {
        let tagged = project_tag::Entity::find()
            .select_only()
            .column(project_tag::Column::ProjectId)
            .filter(project_tag::Column::TagId.is_in(filter.tag_ids.iter().copied()))
            .into_query();
        condition = condition.add(project::Column::Id.in_subquery(tagged));
    }
    if let Some(owner) = filter.owner_id {
        condition = condition.add(project::Column::OwnerId.eq(owner));
    }
    if let Some(member) = filter.member_id {
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
    if let Some(course) = filter.course_id {
        let linked = project_course::Entity::find()
            .select_only()
            .column(project_course::Column::ProjectId)
            .filter(project_course::Column::CourseId.eq(course))
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
