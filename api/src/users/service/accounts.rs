//! Accounts: roles granted and revoked, activation, profiles, users made by the CLI.

use super::*;

pub(super) async fn role_id(
    db: &impl sea_orm::ConnectionTrait,
    name: RoleName,
) -> Result<i32, ServiceError> {
    role::Entity::find()
        .filter(role::Column::Name.eq(name.as_db()))
        .one(db)
        .await?
        .map(|r| r.id)
        .ok_or_else(|| ServiceError::Corrupt(format!("role {} is not seeded", name.as_db())))
}

/// Gives `user_id` the role unless they hold it already.
pub(super) async fn add_role(
    db: &impl sea_orm::ConnectionTrait,
    user_id: i32,
    name: RoleName,
) -> Result<(), ServiceError> {
    let role_id = role_id(db, name).await?;
    let held = user_role::Entity::find_by_id((user_id, role_id))
        .one(db)
        .await?
        .is_some();
    if !held {
        user_role::ActiveModel {
            user_id: Set(user_id),
            role_id: Set(role_id),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

pub(super) fn username_from(email: &str) -> String {
    email
        .split('@')
        .next()
        .unwrap_or(email)
        .chars()
        .take(NAME_MAX)
        .collect()
}

/// Gives TEACHER to every user with one of these emails; reports the unknown emails.
pub async fn promote_to_teacher(
    db: &UsersDb,
    emails: &[String],
) -> Result<(Vec<user::Model>, Vec<String>), ServiceError> {
    if emails.is_empty() {
        return Err(ServiceError::invalid("emails", "name at least one email"));
    }
    let (found, unknown) = users_by_emails(db, emails).await?;
    let txn = db.begin_write().await?;
    for user in &found {
        add_role(&txn, user.id, RoleName::Teacher).await?;
    }
    txn.commit().await?;
    Ok((found, unknown))
}

pub async fn grant_role(
    db: &UsersDb,
    user_id: i32,
    role: RoleName,
) -> Result<user::Model, ServiceError> {
    let user = user::Entity::find_by_id(user_id)
        .one(&**db)
        .await?
        .ok_or(ServiceError::NotFound("user"))?;
    add_role(&**db, user_id, role).await?;
    Ok(user)
}

/// Takes a role away; the last ADMIN keeps theirs.
pub async fn revoke_role(
    db: &UsersDb,
    user_id: i32,
    role: RoleName,
) -> Result<user::Model, ServiceError> {
    let user = user::Entity::find_by_id(user_id)
        .one(&**db)
        .await?
        .ok_or(ServiceError::NotFound("user"))?;
    let role_id = role_id(&**db, role).await?;
    let txn = db.begin_write().await?;
    if role == RoleName::Admin {
        let admins = user_role::Entity::find()
            .filter(user_role::Column::RoleId.eq(role_id))
            .count(&txn)
            .await?;
        let held = user_role::Entity::find_by_id((user_id, role_id))
            .one(&txn)
            .await?
            .is_some();
        if held && admins <= 1 {
            return Err(ServiceError::conflict(
                "role",
                "the last admin keeps the ADMIN role",
            ));
        }
    }
    user_role::Entity::delete_by_id((user_id, role_id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(user)
}

/// Activates or deactivates a user; a deactivated user's tokens stop working at once.
pub async fn set_user_active(
    db: &UsersDb,
    viewer: &Viewer,
    user_id: i32,
    active: bool,
) -> Result<user::Model, ServiceError> {
    if viewer.id() == user_id && !active {
        return Err(ServiceError::invalid(
            "userId",
            "you cannot deactivate yourself",
        ));
    }
    let user = user::Entity::find_by_id(user_id)
        .one(&**db)
        .await?
        .ok_or(ServiceError::NotFound("user"))?;
    let deactivating = user.is_active && !active;
    let version = user.token_version;
    let mut model: user::ActiveModel = user.into();
    model.is_active = Set(active);
    // Deactivation ends every session for good: a later reactivation does not revive
    // the tokens issued before it.
    if deactivating {
        model.token_version = Set(version + 1);
    }
    Ok(model.update(&**db).await?)
}

pub(super) fn checked_name(field: &'static str, value: String) -> Result<String, ServiceError> {
    let value = value.trim().to_owned();
    if value.is_empty() || value.chars().count() > NAME_MAX {
        return Err(ServiceError::invalid(
            field,
            format!("must be 1 to {NAME_MAX} characters"),
        ));
    }
    Ok(value)
}

pub async fn update_profile(
    db: &UsersDb,
    user_id: i32,
    input: ProfilePatch,
) -> Result<user::Model, ServiceError> {
    let user = user::Entity::find_by_id(user_id)
        .one(&**db)
        .await?
        .ok_or(ServiceError::NotFound("user"))?;
    let mut model: user::ActiveModel = user.into();
    if let Some(username) = input.username {
        model.username = Set(checked_name("username", username)?);
    }
    if let Some(first_name) = input.first_name {
        model.first_name = Set(checked_name("firstName", first_name)?);
    }
    if let Some(last_name) = input.last_name {
        model.last_name = Set(checked_name("lastName", last_name)?);
    }
    if let Some(picture_url) = input.picture_url {
        if let Some(url) = &picture_url {
            let parsed = url::Url::parse(url)
                .map_err(|_| ServiceError::invalid("pictureUrl", "not a URL"))?;
            if !matches!(parsed.scheme(), "http" | "https") || url.len() > 2048 {
                return Err(ServiceError::invalid(
                    "pictureUrl",
                    "must be an http(s) URL of at most 2048 characters",
                ));
            }
        }
        model.picture_url = Set(picture_url);
    }
    Ok(model.update(&**db).await?)
}

/// Creates a user by email (an operator's bootstrap), or finds the existing one, and
/// gives them `role`.
pub async fn create_user(
    db: &UsersDb,
    email: &str,
    role: RoleName,
) -> Result<(user::Model, bool), ServiceError> {
    let email = validate_email(email)?;
    let txn = db.begin_write().await?;
    let existing = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(&txn)
        .await?;
    let created = existing.is_none();
    let user = match existing {
        Some(user) => user,
        None => {
            user::ActiveModel {
                email: Set(email.clone()),
                google_id: Set(None),
                username: Set(username_from(&email)),
                first_name: Set(String::new()),
                last_name: Set(String::new()),
                picture_url: Set(None),
                is_active: Set(true),
                has_db_account: Set(false),
                token_version: Set(0),
                created_at: Set(Utc::now()),
                last_login_at: Set(None),
                ..Default::default()
            }
            .insert(&txn)
            .await?
        }
    };
    add_role(&txn, user.id, role).await?;
    txn.commit().await?;
    Ok((user, created))
}
