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

    fn issue(&self, user_id: i32, version: i32, kind: TokenKind) -> Result<String, TokenError> {
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
            jti: uuid::Uuid::new_v4().to_string(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(TokenError::Signing)
    }

    /// A fresh access and refresh token for this user at this token version.
    pub fn pair(&self, user_id: i32, version: i32) -> Result<TokenPair, TokenError> {
        Ok(TokenPair {
            access_token: self.issue(user_id, version, TokenKind::Access)?,
            refresh_token: self.issue(user_id, version, TokenKind::Refresh)?,
            expires_in: self.access_ttl.as_secs(),
        })
    }

    /// The access token alone (for the bootstrap command).
    pub fn access(&self, user_id: i32, version: i32) -> Result<String, TokenError> {
        self.issue(user_id, version, TokenKind::Access)
    }

    /// Checks signature, algorithm, expiry and kind; returns the user id and version.
    pub fn verify(&self, token: &str, kind: TokenKind) -> Result<(i32, i32), TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|_| TokenError::Invalid)?;
        if data.claims.typ != kind {
            return Err(TokenError::WrongKind(data.claims.typ));
        }
        let user_id = data.claims.sub.parse().map_err(|_| TokenError::Invalid)?;
        Ok((user_id, data.claims.ver))
    }
}
