//! Our own tokens: short-lived access tokens and longer refresh tokens, HS256-signed
//! with a secret from config (or generated once into the data directory). A token
//! carries the user's token version: bumping it (sign-out) revokes every token.

use std::{path::Path, time::Duration};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};

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

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("JWT secret file {path}: {source}")]
    File {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("JWT secret file {path}: holds fewer than 32 bytes")]
    Short { path: String },
    #[error("JWT_SECRET: {0}")]
    Unusable(String),
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
        let unusable = |e: jsonwebtoken::errors::Error| SecretError::Unusable(e.to_string());
        Ok(Self {
            encoding: EncodingKey::from_secret(secret).map_err(unusable)?,
            decoding: DecodingKey::from_secret(secret).map_err(unusable)?,
            access_ttl,
            refresh_ttl,
        })
    }

    /// The configured secret, or the one kept in `data_dir/jwt_secret` (created on first
    /// use, readable by the owner only) so restarts keep sessions.
    pub fn load_secret(configured: Option<&str>, data_dir: &Path) -> Result<Vec<u8>, SecretError> {
        if let Some(secret) = configured {
            return Ok(secret.as_bytes().to_vec());
        }
        let path = data_dir.join("jwt_secret");
        let file_error = |source| SecretError::File {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) if text.trim().len() >= 32 => Ok(text.trim().as_bytes().to_vec()),
            Ok(_) => Err(SecretError::Short {
                path: path.display().to_string(),
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 48];
                rand::rng().fill_bytes(&mut bytes);
                let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                write_private(&path, &secret).map_err(file_error)?;
                Ok(secret.into_bytes())
            }
            Err(error) => Err(file_error(error)),
        }
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

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())
}
