//! What the types alone cannot check: CORS origins, database URLs, secrets, the
//! student database servers. A configuration that parses but cannot be used fails at
//! start with a message naming the variable.

use super::*;

/// A configuration that parsed but cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "CORS_ALLOW_CREDENTIALS=true cannot be combined with CORS_ALLOWED_ORIGINS=*: name the origins"
    )]
    CredentialsWithAnyOrigin,
    #[error("CORS_ALLOWED_ORIGINS: {0:?} is not an origin such as https://app.example.edu")]
    BadOrigin(String),
    #[error("{variable}: {reason}")]
    BadDatabaseUrl {
        variable: &'static str,
        reason: String,
    },
    #[error("JWT_SECRET: must be at least 32 bytes")]
    ShortJwtSecret,
    #[error("APPS_DOMAIN: {0:?} is not a domain name such as apps.example.edu")]
    BadAppsDomain(String),
    #[error(
        "APPS_PUBLIC_URL: {0:?} must be an http(s) URL with {{slug}} in its host, such as https://{{slug}}.apps.example.edu"
    )]
    BadAppsPublicUrl(String),
    #[error("{variable}: {reason}")]
    BadStudentServer {
        variable: &'static str,
        reason: String,
    },
}

impl Config {
    /// `APPS_DOMAIN` is a domain name; `APPS_PUBLIC_URL` puts the slug in the host.
    fn validate_apps(&self) -> Result<(), ConfigError> {
        let domain = &self.deploy.apps_domain;
        let labels_ok = domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
        if !labels_ok || domain.len() > 200 {
            return Err(ConfigError::BadAppsDomain(domain.clone()));
        }
        if let Some(template) = &self.deploy.apps_public_url {
            let parsed = url::Url::parse(&template.replace("{slug}", "slug-check"));
            let fine = parsed.is_ok_and(|url| {
                matches!(url.scheme(), "http" | "https")
                    && url.host_str().is_some_and(|h| h.contains("slug-check"))
                    && url.username().is_empty()
            });
            if !fine {
                return Err(ConfigError::BadAppsPublicUrl(template.clone()));
            }
        }
        Ok(())
    }

    /// Checks what the types alone cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.any_origin() && self.cors_allow_credentials {
            return Err(ConfigError::CredentialsWithAnyOrigin);
        }
        if !self.any_origin() {
            for origin in &self.cors_allowed_origins {
                let parsed =
                    url::Url::parse(origin).map_err(|_| ConfigError::BadOrigin(origin.clone()))?;
                if !matches!(parsed.scheme(), "http" | "https")
                    || parsed.host().is_none()
                    || parsed.path() != "/"
                {
                    return Err(ConfigError::BadOrigin(origin.clone()));
                }
            }
        }
        self.validate_apps()?;
        if self.jwt_secret.as_ref().is_some_and(|s| s.len() < 32) {
            return Err(ConfigError::ShortJwtSecret);
        }
        for (variable, url, schemes) in [
            (
                "STUDENT_POSTGRES_ADMIN_URL",
                &self.student_postgres_admin_url,
                ["postgres", "postgresql"],
            ),
            (
                "STUDENT_MARIADB_ADMIN_URL",
                &self.student_mariadb_admin_url,
                ["mysql", "mariadb"],
            ),
        ] {
            if let Some(url) = url {
                let parsed = url::Url::parse(url).map_err(|e| ConfigError::BadStudentServer {
                    variable,
                    reason: e.to_string(),
                })?;
                if !schemes.contains(&parsed.scheme()) {
                    return Err(ConfigError::BadStudentServer {
                        variable,
                        reason: format!("expected a {}:// URL", schemes[0]),
                    });
                }
            }
        }
        for domain in Domain::ALL {
            let url = self.database_url(domain);
            let scheme = url.split(':').next().unwrap_or_default();
            if !matches!(scheme, "sqlite" | "postgres" | "postgresql") {
                return Err(ConfigError::BadDatabaseUrl {
                    variable: domain.url_variable(),
                    reason: "expected a sqlite:, postgres: or postgresql: URL".into(),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_with_any_origin_are_refused() {
        let config = Config::from_args([
            "api",
            "--cors-allowed-origins",
            "*",
            "--cors-allow-credentials",
            "true",
        ])
        .expect("flags parse");
        assert!(matches!(
            config.validate(),
            Err(ConfigError::CredentialsWithAnyOrigin)
        ));
    }

    #[test]
    fn an_origin_with_a_path_is_refused() {
        let config = Config::from_args(["api", "--cors-allowed-origins", "https://a.example/x"])
            .expect("flags parse");
        assert!(matches!(config.validate(), Err(ConfigError::BadOrigin(_))));
    }
}
