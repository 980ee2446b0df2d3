//! Stages, their files, and the stage statuses (reference data).

use super::*;

pub(super) async fn status_id(
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
    viewer: &Grant,
    input: NewStage,
) -> Result<stage::Model, ServiceError> {
    let project_id = input.project_id;
    let name = check_stage_name(&input.name)?;
    let description = check_description(input.description)?;
    project_for(db, viewer, project_id).await?;
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

pub(super) async fn writable_stage(
    db: &ProjectsDb,
    viewer: &Grant,
    stage_id: i32,
) -> Result<stage::Model, ServiceError> {
    let found = stage::Entity::find_by_id(stage_id)
        .one(&**db)
        .await?
        .ok_or(ServiceError::NotFound("stage"))?;
    project_for(db, viewer, found.project_id).await?;
    Ok(found)
}

pub async fn update_stage(
    db: &ProjectsDb,
    viewer: &Grant,
    stage_id: i32,
    input: StagePatch,
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
    viewer: &Grant,
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
    crate::projects::files::delete_unused(db, data_dir, &file_ids).await
}

pub async fn attach_file(
    db: &ProjectsDb,
    viewer: &Grant,
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
    viewer: &Grant,
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
    crate::projects::files::delete_unused(db, data_dir, &[file_id]).await?;
    Ok(found)
}

/// Every stage status, in workflow order.
pub async fn stage_statuses(db: &ProjectsDb) -> Result<Vec<stage_status::Model>, ServiceError> {
    Ok(stage_status::Entity::find()
        .order_by_asc(stage_status::Column::Id)
        .all(&**db)
        .await?)
}
