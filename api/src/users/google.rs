//! Verifies Google ID tokens: RS256 signature against Google's published key set
//! (cached, refetched when an unknown key id appears), issuer, audience, expiry and
//! not-before.

use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};
use serde::Deserialize;
use tokio::sync::RwLock;

const ISSUERS: [&str; 2] = ["accounts.google.com", "https://accounts.google.com"];
/// Google rotates its keys about daily; an hour-old set is still good.
const MAX_KEY_AGE: Duration = Duration::from_secs(3600);
/// An unknown key id refetches the set at most this often, so bad tokens cannot make
/// us hammer Google.
const MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(5);
const CLOCK_LEEWAY_SECS: u64 = 30;

/// Who Google says signed in.
#[derive(Debug, Deserialize)]
pub struct GoogleIdentity {
    pub sub: String,
    pub email: String,
    #[serde(default)]
    pub email_verified: bool,
    #[serde(default)]
    pub given_name: Option<String>,
    #[serde(default)]
    pub family_name: Option<String>,
    #[serde(default)]
    pub picture: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum GoogleError {
    #[error("sign-in with Google is not configured on this server (GOOGLE_CLIENT_IDS is empty)")]
    NotConfigured,
    #[error("the Google ID token is not valid: {0}")]
    Invalid(&'static str),
    #[error("Google's signing keys could not be fetched: {0}")]
    KeysUnavailable(String),
}

struct CachedKeys {
    keys: JwkSet,
    fetched_at: Instant,
}

pub struct GoogleVerifier {
    client_ids: Vec<String>,
    jwks_url: String,
    http: reqwest::Client,
    cache: RwLock<Option<CachedKeys>>,
}

impl GoogleVerifier {
    pub fn new(client_ids: Vec<String>, jwks_url: String) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self {
            client_ids: client_ids
                .into_iter()
                .filter(|id| !id.trim().is_empty())
                .collect(),
            jwks_url,
            http,
            cache: RwLock::new(None),
        }
    }

    pub async fn verify(&self, id_token: &str) -> Result<GoogleIdentity, GoogleError> {
        if self.client_ids.is_empty() {
            return Err(GoogleError::NotConfigured);
        }
        let header = jsonwebtoken::decode_header(id_token)
            .map_err(|_| GoogleError::Invalid("malformed token"))?;
        if header.alg != Algorithm::RS256 {
            return Err(GoogleError::Invalid("unexpected signing algorithm"));
        }
        let kid = header.kid.ok_or(GoogleError::Invalid("no key id"))?;
        let key = self.key(&kid).await?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&self.client_ids);
        validation.set_issuer(&ISSUERS);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = CLOCK_LEEWAY_SECS;
        let identity = jsonwebtoken::decode::<GoogleIdentity>(id_token, &key, &validation)
            .map_err(|error| {
                use jsonwebtoken::errors::ErrorKind;
                GoogleError::Invalid(match error.kind() {
                    ErrorKind::ExpiredSignature => "expired",
                    ErrorKind::ImmatureSignature => "not valid yet",
                    ErrorKind::InvalidAudience => "issued for another client",
                    ErrorKind::InvalidIssuer => "not issued by Google",
                    ErrorKind::InvalidSignature => "bad signature",
                    _ => "rejected",
                })
            })?
            .claims;
        if !identity.email_verified {
            return Err(GoogleError::Invalid("email not verified"));
        }
        Ok(identity)
    }

    /// The decoding key for `kid`, from the cache or a fresh fetch.
    async fn key(&self, kid: &str) -> Result<DecodingKey, GoogleError> {
        {
            let cache = self.cache.read().await;
            if let Some(cached) = cache.as_ref() {
                let fresh = cached.fetched_at.elapsed() < MAX_KEY_AGE;
                if let (true, Some(jwk)) = (fresh, cached.keys.find(kid)) {
                    return DecodingKey::from_jwk(jwk)
                        .map_err(|_| GoogleError::Invalid("unusable key"));
                }
                if fresh && cached.fetched_at.elapsed() < MIN_REFETCH_INTERVAL {
                    return Err(GoogleError::Invalid("unknown key id"));
                }
            }
        }
        let mut cache = self.cache.write().await;
        // Another request may have refreshed the set while we waited for the lock.
        let refreshed = cache
            .as_ref()
            .is_some_and(|c| c.fetched_at.elapsed() < MIN_REFETCH_INTERVAL);
        if !refreshed {
            let keys = self.fetch().await?;
            *cache = Some(CachedKeys {
                keys,
                fetched_at: Instant::now(),
            });
        }
        let jwk = cache
            .as_ref()
            .and_then(|c| c.keys.find(kid))
            .ok_or(GoogleError::Invalid("unknown key id"))?;
        DecodingKey::from_jwk(jwk).map_err(|_| GoogleError::Invalid("unusable key"))
    }

    async fn fetch(&self) -> Result<JwkSet, GoogleError> {
        let unavailable =
            |e: reqwest::Error| GoogleError::KeysUnavailable(e.without_url().to_string());
        self.http
            .get(&self.jwks_url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(unavailable)?
            .json::<JwkSet>()
            .await
            .map_err(unavailable)
    }
}
