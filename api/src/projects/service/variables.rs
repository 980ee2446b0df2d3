//! Environment variables, encrypted at rest.

use super::*;

/// Creates or updates a variable; the value is stored encrypted.
pub async fn set_variable(
    db: &ProjectsDb,
    cipher: &Cipher,
    viewer: &Grant,
    project_id: i32,
    name: &str,
    value: &str,
) -> Result<environment_variable::Model, ServiceError> {
    let name = check_variable_name(name)?;
    if value.len() > 8192 {
        return Err(ServiceError::invalid("value", "must be at most 8192 bytes"));
    }
    project_for(db, viewer, project_id).await?;
    let sealed = cipher
        .seal(project_id, &name, value)
        .map_err(ServiceError::internal)?;
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
    viewer: &Grant,
    project_id: i32,
    name: &str,
) -> Result<(), ServiceError> {
    project_for(db, viewer, project_id).await?;
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

/// A variable as its readers see it.
pub struct OpenVariable {
    pub name: String,
    pub value: String,
    pub updated_at: chrono::DateTime<Utc>,
}

/// Values are read by the project's owner, collaborators and admins only.
pub fn may_read_variables(access: Access) -> Result<(), ServiceError> {
    if access.can_write() {
        Ok(())
    } else {
        Err(ServiceError::forbidden(
            "only the owner, collaborators and admins read environment variables",
        ))
    }
}

/// Decrypts stored variables; a value that does not open is an internal error naming it.
pub fn open_variables(
    cipher: &Cipher,
    rows: Vec<environment_variable::Model>,
) -> Result<Vec<OpenVariable>, ServiceError> {
    rows.into_iter()
        .map(|v| {
            let value = cipher.open(v.project_id, &v.name, &v.value).map_err(|e| {
                ServiceError::internal(
                    anyhow::Error::new(e)
                        .context(format!("variable {} of project {}", v.name, v.project_id)),
                )
            })?;
            Ok(OpenVariable {
                name: v.name,
                value,
                updated_at: v.updated_at,
            })
        })
        .collect()
}
