//! Rules and queries of the projects domain.

use entities::projects::{stage_status, tag, tag_type};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::types::{StageStatus, Tag, TagType};
use crate::{db::ProjectsDb, error::ServiceError};

/// Every stage status, in workflow order.
pub async fn stage_statuses(db: &ProjectsDb) -> Result<Vec<StageStatus>, ServiceError> {
    stage_status::Entity::find()
        .order_by_asc(stage_status::Column::Id)
        .all(&**db)
        .await?
        .into_iter()
        .map(StageStatus::try_from)
        .collect()
}

/// Every tag, or those of one type, by name; one statement.
pub async fn tags(db: &ProjectsDb, of_type: Option<TagType>) -> Result<Vec<Tag>, ServiceError> {
    let mut query = tag::Entity::find().find_also_related(tag_type::Entity);
    if let Some(of_type) = of_type {
        query = query.filter(tag_type::Column::Name.eq(of_type.as_db()));
    }
    query
        .order_by_asc(tag::Column::Name)
        .all(&**db)
        .await?
        .into_iter()
        .map(|(tag, tag_type)| {
            let tag_type = tag_type
                .ok_or_else(|| ServiceError::Corrupt(format!("tag {} has no type", tag.id)))?;
            Tag::try_from((tag, tag_type))
        })
        .collect()
}
