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
            && !path.starts_with('/')
        {
            return Err(format!("{FILE}: health_path must start with /"));
        }
        for (name, value) in [("build", &spec.build), ("start", &spec.start)] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                return Err(format!("{FILE}: {name} is empty"));
            }
        }
        Ok(spec)
    }

    /// The spec of a checked-out repository; a missing file is an error for the
    /// process runtime, which has nothing else to go on.
    pub fn read(src: &Path) -> Result<Self, String> {
        let path = src.join(FILE);
        // Not following a symlink: the file must be the repository's own.
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_file() => {}
            Ok(_) => return Err(format!("{FILE} must be a regular file")),
            Err(_) => {
                return Err(format!(
                    "the repository has no {FILE} at its root: add one with `start` (and \
                     optionally `build`, `static`, `health_path`)"
                ));
            }
        }
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{FILE}: {e}"))?;
        Self::parse(&text)
    }
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
        assert!(
            Spec::parse("start = \" \"")
                .expect_err("refused")
                .contains("start")
        );
    }
}
