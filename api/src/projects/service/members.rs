//! Collaborators, ratings, course links and tags of a project.

use super::*;

pub async fn add_collaborator(
    db: &ProjectsDb,
    users_db: &UsersDb,
    viewer: &Grant,
    project_id: i32,
    user_id: i32,
) -> Result<project::Model, ServiceError> {
    let found = project_for(db, viewer, project_id).await?;
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
    viewer: &Grant,
    project_id: i32,
    user_id: i32,
) -> Result<project::Model, ServiceError> {
    let found = project_for(db, viewer, project_id).await?;
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
    viewer: &Grant,
    project_id: i32,
    stars: i32,
) -> Result<rating::Model, ServiceError> {
    if !(1..=5).contains(&stars) {
        return Err(ServiceError::invalid("stars", "must be 1 to 5"));
    }
    project_for(db, viewer, project_id).await?;
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
    viewer: &Grant,
    project_id: i32,
    course_id: i32,
) -> Result<project::Model, ServiceError> {
    let found = project_for(db, viewer, project_id).await?;
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
    viewer: &Grant,
    project_id: i32,
    course_id: i32,
) -> Result<project::Model, ServiceError> {
    let found = project_for(db, viewer, project_id).await?;
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
    viewer: &Grant,
    project_id: i32,
    tag_id: i32,
) -> Result<project::Model, ServiceError> {
    let found = project_for(db, viewer, project_id).await?;
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
    viewer: &Grant,
    project_id: i32,
    tag_id: i32,
) -> Result<project::Model, ServiceError> {
    let found = project_for(db, viewer, project_id).await?;
    project_tag::Entity::delete_many()
        .filter(project_tag::Column::ProjectId.eq(project_id))
        .filter(project_tag::Column::TagId.eq(tag_id))
        .exec(&**db)
        .await?;
    Ok(found)
}
