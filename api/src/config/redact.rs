//! Printing the configuration never prints a secret: passwords in URLs and keys are
//! replaced by `***`.

use super::*;

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("bind_addr", &self.bind_addr)
            .field("data_dir", &self.data_dir)
            .field(
                "users_database_url",
                &redact_url(&self.database_url(Domain::Users)),
            )
            .field(
                "academic_database_url",
                &redact_url(&self.database_url(Domain::Academic)),
            )
            .field(
                "projects_database_url",
                &redact_url(&self.database_url(Domain::Projects)),
            )
            .field("database_max_connections", &self.database_max_connections)
            .field("migrate_on_start", &self.migrate_on_start)
            .field("app_env", &self.app_env)
            .field("allow_introspection", &self.allow_introspection)
            .field("graphiql", &self.graphiql)
            .field("metrics_bind_addr", &self.metrics_bind_addr)
            .field("log_format", &self.log_format)
            .field("cors_allowed_origins", &self.cors_allowed_origins)
            .field("cors_allow_credentials", &self.cors_allow_credentials)
            .field("query", &self.query)
            .field("connections", &self.connections)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_batch_length", &self.max_batch_length)
            .field("max_concurrent_requests", &self.max_concurrent_requests)
            .field(
                "max_concurrent_requests_per_caller",
                &self.max_concurrent_requests_per_caller,
            )
            .field("request_timeout_secs", &self.request_timeout_secs)
            .field("files_max_bytes", &self.files_max_bytes)
            .field("files_allowed_types", &self.files_allowed_types)
            .field("secrets_key", &self.secrets_key.as_ref().map(|_| "***"))
            .field("allow_local_repositories", &self.allow_local_repositories)
            .field("deploy", &self.deploy)
            .field("google_client_ids", &self.google_client_ids)
            .field("google_jwks_url", &self.google_jwks_url)
            .field("jwt_secret", &self.jwt_secret.as_ref().map(|_| "***"))
            .field("access_token_ttl_secs", &self.access_token_ttl_secs)
            .field("refresh_token_ttl_secs", &self.refresh_token_ttl_secs)
            .field(
                "student_postgres_admin_url",
                &self.student_postgres_admin_url.as_deref().map(redact_url),
            )
            .field(
                "student_mariadb_admin_url",
                &self.student_mariadb_admin_url.as_deref().map(redact_url),
            )
            .finish()
    }
}

/// A URL with its password replaced by `***`.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_url_hides_the_password_and_keeps_the_rest() {
        let redacted = redact_url("postgres://app:s3cret@db.example:5432/users");
        assert_eq!(redacted, "postgres://app:***@db.example:5432/users");
    }
}
