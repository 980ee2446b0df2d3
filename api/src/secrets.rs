//! Secrets from configuration, or generated once into the data directory (readable by
//! the owner only) so restarts keep working with the same keys.

use std::path::Path;

use rand::RngCore;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secret file {path}: {source}")]
    File {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("secret file {path}: holds fewer than {min} characters")]
    Short { path: String, min: usize },
    #[error("{variable}: {reason}")]
    Unusable {
        variable: &'static str,
        reason: String,
    },
}

/// The configured secret, else the one in `data_dir/file`, else a new one of `bytes`
/// random bytes written there as hex.
pub fn load_or_create(
    configured: Option<&str>,
    data_dir: &Path,
    file: &str,
    bytes: usize,
) -> Result<String, SecretError> {
    if let Some(secret) = configured {
        return Ok(secret.to_owned());
    }
    let path = data_dir.join(file);
    let file_error = |source| SecretError::File {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) if text.trim().len() >= 32 => Ok(text.trim().to_owned()),
        Ok(_) => Err(SecretError::Short {
            path: path.display().to_string(),
            min: 32,
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let mut random = vec![0u8; bytes];
            rand::rng().fill_bytes(&mut random);
            let secret: String = random.iter().map(|b| format!("{b:02x}")).collect();
            write_private(&path, &secret).map_err(file_error)?;
            Ok(secret)
        }
        Err(error) => Err(file_error(error)),
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

/// Decodes a hex string.
pub fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}
