//! Environment variable values encrypted at rest with AES-256-GCM. Each value is bound
//! to its project and name (associated data), so a ciphertext copied to another row
//! fails to decrypt instead of leaking.

use aes_gcm::{
    Aes256Gcm, Nonce,
    aead::{Aead, AeadCore, KeyInit, OsRng, Payload},
};

use crate::secrets::{self, SecretError};

const NONCE_LEN: usize = 12;

#[derive(Clone)]
pub struct Cipher(Aes256Gcm);

#[derive(Debug, thiserror::Error)]
pub enum CipherError {
    #[error("a stored value failed authentication (tampered, or another key)")]
    Tampered,
    #[error("could not encrypt a value")]
    Encrypt,
}

impl Cipher {
    /// From 64 hex characters (SECRETS_KEY, or the generated `DATA_DIR/secrets_key`).
    pub fn load(
        configured: Option<&str>,
        data_dir: &std::path::Path,
    ) -> Result<Cipher, SecretError> {
        let hex = secrets::load_or_create(configured, data_dir, "secrets_key", 32)?;
        let key = secrets::from_hex(hex.trim())
            .filter(|k| k.len() == 32)
            .ok_or(SecretError::Unusable {
                variable: "SECRETS_KEY",
                reason: "must be 64 hexadecimal characters (32 bytes)".into(),
            })?;
        let cipher = Aes256Gcm::new_from_slice(&key).map_err(|_| SecretError::Unusable {
            variable: "SECRETS_KEY",
            reason: "must be 32 bytes".into(),
        })?;
        Ok(Cipher(cipher))
    }

    fn aad(project_id: i32, name: &str) -> Vec<u8> {
        format!("{project_id}/{name}").into_bytes()
    }

    /// Nonce followed by ciphertext and tag.
    pub fn seal(&self, project_id: i32, name: &str, value: &str) -> Result<Vec<u8>, CipherError> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let aad = Self::aad(project_id, name);
        let sealed = self
            .0
            .encrypt(
                &nonce,
                Payload {
                    msg: value.as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| CipherError::Encrypt)?;
        let mut stored = nonce.to_vec();
        stored.extend(sealed);
        Ok(stored)
    }

    pub fn open(&self, project_id: i32, name: &str, stored: &[u8]) -> Result<String, CipherError> {
        if stored.len() < NONCE_LEN {
            return Err(CipherError::Tampered);
        }
        let (nonce, sealed) = stored.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| CipherError::Tampered)?;
        let aad = Self::aad(project_id, name);
        let plain = self
            .0
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .map_err(|_| CipherError::Tampered)?;
        String::from_utf8(plain).map_err(|_| CipherError::Tampered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_opens_only_in_its_own_row() {
        let dir = tempfile::tempdir().expect("dir");
        let cipher = Cipher::load(None, dir.path()).expect("a key");
        let sealed = cipher.seal(7, "API_KEY", "s3cret").expect("sealed");
        assert!(!sealed.windows(6).any(|w| w == b"s3cret"));
        assert_eq!(cipher.open(7, "API_KEY", &sealed).expect("opens"), "s3cret");
        assert!(cipher.open(8, "API_KEY", &sealed).is_err());
        let mut tampered = sealed.clone();
        tampered[NONCE_LEN] ^= 1;
        assert!(matches!(
            cipher.open(7, "API_KEY", &tampered),
            Err(CipherError::Tampered)
        ));
    }
}
