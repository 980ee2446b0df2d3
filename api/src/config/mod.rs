//! One typed configuration: defaults, then `.env`, then the environment, then flags.
//! Secrets (database passwords) are redacted whenever the configuration is printed.

mod deploy;
mod limits;
mod redact;
mod validate;

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{Args, ValueEnum};
use migration::Domain;

pub use self::deploy::{DeployConfig, Runtime as DeployRuntime, Sandbox as DeploySandbox};
pub use self::limits::{ConnectionLimits, QueryLimits};
pub use self::redact::redact_url;
pub use self::validate::ConfigError;

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    Human,
    /// One JSON object per event.
    Json,
}

pub use migration::AppEnv;

/// Everything the gateway reads at start. Each field is a flag and an environment variable.
#[derive(Clone, Args)]
pub struct Config {
    /// Address and port to listen on.
    #[arg(
        long = "bind",
        env = "BIND_ADDR",
        value_name = "BIND_ADDR",
        default_value = "127.0.0.1:8000"
    )]
    pub bind_addr: SocketAddr,

    /// Folder for the embedded SQLite databases and generated secrets.
    #[arg(
        long,
        env = "DATA_DIR",
        value_name = "DATA_DIR",
        default_value = "./data"
    )]
    pub data_dir: PathBuf,

    /// Users database URL (default: a SQLite file in DATA_DIR).
    #[arg(
        long,
        env = "USERS_DATABASE_URL",
        value_name = "USERS_DATABASE_URL",
        hide_env_values = true
    )]
    pub users_database_url: Option<String>,

    /// Academic database URL (default: a SQLite file in DATA_DIR).
    #[arg(
        long,
        env = "ACADEMIC_DATABASE_URL",
        value_name = "ACADEMIC_DATABASE_URL",
        hide_env_values = true
    )]
    pub academic_database_url: Option<String>,

    /// Projects database URL (default: a SQLite file in DATA_DIR).
    #[arg(
        long,
        env = "PROJECTS_DATABASE_URL",
        value_name = "PROJECTS_DATABASE_URL",
        hide_env_values = true
    )]
    pub projects_database_url: Option<String>,

    /// Connections per database pool.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", value_name = "DATABASE_MAX_CONNECTIONS", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub database_max_connections: u32,

    /// Seconds a statement waits for a database connection (a new one included) before
    /// it answers UNAVAILABLE: the bound on a request while a database is unreachable.
    #[arg(long, env = "DATABASE_ACQUIRE_TIMEOUT_SECS", value_name = "DATABASE_ACQUIRE_TIMEOUT_SECS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub database_acquire_timeout_secs: u64,

    /// Apply pending migrations at start (the migration binary does it otherwise).
    #[arg(long, env = "MIGRATE_ON_START", value_name = "MIGRATE_ON_START", default_value_t = true, action = clap::ArgAction::Set)]
    pub migrate_on_start: bool,

    /// `development` or `production`.
    #[arg(
        long,
        env = "APP_ENV",
        value_name = "APP_ENV",
        value_parser = |value: &str| value.parse::<AppEnv>(),
        default_value = "development"
    )]
    pub app_env: AppEnv,

    /// Answer introspection and suggest names in errors ("did you mean"); default: on
    /// in development, off in production.
    #[arg(long, env = "ALLOW_INTROSPECTION", value_name = "ALLOW_INTROSPECTION", action = clap::ArgAction::Set)]
    pub allow_introspection: Option<bool>,

    /// Serve GraphiQL at `/`; default: on in development, off in production.
    #[arg(long, env = "GRAPHIQL", value_name = "GRAPHIQL", action = clap::ArgAction::Set)]
    pub graphiql: Option<bool>,

    /// Serve `/metrics` on this address only (not on BIND_ADDR). In production
    /// `/metrics` is served nowhere else.
    #[arg(long, env = "METRICS_BIND_ADDR", value_name = "METRICS_BIND_ADDR")]
    pub metrics_bind_addr: Option<SocketAddr>,

    /// `human` or `json`.
    #[arg(
        long,
        env = "LOG_FORMAT",
        value_name = "LOG_FORMAT",
        value_enum,
        default_value = "human"
    )]
    pub log_format: LogFormat,

    /// Origins allowed to call the API from a browser, comma-separated; `*` for any.
    #[arg(
        long,
        env = "CORS_ALLOWED_ORIGINS",
        value_name = "CORS_ALLOWED_ORIGINS",
        value_delimiter = ',',
        default_value = "http://localhost:3000,http://127.0.0.1:3000"
    )]
    pub cors_allowed_origins: Vec<String>,

    /// Let browsers send cookies and credentials cross-origin (refused with `*` origins).
    #[arg(long, env = "CORS_ALLOW_CREDENTIALS", value_name = "CORS_ALLOW_CREDENTIALS", default_value_t = false, action = clap::ArgAction::Set)]
    pub cors_allow_credentials: bool,

    #[command(flatten)]
    pub query: QueryLimits,

    #[command(flatten)]
    pub connections: ConnectionLimits,

    /// Largest request body accepted on /graphql, in bytes (413 above).
    #[arg(long, env = "MAX_BODY_BYTES", value_name = "MAX_BODY_BYTES", default_value_t = 1_048_576, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_body_bytes: u64,

    /// Most operations in one batched request.
    #[arg(long, env = "MAX_BATCH_LENGTH", value_name = "MAX_BATCH_LENGTH", default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..))]
    pub max_batch_length: u16,

    /// Google OAuth client ids whose ID tokens are accepted, comma-separated.
    #[arg(
        long,
        env = "GOOGLE_CLIENT_IDS",
        value_name = "GOOGLE_CLIENT_IDS",
        value_delimiter = ','
    )]
    pub google_client_ids: Vec<String>,

    /// Where Google's signing keys (a JSON Web Key Set) are published.
    #[arg(
        long,
        env = "GOOGLE_JWKS_URL",
        value_name = "GOOGLE_JWKS_URL",
        default_value = "https://www.googleapis.com/oauth2/v3/certs"
    )]
    pub google_jwks_url: String,

    /// Secret that signs our tokens (at least 32 bytes); generated into DATA_DIR when unset.
    #[arg(
        long,
        env = "JWT_SECRET",
        value_name = "JWT_SECRET",
        hide_env_values = true
    )]
    pub jwt_secret: Option<String>,

    /// Lifetime of an access token, in seconds.
    #[arg(long, env = "ACCESS_TOKEN_TTL_SECS", value_name = "ACCESS_TOKEN_TTL_SECS", default_value_t = 900, value_parser = clap::value_parser!(u64).range(10..))]
    pub access_token_ttl_secs: u64,

    /// How long a replica may keep a signed-in user's row and roles between their
    /// requests, in seconds; 0 reads them on every request. Changes forget a user at
    /// once (on PostgreSQL, on every replica, by NOTIFY); this bounds the rest.
    #[arg(long, env = "VIEWER_CACHE_SECS", value_name = "VIEWER_CACHE_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub viewer_cache_secs: u64,

    /// Lifetime of a refresh token, in seconds.
    #[arg(long, env = "REFRESH_TOKEN_TTL_SECS", value_name = "REFRESH_TOKEN_TTL_SECS", default_value_t = 2_592_000, value_parser = clap::value_parser!(u64).range(60..))]
    pub refresh_token_ttl_secs: u64,

    /// Admin connection to the PostgreSQL server where students get databases.
    #[arg(
        long,
        env = "STUDENT_POSTGRES_ADMIN_URL",
        value_name = "STUDENT_POSTGRES_ADMIN_URL",
        hide_env_values = true
    )]
    pub student_postgres_admin_url: Option<String>,

    /// Admin connection to the MariaDB server where students get databases.
    #[arg(
        long,
        env = "STUDENT_MARIADB_ADMIN_URL",
        value_name = "STUDENT_MARIADB_ADMIN_URL",
        hide_env_values = true
    )]
    pub student_mariadb_admin_url: Option<String>,

    /// Largest uploaded file, in bytes (413 above).
    #[arg(long, env = "FILES_MAX_BYTES", value_name = "FILES_MAX_BYTES", default_value_t = 10_485_760, value_parser = clap::value_parser!(u64).range(1..))]
    pub files_max_bytes: u64,

    /// Content types an upload may have, comma-separated.
    #[arg(
        long,
        env = "FILES_ALLOWED_TYPES",
        value_name = "FILES_ALLOWED_TYPES",
        value_delimiter = ',',
        default_value = "image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain,application/zip"
    )]
    pub files_allowed_types: Vec<String>,

    /// Key (64 hex characters) that encrypts environment variables at rest; generated
    /// into DATA_DIR when unset.
    #[arg(
        long,
        env = "SECRETS_KEY",
        value_name = "SECRETS_KEY",
        hide_env_values = true
    )]
    pub secrets_key: Option<String>,

    /// Accept local paths as repository URLs (for tests and demos).
    #[arg(long, env = "ALLOW_LOCAL_REPOSITORIES", value_name = "ALLOW_LOCAL_REPOSITORIES", default_value_t = false, action = clap::ArgAction::Set)]
    pub allow_local_repositories: bool,

    /// Projects a student may own (past it, createProject answers LIMIT_REACHED); staff
    /// are exempt; 0 for no cap.
    #[arg(long, env = "MAX_PROJECTS_PER_STUDENT", value_name = "MAX_PROJECTS_PER_STUDENT", default_value_t = 20, value_parser = clap::value_parser!(u32).range(0..=100000))]
    pub max_projects_per_student: u32,

    /// Most GraphQL operations over HTTP executing at once; later ones wait their turn
    /// (within the request timeout). Bounds the memory that responses under construction
    /// take: past the point where the CPU is busy, more at once only adds memory.
    #[arg(long, env = "MAX_CONCURRENT_REQUESTS", value_name = "MAX_CONCURRENT_REQUESTS", default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..))]
    pub max_concurrent_requests: u16,

    /// Most of those one caller (a user, or a client address when anonymous) executes at
    /// once; its next ones wait (four times as many at most; more are answered 429), so
    /// one client cannot take every turn.
    #[arg(long, env = "MAX_CONCURRENT_REQUESTS_PER_CALLER", value_name = "MAX_CONCURRENT_REQUESTS_PER_CALLER", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    pub max_concurrent_requests_per_caller: u16,

    /// Seconds a request may take before it is answered 503.
    #[arg(long, env = "REQUEST_TIMEOUT_SECS", value_name = "REQUEST_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub request_timeout_secs: u64,

    #[command(flatten)]
    pub deploy: DeployConfig,
}

/// Parses a configuration from flags alone (plus the environment), as tests do.
#[derive(clap::Parser)]
struct ConfigOnly {
    #[command(flatten)]
    config: Config,
}

impl Config {
    /// The configuration from these command-line words (the first is the program name),
    /// falling back to the environment and the defaults.
    pub fn from_args<I, T>(args: I) -> Result<Config, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        use clap::Parser;
        ConfigOnly::try_parse_from(args).map(|parsed| parsed.config)
    }

    /// Whether any origin may call the API.
    fn production(&self) -> bool {
        self.app_env == AppEnv::Production
    }

    /// Whether introspection and name suggestions are on.
    pub fn introspection(&self) -> bool {
        self.allow_introspection.unwrap_or(!self.production())
    }

    /// Whether GraphiQL is served.
    pub fn graphiql_on(&self) -> bool {
        self.graphiql.unwrap_or(!self.production())
    }

    /// Whether `/metrics` is on the main address (else on METRICS_BIND_ADDR, or nowhere).
    pub fn metrics_on_main(&self) -> bool {
        self.metrics_bind_addr.is_none() && !self.production()
    }

    pub fn any_origin(&self) -> bool {
        self.cors_allowed_origins.iter().any(|o| o == "*")
    }

    /// The configured URL of a domain's database, or its SQLite default.
    pub fn database_url(&self, domain: Domain) -> String {
        let configured = match domain {
            Domain::Users => &self.users_database_url,
            Domain::Academic => &self.academic_database_url,
            Domain::Projects => &self.projects_database_url,
        };
        configured
            .clone()
            .unwrap_or_else(|| domain.default_url(&self.data_dir))
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }
}
