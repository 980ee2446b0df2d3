//! A stand-in for Google: the suite's own RSA key, its key set served on loopback, and
//! ID tokens minted with it, so sign-in runs through the real verification path.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::{
    RsaPrivateKey,
    pkcs1::{EncodeRsaPrivateKey, EncodeRsaPublicKey, LineEnding},
    traits::PublicKeyParts,
};
use serde_json::{Value, json};

pub const CLIENT_ID: &str = "test-client.apps.googleusercontent.com";
pub const KID: &str = "test-key-1";

pub struct FakeGoogle {
    pub jwks_url: String,
    private_pem: String,
    pub public_pem: String,
}

impl FakeGoogle {
    /// Makes a key and serves its key set until the test's runtime ends.
    pub async fn start() -> FakeGoogle {
        let key = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("an RSA key");
        let public = key.to_public_key();
        let jwks = json!({ "keys": [{
            "kty": "RSA", "alg": "RS256", "use": "sig", "kid": KID,
            "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
        }]});
        let router = axum::Router::new().route(
            "/certs",
            axum::routing::get(move || {
                let jwks = jwks.clone();
                async move { axum::Json(jwks) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        FakeGoogle {
            jwks_url: format!("http://{addr}/certs"),
            private_pem: key.to_pkcs1_pem(LineEnding::LF).expect("pem").to_string(),
            public_pem: public.to_pkcs1_pem(LineEnding::LF).expect("pem"),
        }
    }

    /// The flags that point the gateway at this stand-in.
    pub fn flags(&self) -> Vec<String> {
        vec![
            "--google-client-ids".into(),
            CLIENT_ID.into(),
            "--google-jwks-url".into(),
            self.jwks_url.clone(),
        ]
    }

    /// Claims of a good ID token for `email`.
    pub fn claims(&self, email: &str) -> Value {
        let now = jsonwebtoken::get_current_timestamp();
        json!({
            "iss": "https://accounts.google.com",
            "aud": CLIENT_ID,
            "sub": format!("google-{email}"),
            "email": email,
            "email_verified": true,
            "given_name": "Ana",
            "family_name": "Díaz",
            "picture": "https://example.org/ana.png",
            "iat": now,
            "nbf": now - 10,
            "exp": now + 600,
        })
    }

    /// Signs `claims` with our key under `kid`.
    pub fn sign(&self, claims: &Value, kid: &str) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.to_owned());
        let key = EncodingKey::from_rsa_pem(self.private_pem.as_bytes()).expect("key");
        jsonwebtoken::encode(&header, claims, &key).expect("signed")
    }

    /// A good ID token for `email`.
    pub fn id_token(&self, email: &str) -> String {
        self.sign(&self.claims(email), KID)
    }
}

/// A token with `alg: none` and no signature.
pub fn unsigned(claims: &Value) -> String {
    let header = json!({ "alg": "none", "typ": "JWT", "kid": KID });
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// An HS256 token whose secret is the public key: the classic key-confusion attack.
pub fn hs256_with_public_key(google: &FakeGoogle, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(KID.to_owned());
    let key = EncodingKey::from_secret(google.public_pem.as_bytes()).expect("key");
    jsonwebtoken::encode(&header, claims, &key).expect("signed")
}

/// The same token with its payload changed and the old signature kept.
pub fn tampered(token: &str) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("json");
    claims["email"] = json!("someone.else@uni.edu");
    format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    )
}
