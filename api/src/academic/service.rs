//! Rules and queries of the academic domain.

use entities::academic::subject;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::types::Subject;
use crate::{db::AcademicDb, error::ServiceError};

/// Longest subject code.
pub const CODE_MAX: usize = 10;

/// The subject with this code (codes are unique), if any.
pub async fn subject_by_code(db: &AcademicDb, code: &str) -> Result<Option<Subject>, ServiceError> {
    let code = code.trim();
    if code.is_empty() || code.chars().count() > CODE_MAX {
        return Err(ServiceError::Invalid {
            field: "code",
            reason: format!("must be 1 to {CODE_MAX} characters"),
        });
    }
    Ok(subject::Entity::find()
        .filter(subject::Column::Code.eq(code))
        .one(&**db)
        .await?
        .map(Subject::from))
}
