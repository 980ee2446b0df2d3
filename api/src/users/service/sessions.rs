//! Sessions: signing in with Google, token pairs, refresh with rotation, signing out.

use super::*;

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
            let user = new_student(identity, email, now).insert(&txn).await?;
            add_role(&txn, user.id, RoleName::Student).await?;
            user
        }
    };
    txn.commit().await?;
    Ok(user)
}

/// A user first seen through Google: named as Google names them, signed in now.
fn new_student(
    identity: GoogleIdentity,
    email: String,
    now: chrono::DateTime<Utc>,
) -> user::ActiveModel {
    let name = |part: Option<String>| part.unwrap_or_default().chars().take(NAME_MAX).collect();
    user::ActiveModel {
        username: Set(username_from(&email)),
        email: Set(email),
        google_id: Set(Some(identity.sub)),
        first_name: Set(name(identity.given_name)),
        last_name: Set(name(identity.family_name)),
        picture_url: Set(identity.picture),
        is_active: Set(true),
        has_db_account: Set(false),
        token_version: Set(0),
        created_at: Set(now),
        last_login_at: Set(Some(now)),
        ..Default::default()
    }
}

pub(super) fn signing_error(error: crate::users::tokens::TokenError) -> ServiceError {
    ServiceError::internal(error)
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
