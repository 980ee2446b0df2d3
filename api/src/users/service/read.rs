//! Reading users: roles, engines, the viewer, one user, pages, lookups by email and id.

use super::*;

/// Longest name field.
pub(super) const NAME_MAX: usize = 150;

/// Every role, in id order.
pub async fn roles(db: &UsersDb) -> Result<Vec<role::Model>, ServiceError> {
    Ok(role::Entity::find()
        .order_by_asc(role::Column::Id)
        .all(&**db)
        .await?)
}

/// Every database engine, in id order.
pub async fn database_engines(db: &UsersDb) -> Result<Vec<database_engine::Model>, ServiceError> {
    Ok(database_engine::Entity::find()
        .order_by_asc(database_engine::Column::Id)
        .all(&**db)
        .await?)
}

/// Lower-cased and trimmed, as emails are stored.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

pub(super) fn validate_email(email: &str) -> Result<String, ServiceError> {
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
    filter: &UserQuery,
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
