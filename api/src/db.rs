//! The three domain databases as distinct handle types, each counting the SQL statements
//! it runs (the counter tests and benchmarks read), and recording errors in its error log.

use std::{
    marker::PhantomData,
    ops::Deref,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use chrono::Utc;
use migration::{Domain, Verb};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectOptions, Database, DatabaseConnection,
    DatabaseTransaction, DbBackend, DbErr, Set, SqliteTransactionMode, TransactionOptions,
    TransactionTrait, sea_query::Expr,
};

use crate::{config::Config, throttle::ErrorThrottle};

/// Marks which domain a handle belongs to, so the three handles are distinct types.
pub trait DomainDb: Send + Sync + 'static {
    const DOMAIN: Domain;

    /// Writes one row to this domain's `error_logs` table.
    fn record_error(
        conn: &DatabaseConnection,
        message: String,
        detail: String,
    ) -> impl Future<Output = Result<(), DbErr>> + Send;
}

/// The users database.
pub struct UsersDomain;
/// The academic database.
pub struct AcademicDomain;
/// The projects database.
pub struct ProjectsDomain;

macro_rules! error_log_writer {
    ($marker:ty, $domain:expr, $entity:path) => {
        impl DomainDb for $marker {
            const DOMAIN: Domain = $domain;

            async fn record_error(
                conn: &DatabaseConnection,
                message: String,
                detail: String,
            ) -> Result<(), DbErr> {
                use $entity as error_log;
                error_log::ActiveModel {
                    message: Set(message),
                    detail: Set(detail),
                    created_at: Set(Utc::now()),
                    ..Default::default()
                }
                .insert(conn)
                .await
                .map(|_| ())
            }
        }
    };
}

error_log_writer!(UsersDomain, Domain::Users, entities::users::error_log);
error_log_writer!(
    AcademicDomain,
    Domain::Academic,
    entities::academic::error_log
);
error_log_writer!(
    ProjectsDomain,
    Domain::Projects,
    entities::projects::error_log
);

/// A connection pool to one domain's database, cheap to clone.
pub struct Db<D> {
    conn: DatabaseConnection,
    /// The same pool without the statement counter: background work (the deploy
    /// engine) runs no request's statements, and must not disturb their counts.
    background: DatabaseConnection,
    statements: Arc<AtomicU64>,
    /// The PostgreSQL database's name, under which the patched sqlx counts round trips.
    postgres_name: Option<Arc<str>>,
    domain: PhantomData<D>,
}

pub type UsersDb = Db<UsersDomain>;
pub type AcademicDb = Db<AcademicDomain>;
pub type ProjectsDb = Db<ProjectsDomain>;

impl<D> Clone for Db<D> {
    fn clone(&self) -> Self {
        Self {
            conn: self.conn.clone(),
            background: self.background.clone(),
            statements: self.statements.clone(),
            postgres_name: self.postgres_name.clone(),
            domain: PhantomData,
        }
    }
}

impl<D> Deref for Db<D> {
    type Target = DatabaseConnection;

    fn deref(&self) -> &DatabaseConnection {
        &self.conn
    }
}

impl<D: DomainDb> Db<D> {
    /// Creates the database when missing, migrates it when asked, and opens a pool.
    pub async fn connect(config: &Config) -> Result<Self, migration::Error> {
        let domain = D::DOMAIN;
        let url = config.database_url(domain);
        let db_error = |source| migration::Error::Database {
            domain: domain.name(),
            source,
        };
        migration::ensure_database(domain, &url).await?;
        if config.migrate_on_start {
            migration::run(domain, &url, Verb::Up).await?;
        }
        let postgres_name = postgres_name(&url);
        let mut options = ConnectOptions::new(url);
        options
            .max_connections(config.database_max_connections)
            .min_connections(1)
            .acquire_timeout(std::time::Duration::from_secs(
                config.database_acquire_timeout_secs,
            ))
            .connect_timeout(std::time::Duration::from_secs(
                config.database_acquire_timeout_secs,
            ))
            // A ping before every statement doubles its round trips; only connections
            // idle for a while are checked.
            .test_before_acquire_if_idle_for(std::time::Duration::from_secs(30))
            .sqlx_logging(false);
        // SQLite: readers never block the writer (WAL), and commits wait for the WAL
        // write, not for every fsync (NORMAL is corruption-safe in WAL mode).
        options.map_sqlx_sqlite_opts(|sqlite| {
            sqlite
                .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(std::time::Duration::from_secs(10))
        });
        let mut conn = Database::connect(options).await.map_err(db_error)?;
        // Cloned before the counter is attached: the callback lives in each handle.
        let background = conn.clone();
        let statements = Arc::new(AtomicU64::new(0));
        let counter = statements.clone();
        conn.set_metric_callback(move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        Ok(Self {
            conn,
            background,
            statements,
            postgres_name,
            domain: PhantomData,
        })
    }

    /// Starts a transaction that will write. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so concurrent writers queue on the busy timeout instead of
    /// failing when a read lock cannot be upgraded.
    pub async fn begin_write(&self) -> Result<DatabaseTransaction, DbErr> {
        self.conn
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
    }

    /// `column` is one of `ids`, for a batch. On PostgreSQL `column = ANY($1)` with one
    /// array parameter: the same statement text whatever the batch's size, so each
    /// connection prepares it once (an `IN ($1, …, $n)` list is a new statement, parsed
    /// and planned again, for every new n). SQLite has no arrays: `IN (…)`.
    pub fn any_of<C: ColumnTrait>(&self, column: C, ids: impl IntoIterator<Item = i32>) -> Expr {
        let ids: Vec<i32> = ids.into_iter().collect();
        match (self.conn.get_database_backend(), ids.as_slice()) {
            // One key (a page of one, a single project): `= $1`, whose generic plan
            // PostgreSQL adopts after five runs, so it is no longer planned per execution.
            (_, [id]) => column.eq(*id),
            (DbBackend::Postgres, _) => column.eq_any(ids),
            _ => column.is_in(ids),
        }
    }

    /// A handle on the same pool whose statements are not counted (background work).
    pub fn uncounted(&self) -> DatabaseConnection {
        self.background.clone()
    }

    /// How many SQL statements this pool has run since it opened.
    pub fn statements(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// Round trips to this database since the process started, background work
    /// included (see vendor/README.md); none on SQLite, which runs in process.
    pub fn round_trips(&self) -> Option<u64> {
        let name = self.postgres_name.as_deref()?;
        let counted = sea_orm::sqlx::postgres::round_trips::snapshot();
        Some(
            counted
                .iter()
                .find(|(n, _)| n == name)
                .map_or(0, |(_, n)| *n),
        )
    }

    pub fn domain(&self) -> Domain {
        D::DOMAIN
    }

    /// Records an unexpected error in this domain's error log.
    pub async fn record_error(&self, message: String, detail: String) -> Result<(), DbErr> {
        D::record_error(&self.conn, message, detail).await
    }

    /// Pings the database and names the migrations it still lacks.
    pub async fn check(&self) -> Result<(), String> {
        self.conn.ping().await.map_err(|e| e.to_string())?;
        let pending = migration::pending(D::DOMAIN, &self.conn)
            .await
            .map_err(|e| e.to_string())?;
        if pending.is_empty() {
            Ok(())
        } else {
            Err(format!("pending migrations: {}", pending.join(", ")))
        }
    }
}

/// The three databases.
#[derive(Clone)]
pub struct Databases {
    pub users: UsersDb,
    pub academic: AcademicDb,
    pub projects: ProjectsDb,
    /// Which internal errors get written to `error_logs`.
    pub errors: Arc<ErrorThrottle>,
}

impl Databases {
    pub async fn connect(config: &Config) -> Result<Self, migration::Error> {
        Ok(Self {
            users: Db::connect(config).await?,
            academic: Db::connect(config).await?,
            projects: Db::connect(config).await?,
            errors: Arc::default(),
        })
    }

    /// Round trips per database (PostgreSQL only), in the same order.
    pub fn round_trips(&self) -> Option<StatementCounts> {
        Some(StatementCounts {
            users: self.users.round_trips()?,
            academic: self.academic.round_trips()?,
            projects: self.projects.round_trips()?,
        })
    }

    /// Statement counts per database, in the order users, academic, projects.
    pub fn statements(&self) -> StatementCounts {
        StatementCounts {
            users: self.users.statements(),
            academic: self.academic.statements(),
            projects: self.projects.statements(),
        }
    }

    /// Records an unexpected error in the error log of `domain`'s database, once per
    /// distinct cause per minute ([`ErrorThrottle`]); repeats are counted, and the next
    /// row of that cause says how many there were.
    pub async fn record_error(
        &self,
        domain: Domain,
        message: String,
        detail: String,
    ) -> Result<(), DbErr> {
        let cause = format!("{}: {detail}", domain.name());
        let Some(repeats) = self.errors.admit(&cause, std::time::Instant::now()) else {
            return Ok(());
        };
        let message = if repeats > 0 {
            format!("{message} (and {repeats} more in the minute before this one)")
        } else {
            message
        };
        match domain {
            Domain::Users => self.users.record_error(message, detail).await,
            Domain::Academic => self.academic.record_error(message, detail).await,
            Domain::Projects => self.projects.record_error(message, detail).await,
        }
    }

    pub async fn close(self) {
        for result in [
            self.users.conn.close().await,
            self.academic.conn.close().await,
            self.projects.conn.close().await,
        ] {
            if let Err(error) = result {
                tracing::warn!(%error, "closing a database pool failed");
            }
        }
    }
}

/// SQL statements run per database; subtract two readings to count one request's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct StatementCounts {
    pub users: u64,
    pub academic: u64,
    pub projects: u64,
}

impl std::ops::Sub for StatementCounts {
    type Output = StatementCounts;

    fn sub(self, earlier: StatementCounts) -> StatementCounts {
        StatementCounts {
            users: self.users - earlier.users,
            academic: self.academic - earlier.academic,
            projects: self.projects - earlier.projects,
        }
    }
}

/// The database a PostgreSQL URL names (the user's name when it names none).
fn postgres_name(url: &str) -> Option<Arc<str>> {
    let url = url::Url::parse(url).ok()?;
    if !matches!(url.scheme(), "postgres" | "postgresql") {
        return None;
    }
    let name = url.path().trim_start_matches('/');
    let name = if name.is_empty() {
        url.username()
    } else {
        name
    };
    Some(name.into())
}
