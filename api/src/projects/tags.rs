//! The tag catalogue: listing it (anyone) and managing it (staff). A tag's type is one
//! of the seeded tag types (AREA, PROGRAMMING: domain.md fixes them, so they are an enum
//! in the schema); a tag some project carries cannot be deleted.

use entities::projects::{project_tag, tag, tag_type};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
    TransactionTrait,
};

use crate::{db::ProjectsDb, error::ServiceError};

/// The longest tag name.
pub const MAX_TAG_NAME: usize = 50;

/// A tag with its type.
pub type TagRow = (tag::Model, tag_type::Model);

/// Every tag (of one type, given its name), by name.
pub async fn list(db: &ProjectsDb, of_type: Option<&str>) -> Result<Vec<TagRow>, ServiceError> {
    let mut query = tag::Entity::find().find_also_related(tag_type::Entity);
    if let Some(of_type) = of_type {
        query = query.filter(tag_type::Column::Name.eq(of_type));
    }
    query
        .order_by_asc(tag::Column::Name)
        .all(&**db)
        .await?
        .into_iter()
        .map(|(tag, tag_type)| {
            let tag_type = tag_type
                .ok_or_else(|| ServiceError::Corrupt(format!("tag {} has no type", tag.id)))?;
            Ok((tag, tag_type))
        })
        .collect()
}

fn check_name(name: &str) -> Result<String, ServiceError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ServiceError::invalid("name", "a tag needs a name"));
    }
    if name.chars().count() > MAX_TAG_NAME {
        return Err(ServiceError::invalid(
            "name",
            format!("a tag name has at most {MAX_TAG_NAME} characters"),
        ));
    }
    Ok(name.to_owned())
}

/// Adds a tag of the type named `of_type`; `CONFLICT` when that type has one so named.
pub async fn create(db: &ProjectsDb, name: &str, of_type: &str) -> Result<TagRow, ServiceError> {
    let name = check_name(name)?;
    let tag_type = tag_type::Entity::find()
        .filter(tag_type::Column::Name.eq(of_type))
        .one(&**db)
        .await?
        .ok_or_else(|| ServiceError::Corrupt(format!("tag type {of_type} is not seeded")))?;
    let created = tag::ActiveModel {
        name: Set(name),
        type_id: Set(tag_type.id),
        ..Default::default()
    }
    .insert(&**db)
    .await
    .map_err(ServiceError::conflict_as(
        "name",
        "a tag of this type has that name",
    ))?;
    Ok((created, tag_type))
}

/// Renames a tag; `CONFLICT` when another tag of its type has the new name.
pub async fn rename(db: &ProjectsDb, id: i32, name: &str) -> Result<TagRow, ServiceError> {
    let name = check_name(name)?;
    let (found, tag_type) = tag::Entity::find_by_id(id)
        .find_also_related(tag_type::Entity)
        .one(&**db)
        .await?
        .ok_or(ServiceError::NotFound("tag"))?;
    let tag_type =
        tag_type.ok_or_else(|| ServiceError::Corrupt(format!("tag {id} has no type")))?;
    let mut active: tag::ActiveModel = found.into();
    active.name = Set(name);
    let renamed = active
        .update(&**db)
        .await
        .map_err(ServiceError::conflict_as(
            "name",
            "a tag of this type has that name",
        ))?;
    Ok((renamed, tag_type))
}

/// Deletes a tag no project carries; `CONFLICT` saying how many carry it otherwise.
pub async fn delete(db: &ProjectsDb, id: i32) -> Result<(), ServiceError> {
    let txn = db.begin().await?;
    tag::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound("tag"))?;
    let carried = project_tag::Entity::find()
        .filter(project_tag::Column::TagId.eq(id))
        .count(&txn)
        .await?;
    if carried > 0 {
        return Err(in_use(carried));
    }
    // A project tagged meanwhile trips the foreign key (ON DELETE RESTRICT).
    tag::Entity::delete_by_id(id)
        .exec(&txn)
        .await
        .map_err(|error| match error.sql_err() {
            Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_)) => in_use(1),
            _ => error.into(),
        })?;
    txn.commit().await?;
    Ok(())
}

fn in_use(projects: u64) -> ServiceError {
    let noun = if projects == 1 { "project" } else { "projects" };
    ServiceError::conflict(
        "id",
        format!("{projects} {noun} carry this tag; untag them first"),
    )
}
