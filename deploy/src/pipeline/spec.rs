//! `deploy.toml`, the file at a repository's root that says how the `process` runtime
//! builds and starts it:
//!
//! ```toml
//! build = "pip install --user -r requirements.txt"   # optional
//! start = "python3 -m http.server $PORT"             # required unless `static` is set
//! static = "public"                                  # optional, served under /apps/<slug>/
//! health_path = "/"                                  # optional, must answer below 500
//! ```

use std::path::Path;

use serde::Deserialize;

pub const FILE: &str = "deploy.toml";

/// The most of `deploy.toml` that is read.
pub const MAX_BYTES: u64 = 64 * 1024;

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub build: Option<String>,
    pub start: Option<String>,
    #[serde(rename = "static")]
    pub static_dir: Option<String>,
    pub health_path: Option<String>,
}

impl Spec {
    pub fn parse(text: &str) -> Result<Self, String> {
        let spec: Spec = toml::from_str(text).map_err(|e| format!("{FILE}: {}", e.message()))?;
        if let Some(path) = &spec.health_path
            && !is_request_path(path)
        {
            return Err(format!(
                "{FILE}: health_path must be a path starting with / (visible ASCII, no \
                 spaces or line breaks, at most 1024 characters)"
            ));
        }
        for (name, value) in [("build", &spec.build), ("start", &spec.start)] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                return Err(format!("{FILE}: {name} is empty"));
            }
        }
        Ok(spec)
    }

    /// The spec of a checked-out repository; a missing file is an error for the
    /// process runtime, which has nothing else to go on. Read beneath the checkout with
    /// no symlink followed and at most [`MAX_BYTES`]: the file must be the repository's
    /// own, and small.
    pub fn read(src: &Path) -> Result<Self, String> {
        let bytes = match crate::sandbox::beneath::read_limited(src, Path::new(FILE), MAX_BYTES) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => {
                return Err(format!(
                    "the repository has no {FILE} at its root: add one with `start` (and \
                     optionally `build`, `static`, `health_path`)"
                ));
            }
            Err(error) if error.kind() == std::io::ErrorKind::FileTooLarge => {
                return Err(format!("{FILE} is larger than {} KiB", MAX_BYTES / 1024));
            }
            Err(error) if crate::sandbox::beneath::is_refused(&error) => {
                return Err(format!("{FILE} must be a regular file, not a link"));
            }
            Err(error) => return Err(format!("{FILE}: {error}")),
        };
        let text = String::from_utf8(bytes).map_err(|_| format!("{FILE} is not UTF-8"))?;
        Self::parse(&text)
    }
}

/// A request target's path (and query) the probe can send as is: it goes into a request
/// line, so a CR, an LF or a space would let a repository write headers of its own.
fn is_request_path(path: &str) -> bool {
    path.starts_with('/')
        && path.len() <= 1024
        && path.bytes().all(|b| b.is_ascii_graphic() && b != b'#')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_spec_parses() {
        let spec = Spec::parse(
            "build = \"make\"\nstart = \"./serve\"\nstatic = \"public\"\nhealth_path = \"/up\"\n",
        )
        .expect("valid");
        assert_eq!(spec.build.as_deref(), Some("make"));
        assert_eq!(spec.static_dir.as_deref(), Some("public"));
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        assert!(
            Spec::parse("strat = \"x\"")
                .expect_err("refused")
                .contains("unknown field")
        );
        assert!(
            Spec::parse("health_path = \"up\"")
                .expect_err("refused")
                .contains("health_path")
        );
        for smuggled in ["/up\\r\\nX-Evil: 1", "/up now", "/up\\n", "/up#frag"] {
            let text = format!("health_path = \"{smuggled}\"");
            assert!(
                Spec::parse(&text)
                    .expect_err("refused")
                    .contains("health_path"),
                "{smuggled}"
            );
        }
        assert!(Spec::parse("health_path = \"/up?ready=1\"").is_ok());
        assert!(
            Spec::parse("start = \" \"")
                .expect_err("refused")
                .contains("start")
        );
    }
}
