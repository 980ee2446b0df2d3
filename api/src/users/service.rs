//! Rules and queries of the users domain.

use std::collections::{BTreeSet, HashMap};

use chrono::Utc;
use entities::users::{database_engine, refresh_family, role, user, user_role};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Set,
    sea_query::{Expr, ExprTrait, Func},
};

use super::{
    google::GoogleIdentity,
    tokens::{TokenPair, Tokens},
    types::{DatabaseEngine, Role, RoleName, UpdateProfileInput, UserFilter},
    viewer::Viewer,
};
use crate::{
    db::UsersDb,
    error::ServiceError,
    graphql::pagination::{Page, like_pattern},
};

/// Longest name field.
const NAME_MAX: usize = 150;

/// Every role, in id order.
pub async fn roles(db: &UsersDb) -> Result<Vec<Role>, ServiceError> {
    role::Entity::find()
        .order_by_asc(role::Column::Id)
        .all(&**db)
        .await?
        .into_iter()
        .map(Role::try_from)
        .collect()
}

/// Every database engine, in id order.
pub async fn database_engines(db: &UsersDb) -> Result<Vec<DatabaseEngine>, ServiceError> {
    database_engine::Entity::find()
        .order_by_asc(database_engine::Column::Id)
        .all(&**db)
        .await?
        .into_iter()
        .map(DatabaseEngine::try_from)
        .collect()
}

/// Lower-cased and trimmed, as emails are stored.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

fn validate_email(email: &str) -> Result<String, ServiceError> {
    let email = normalize_email(email);
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !email.chars().any(char::is_whitespace);
    if valid {
        Ok(email)
    } else {
        Err(ServiceError::invalid(
            "email",
            format!("{email:?} is not an email address"),
        ))
    }
}

/// The roles a user holds now.
/// The user behind a verified access token, if the token is still good for them: the
/// user and their roles in one statement (it runs on nearly every request).
pub async fn load_viewer(
    db: &UsersDb,
    user_id: i32,
    token_version: i32,
) -> Result<Viewer, ServiceError> {
    let mut rows = user::Entity::find_by_id(user_id)
        .find_also_related(role::Entity)
        .order_by_asc(role::Column::Id)
        .all(&**db)
        .await?
        .into_iter();
    let (user, first_role) = rows
        .next()
        .ok_or_else(|| ServiceError::Unauthenticated("the token's user no longer exists".into()))?;
    if !user.is_active {
        return Err(ServiceError::Unauthenticated(
            "this account is deactivated".into(),
        ));
    }
    if user.token_version != token_version {
        return Err(ServiceError::Unauthenticated(
            "this token was revoked by a sign-out".into(),
        ));
    }
    let roles = first_role
        .into_iter()
        .chain(rows.filter_map(|(_, role)| role))
        .map(|r| RoleName::from_db(&r.name))
        .collect::<Result<_, _>>()?;
    Ok(Viewer { user, roles })
}

pub async fn user(db: &UsersDb, id: i32) -> Result<Option<user::Model>, ServiceError> {
    Ok(user::Entity::find_by_id(id).one(&**db).await?)
}

/// One page of users by id (one row more than asked, to tell whether more follow) and
/// how many match in all.
/// A page of users. `search` matches usernames and names, and emails only when
/// `search_emails` (staff: an email is private).
pub async fn users_page(
    db: &UsersDb,
    filter: &UserFilter,
    search_emails: bool,
    page: &Page,
) -> Result<(Vec<user::Model>, u64), ServiceError> {
    let mut condition = Condition::all();
    if let Some(role) = filter.role {
        let holders = user_role::Entity::find()
            .select_only()
            .column(user_role::Column::UserId)
            .inner_join(role::Entity)
            .filter(role::Column::Name.eq(role.as_db()))
            .into_query();
        condition = condition.add(user::Column::Id.in_subquery(holders));
    }
    if let Some(search) = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let pattern = like_pattern(search);
        let like =
            |column: user::Column| Expr::expr(Func::lower(Expr::col(column))).like(pattern.clone());
        let mut any = Condition::any()
            .add(like(user::Column::Username))
            .add(like(user::Column::FirstName))
            .add(like(user::Column::LastName));
        if search_emails {
            any = any.add(like(user::Column::Email));
        }
        condition = condition.add(any);
    }
    let total = user::Entity::find()
        .filter(condition.clone())
        .count(&**db)
        .await?;
    let mut query = user::Entity::find().filter(condition);
    if let Some(after) = page.after {
        query = query.filter(user::Column::Id.gt(after));
    }
    let rows = query
        .order_by_asc(user::Column::Id)
        .limit(page.first + 1)
        .all(&**db)
        .await?;
    Ok((rows, total))
}

/// The users with these emails, and the emails no user has (in the order given).
pub async fn users_by_emails(
    db: &UsersDb,
    emails: &[String],
) -> Result<(Vec<user::Model>, Vec<String>), ServiceError> {
    let wanted: Vec<String> = emails.iter().map(|e| normalize_email(e)).collect();
    let found = user::Entity::find()
        .filter(user::Column::Email.is_in(wanted.iter().cloned()))
        .order_by_asc(user::Column::Id)
        .all(&**db)
        .await?;
    let known: BTreeSet<&str> = found.iter().map(|u| u.email.as_str()).collect();
    let mut missing = Vec::new();
    for email in &wanted {
        if !known.contains(email.as_str()) && !missing.contains(email) {
            missing.push(email.clone());
        }
    }
    Ok((found, missing))
}

async fn role_id(db: &impl sea_orm::ConnectionTrait, name: RoleName) -> Result<i32, ServiceError> {
    role::Entity::find()
        .filter(role::Column::Name.eq(name.as_db()))
        .one(db)
        .await?
        .map(|r| r.id)
        .ok_or_else(|| ServiceError::Corrupt(format!("role {} is not seeded", name.as_db())))
}

/// Gives `user_id` the role unless they hold it already.
async fn add_role(
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

fn username_from(email: &str) -> String {
    email
        .split('@')
        .next()
        .unwrap_or(email)
        .chars()
        .take(NAME_MAX)
        .collect()
}

/// Signs in a verified Google identity: the user with that Google id, else the
/// operator-made user with that email (linked now), else a new STUDENT.
pub async fn sign_in_with_google(
    db: &UsersDb,
    identity: GoogleIdentity,
) -> Result<user::Model, ServiceError> {
    let email = validate_email(&identity.email)?;
    let txn = db.begin_write().await?;
    let existing = user::Entity::find()
        .filter(
            Condition::any()
                .add(user::Column::GoogleId.eq(identity.sub.as_str()))
                .add(user::Column::Email.eq(email.as_str())),
        )
        .order_by_asc(user::Column::Id)
        .one(&txn)
        .await?;
    let now = Utc::now();
    let user = match existing {
        Some(user) => {
            if !user.is_active {
                return Err(ServiceError::Unauthenticated(
                    "this account is deactivated".into(),
                ));
            }
            if user.google_id.as_deref().is_some_and(|g| g != identity.sub) {
                return Err(ServiceError::Unauthenticated(
                    "this email belongs to another Google account".into(),
                ));
            }
            let mut active: user::ActiveModel = user.into();
            active.google_id = Set(Some(identity.sub));
            active.last_login_at = Set(Some(now));
            active.update(&txn).await?
        }
        None => {
            let user = user::ActiveModel {
                email: Set(email.clone()),
                google_id: Set(Some(identity.sub)),
                username: Set(username_from(&email)),
                first_name: Set(identity
                    .given_name
                    .unwrap_or_default()
                    .chars()
                    .take(NAME_MAX)
                    .collect()),
                last_name: Set(identity
                    .family_name
                    .unwrap_or_default()
                    .chars()
                    .take(NAME_MAX)
                    .collect()),
                picture_url: Set(identity.picture),
                is_active: Set(true),
                has_db_account: Set(false),
                token_version: Set(0),
                created_at: Set(now),
                last_login_at: Set(Some(now)),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
            add_role(&txn, user.id, RoleName::Student).await?;
            user
        }
    };
    txn.commit().await?;
    Ok(user)
}

fn signing_error(error: super::tokens::TokenError) -> ServiceError {
    ServiceError::Internal(crate::error::cause_chain(&error))
}

/// A fresh token pair for the user, starting a refresh family (a sign-in). The user's
/// families that expired are removed on the way.
pub async fn issue_pair(
    db: &UsersDb,
    tokens: &Tokens,
    user: &user::Model,
) -> Result<TokenPair, ServiceError> {
    let now = chrono::Utc::now();
    refresh_family::Entity::delete_many()
        .filter(refresh_family::Column::UserId.eq(user.id))
        .filter(refresh_family::Column::ExpiresAt.lt(now))
        .exec(&**db)
        .await?;
    let (family, jti) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let lifetime = chrono::Duration::from_std(tokens.refresh_ttl())
        .unwrap_or_else(|_| chrono::Duration::days(30));
    refresh_family::ActiveModel {
        family: Set(family),
        user_id: Set(user.id),
        current_jti: Set(jti),
        expires_at: Set(now + lifetime),
    }
    .insert(&**db)
    .await?;
    tokens
        .pair(user.id, user.token_version, family, jti)
        .map_err(signing_error)
}

/// Trades the current refresh token of a family for a new pair; the token traded can
/// never be used again. Presenting a token of the family that is not its current one
/// (replayed, stolen) ends every session of the user.
pub async fn refresh(
    db: &UsersDb,
    tokens: &Tokens,
    refresh_token: &str,
) -> Result<(user::Model, TokenPair), ServiceError> {
    let claims = tokens
        .verify_refresh(refresh_token)
        .map_err(|e| ServiceError::Unauthenticated(e.to_string()))?;
    let viewer = load_viewer(db, claims.user_id, claims.version).await?;
    let next = uuid::Uuid::new_v4();
    // Only the current token moves the family on (one statement: two refreshes with the
    // same token cannot both win).
    let moved = refresh_family::Entity::update_many()
        .col_expr(refresh_family::Column::CurrentJti, Expr::value(next))
        .filter(refresh_family::Column::Family.eq(claims.family))
        .filter(refresh_family::Column::UserId.eq(claims.user_id))
        .filter(refresh_family::Column::CurrentJti.eq(claims.jti))
        .filter(refresh_family::Column::ExpiresAt.gt(chrono::Utc::now()))
        .exec(&**db)
        .await?;
    if moved.rows_affected != 1 {
        let known = refresh_family::Entity::find_by_id(claims.family)
            .one(&**db)
            .await?
            .is_some();
        if known {
            sign_out(db, claims.user_id).await?;
            return Err(ServiceError::Unauthenticated(
                "this refresh token was already used: every session of the user was ended".into(),
            ));
        }
        return Err(ServiceError::Unauthenticated(
            "this refresh token's session has ended".into(),
        ));
    }
    let pair = tokens
        .pair(
            viewer.user.id,
            viewer.user.token_version,
            claims.family,
            next,
        )
        .map_err(signing_error)?;
    Ok((viewer.user, pair))
}

/// Revokes every token of the user and forgets their refresh families.
pub async fn sign_out(db: &UsersDb, user_id: i32) -> Result<(), ServiceError> {
    user::Entity::update_many()
        .col_expr(
            user::Column::TokenVersion,
            Expr::col(user::Column::TokenVersion).add(1),
        )
        .filter(user::Column::Id.eq(user_id))
        .exec(&**db)
        .await?;
    refresh_family::Entity::delete_many()
        .filter(refresh_family::Column::UserId.eq(user_id))
        .exec(&**db)
        .await?;
    Ok(())
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

fn checked_name(field: &'static str, value: String) -> Result<String, ServiceError> {
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
    input: UpdateProfileInput,
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

/// The user with this email.
pub async fn user_by_email(db: &UsersDb, email: &str) -> Result<user::Model, ServiceError> {
    user::Entity::find()
        .filter(user::Column::Email.eq(normalize_email(email)))
        .one(&**db)
        .await?
        .ok_or(ServiceError::NotFound("user"))
}

/// Users by id (no statement for no ids): checks made by other domains, and every
/// loader that reads users.
pub async fn existing_ids(
    db: &UsersDb,
    ids: &[i32],
) -> Result<HashMap<i32, user::Model>, ServiceError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(user::Entity::find()
        .filter(db.any_of(user::Column::Id, ids.iter().copied()))
        .all(&**db)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect())
}

/// Which of these users hold `role` now.
pub async fn holders_of(
    db: &UsersDb,
    role: RoleName,
    ids: &[i32],
) -> Result<BTreeSet<i32>, ServiceError> {
    if ids.is_empty() {
        return Ok(BTreeSet::new());
    }
    Ok(user_role::Entity::find()
        .inner_join(role::Entity)
        .filter(role::Column::Name.eq(role.as_db()))
        .filter(db.any_of(user_role::Column::UserId, ids.iter().copied()))
        .all(&**db)
        .await?
        .into_iter()
        .map(|pair| pair.user_id)
        .collect())
}
