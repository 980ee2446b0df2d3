//! One migrator per domain database, and the operations the migration binary and the
//! gateway share: create a missing database, migrate under a lock, report status.

mod common;

pub mod academic;
pub mod projects;
pub mod users;

use std::path::Path;

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, Statement,
};
use sea_orm_migration::{MigrationStatus, MigratorTrait};

/// The three domain databases.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Domain {
    Users,
    Academic,
    Projects,
}

impl Domain {
    pub const ALL: [Domain; 3] = [Domain::Users, Domain::Academic, Domain::Projects];

    pub fn name(self) -> &'static str {
        match self {
            Domain::Users => "users",
            Domain::Academic => "academic",
            Domain::Projects => "projects",
        }
    }

    /// The environment variable that holds this domain's database URL.
    pub fn url_variable(self) -> &'static str {
        match self {
            Domain::Users => "USERS_DATABASE_URL",
            Domain::Academic => "ACADEMIC_DATABASE_URL",
            Domain::Projects => "PROJECTS_DATABASE_URL",
        }
    }

    /// The embedded default: a SQLite file in the data directory, created on first use.
    pub fn default_url(self, data_dir: &Path) -> String {
        format!(
            "sqlite://{}/students_project_{}.sqlite?mode=rwc",
            data_dir.display(),
            self.name()
        )
    }

    /// Session-level advisory lock key, one per domain, so two migration runs on one
    /// PostgreSQL server never interleave.
    fn lock_key(self) -> i64 {
        0x5350_4D00
            + match self {
                Domain::Users => 1,
                Domain::Academic => 2,
                Domain::Projects => 3,
            }
    }
}

/// Where a process runs (`APP_ENV`), parsed the same way by the gateway and the
/// migration binary: `development` or `production`, in any case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppEnv {
    Development,
    Production,
}

impl std::str::FromStr for AppEnv {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.trim().to_ascii_lowercase().as_str() {
            "development" => Ok(AppEnv::Development),
            "production" => Ok(AppEnv::Production),
            other => Err(format!(
                "APP_ENV: {other:?} is neither `development` nor `production`"
            )),
        }
    }
}

impl AppEnv {
    /// `APP_ENV` from the environment; development when unset.
    pub fn from_env() -> Result<Self, String> {
        match std::env::var("APP_ENV") {
            Ok(value) => value.parse(),
            Err(_) => Ok(AppEnv::Development),
        }
    }
}

/// What the migration binary can be asked to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Verb {
    /// Apply every pending migration.
    Up,
    /// Roll back the last applied migration.
    Down,
    /// List each migration with its status.
    Status,
    /// Drop every table, then apply every migration.
    Fresh,
    /// Roll back every migration, then apply them all again.
    Refresh,
    /// Roll back every migration.
    Reset,
}

impl Verb {
    /// Verbs that lose data; refused in production unless forced.
    pub fn is_destructive(self) -> bool {
        match self {
            Verb::Up | Verb::Status => false,
            Verb::Down | Verb::Fresh | Verb::Refresh | Verb::Reset => true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{variable}: {reason}")]
    BadUrl {
        variable: &'static str,
        reason: String,
    },
    #[error("{domain} database: {source}")]
    Database {
        domain: &'static str,
        #[source]
        source: DbErr,
    },
    #[error("{domain} database directory {path}: {source}")]
    Directory {
        domain: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// One migration and whether it is applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationState {
    pub name: String,
    pub applied: bool,
}

/// Makes sure the database named by `url` exists: on PostgreSQL it is created when
/// missing (racing creators are fine); for SQLite the file's folder is created.
pub async fn ensure_database(domain: Domain, url: &str) -> Result<(), Error> {
    let db_error = |source| Error::Database {
        domain: domain.name(),
        source,
    };
    if let Some(path) = sqlite_path(url) {
        if let Some(parent) = Path::new(path)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).map_err(|source| Error::Directory {
                domain: domain.name(),
                path: parent.display().to_string(),
                source,
            })?;
        }
        return Ok(());
    }
    let (server_url, name) = split_postgres_url(domain, url)?;
    let server = Database::connect(single_connection(&server_url))
        .await
        .map_err(db_error)?;
    let exists = server
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT 1 FROM pg_database WHERE datname = $1",
            [name.clone().into()],
        ))
        .await
        .map_err(db_error)?
        .is_some();
    if !exists {
        let create = format!("CREATE DATABASE {}", quote_identifier(&name));
        match server.execute_unprepared(&create).await {
            Ok(_) => tracing::info!(domain = domain.name(), database = %name, "created database"),
            // Another process created it between our check and our CREATE.
            Err(error)
                if error.to_string().contains("already exists")
                    || error.to_string().contains("pg_database_datname_index") => {}
            Err(error) => return Err(db_error(error)),
        }
    }
    server.close().await.map_err(db_error)
}

/// Runs `verb` on one domain's database, creating the database first when it is missing.
/// On PostgreSQL the run holds the domain's advisory lock, so concurrent runs serialise.
pub async fn run(domain: Domain, url: &str, verb: Verb) -> Result<Vec<MigrationState>, Error> {
    let db_error = |source| Error::Database {
        domain: domain.name(),
        source,
    };
    ensure_database(domain, url).await?;
    let db = Database::connect(single_connection(url))
        .await
        .map_err(db_error)?;
    let postgres = db.get_database_backend() == DbBackend::Postgres;
    if postgres {
        db.execute_raw(lock_statement("pg_advisory_lock", domain))
            .await
            .map_err(db_error)?;
    }
    let result = apply(domain, &db, verb).await;
    if postgres {
        // Closing the connection releases the lock too; unlocking first is just tidy.
        let _ = db
            .execute_raw(lock_statement("pg_advisory_unlock", domain))
            .await;
    }
    let states = result.map_err(db_error)?;
    db.close().await.map_err(db_error)?;
    Ok(states)
}

async fn apply(
    domain: Domain,
    db: &DatabaseConnection,
    verb: Verb,
) -> Result<Vec<MigrationState>, DbErr> {
    match domain {
        Domain::Users => apply_with::<users::Migrator>(db, verb).await,
        Domain::Academic => apply_with::<academic::Migrator>(db, verb).await,
        Domain::Projects => apply_with::<projects::Migrator>(db, verb).await,
    }
}

async fn apply_with<M: MigratorTrait>(
    db: &DatabaseConnection,
    verb: Verb,
) -> Result<Vec<MigrationState>, DbErr> {
    match verb {
        Verb::Up => M::up(db, None).await?,
        Verb::Down => M::down(db, Some(1)).await?,
        Verb::Status => {}
        Verb::Fresh => M::fresh(db).await?,
        Verb::Refresh => M::refresh(db).await?,
        Verb::Reset => M::reset(db).await?,
    }
    states::<M>(db).await
}

async fn states<M: MigratorTrait>(db: &DatabaseConnection) -> Result<Vec<MigrationState>, DbErr> {
    Ok(M::get_migration_with_status_read_only(db)
        .await?
        .iter()
        .map(|m| MigrationState {
            name: m.name().to_owned(),
            applied: m.status() == MigrationStatus::Applied,
        })
        .collect())
}

/// The names of the migrations not yet applied to `db`, without writing anything.
pub async fn pending(domain: Domain, db: &DatabaseConnection) -> Result<Vec<String>, DbErr> {
    let all = match domain {
        Domain::Users => states::<users::Migrator>(db).await?,
        Domain::Academic => states::<academic::Migrator>(db).await?,
        Domain::Projects => states::<projects::Migrator>(db).await?,
    };
    Ok(all
        .into_iter()
        .filter(|m| !m.applied)
        .map(|m| m.name)
        .collect())
}

fn single_connection(url: &str) -> ConnectOptions {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(1)
        .min_connections(1)
        .sqlx_logging(false);
    options
}

fn lock_statement(function: &str, domain: Domain) -> Statement {
    Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!("SELECT {function}($1)"),
        [domain.lock_key().into()],
    )
}

/// The file path of a SQLite URL, or `None` for any other database.
pub fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    Some(rest.split('?').next().unwrap_or(rest))
}

/// Splits `postgres://…/name` into the server's maintenance URL and the database name.
fn split_postgres_url(domain: Domain, url: &str) -> Result<(String, String), Error> {
    let bad = |reason: &str| Error::BadUrl {
        variable: domain.url_variable(),
        reason: reason.to_owned(),
    };
    let mut parsed = url::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
    if !matches!(parsed.scheme(), "postgres" | "postgresql") {
        return Err(bad(
            "expected a postgres://, postgresql:// or sqlite:// URL",
        ));
    }
    let name = parsed.path().trim_start_matches('/').to_owned();
    if name.is_empty() {
        return Err(bad("the URL names no database"));
    }
    parsed.set_path("/postgres");
    Ok((parsed.to_string(), name))
}

/// Quotes an SQL identifier (PostgreSQL and SQLite syntax).
pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
