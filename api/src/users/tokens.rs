//! Our own tokens: short-lived access tokens and longer refresh tokens, HS256-signed
//! with a secret from config (or generated once into the data directory). A token
//! carries the user's token version: bumping it (sign-out) revokes every token.

use std::{path::Path, time::Duration};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

pub use crate::secrets::SecretError;

/// What a token is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    Access,
    Refresh,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// The user's token version when the token was issued.
    pub ver: i32,
    pub typ: TokenKind,
    pub iat: u64,
    pub exp: u64,
    pub jti: String,
    /// Refresh tokens: the sign-in they descend from (see `refresh_families`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fam: Option<String>,
}

/// A refresh token's identity: whose, at which version, which family, which token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefreshClaims {
    pub user_id: i32,
    pub version: i32,
    pub family: uuid::Uuid,
    pub jti: uuid::Uuid,
}

/// An access and a refresh token.
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the token is invalid or expired")]
    Invalid,
    #[error("the token is a {0:?} token")]
    WrongKind(TokenKind),
    #[error("could not sign a token: {0}")]
    Signing(#[source] jsonwebtoken::errors::Error),
}

/// Signs and verifies our tokens.
#[derive(Clone)]
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    access_ttl: Duration,
    refresh_ttl: Duration,
}

impl Tokens {
    pub fn new(
        secret: &[u8],
        access_ttl: Duration,
        refresh_ttl: Duration,
    ) -> Result<Self, SecretError> {
        let unusable = |e: jsonwebtoken::errors::Error| SecretError::Unusable {
            variable: "JWT_SECRET",
            reason: e.to_string(),
        };
        Ok(Self {
            encoding: EncodingKey::from_secret(secret).map_err(unusable)?,
            decoding: DecodingKey::from_secret(secret).map_err(unusable)?,
            access_ttl,
            refresh_ttl,
        })
    }

    /// The configured secret, or the one kept in `data_dir/jwt_secret`, created on first
    /// use, so restarts keep sessions.
    pub fn load_secret(configured: Option<&str>, data_dir: &Path) -> Result<Vec<u8>, SecretError> {
        Ok(crate::secrets::load_or_create(configured, data_dir, "jwt_secret", 48)?.into_bytes())
    }

    fn issue(
        &self,
        user_id: i32,
        version: i32,
        kind: TokenKind,
        ids: Option<(uuid::Uuid, uuid::Uuid)>,
    ) -> Result<String, TokenError> {
        let ttl = match kind {
            TokenKind::Access => self.access_ttl,
            TokenKind::Refresh => self.refresh_ttl,
        };
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: user_id.to_string(),
            ver: version,
            typ: kind,
            iat: now,
            exp: now + ttl.as_secs(),
            jti: ids
                .map_or_else(uuid::Uuid::new_v4, |(_, jti)| jti)
                .to_string(),
            fam: ids.map(|(family, _)| family.to_string()),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(TokenError::Signing)
    }

    /// A fresh access token, and the refresh token `jti` of `family`, for this user at
    /// this token version.
    pub fn pair(
        &self,
        user_id: i32,
        version: i32,
        family: uuid::Uuid,
        jti: uuid::Uuid,
    ) -> Result<TokenPair, TokenError> {
        Ok(TokenPair {
            access_token: self.issue(user_id, version, TokenKind::Access, None)?,
            refresh_token: self.issue(user_id, version, TokenKind::Refresh, Some((family, jti)))?,
            expires_in: self.access_ttl.as_secs(),
        })
    }

    /// How long a refresh token (and its family) lives.
    pub fn refresh_ttl(&self) -> std::time::Duration {
        self.refresh_ttl
    }

    /// The access token alone (for the bootstrap command).
    pub fn access(&self, user_id: i32, version: i32) -> Result<String, TokenError> {
        self.issue(user_id, version, TokenKind::Access, None)
    }

    /// Checks a refresh token like [`Tokens::verify`]; returns its identity.
    pub fn verify_refresh(&self, token: &str) -> Result<RefreshClaims, TokenError> {
        let claims = self.claims(token, TokenKind::Refresh)?;
        let id = |text: Option<&str>| {
            text.and_then(|t| uuid::Uuid::parse_str(t).ok())
                .ok_or(TokenError::Invalid)
        };
        Ok(RefreshClaims {
            user_id: claims.sub.parse().map_err(|_| TokenError::Invalid)?,
            version: claims.ver,
            family: id(claims.fam.as_deref())?,
            jti: id(Some(&claims.jti))?,
        })
    }

    /// Checks signature, algorithm, expiry and kind; returns the user id and version.
    pub fn verify(&self, token: &str, kind: TokenKind) -> Result<(i32, i32), TokenError> {
        let claims = self.claims(token, kind)?;
        let user_id = claims.sub.parse().map_err(|_| TokenError::Invalid)?;
        Ok((user_id, claims.ver))
    }

    /// When a valid token of `kind` expires (seconds since the epoch).
    pub fn expires_at(&self, token: &str, kind: TokenKind) -> Result<u64, TokenError> {
        Ok(self.claims(token, kind)?.exp)
    }

    fn claims(&self, token: &str, kind: TokenKind) -> Result<Claims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|_| TokenError::Invalid)?;
        if data.claims.typ != kind {
            return Err(TokenError::WrongKind(data.claims.typ));
        }
        Ok(data.claims)
    }
}
