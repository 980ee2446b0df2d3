//! The three databases of a test: SQLite files, or fresh PostgreSQL databases dropped
//! when the test ends.

use std::path::PathBuf;

use migration::Domain;

/// Where a test's three databases live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The backends to run against: SQLite always, PostgreSQL when TEST_DATABASE_URL is set.
/// In CI a missing TEST_DATABASE_URL is a failure, never a silent skip.
pub fn backends() -> Vec<Backend> {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(_) => vec![Backend::Sqlite, Backend::Postgres],
        Err(_) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but TEST_DATABASE_URL is not set: the PostgreSQL tests would not run")
        }
        Err(_) => vec![Backend::Sqlite],
    }
}

/// A set of three fresh, uniquely named databases, dropped when this is dropped.
pub struct TestDatabases {
    pub dir: tempfile::TempDir,
    pub urls: Vec<(Domain, String)>,
    server: Option<String>,
}

impl TestDatabases {
    pub fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("a temporary directory");
                let urls = Domain::ALL
                    .iter()
                    .map(|&domain| (domain, domain.default_url(dir.path())))
                    .collect();
                Self {
                    dir,
                    urls,
                    server: None,
                }
            }
            Backend::Postgres => {
                let server = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL is set");
                Self::on_postgres(server.clone(), &server, "")
            }
        }
    }

    /// Three fresh databases on the PostgreSQL `server`, reached at `reached_at` (the
    /// server itself, or a proxy in front of it) with the URL suffix `options`.
    pub fn on_postgres(server: String, reached_at: &str, options: &str) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let tag = uuid::Uuid::new_v4().simple().to_string();
        let urls = Domain::ALL
            .iter()
            .map(|&domain| {
                let url = format!(
                    "{}/t_{}_{}{options}",
                    reached_at.trim_end_matches('/'),
                    &tag[..12],
                    domain.name()
                );
                (domain, url)
            })
            .collect();
        Self {
            dir,
            urls,
            server: Some(server),
        }
    }

    pub fn url(&self, domain: Domain) -> &str {
        &self
            .urls
            .iter()
            .find(|(d, _)| *d == domain)
            .expect("every domain has a URL")
            .1
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// Drops one database now (connections are terminated): it becomes unreachable.
    pub async fn drop_database(&self, domain: Domain) {
        let server = self
            .server
            .as_ref()
            .expect("only PostgreSQL databases can be dropped");
        let name = database_name(self.url(domain));
        drop_postgres_databases(server, &[name]).await;
    }
}

/// The database a URL names (its last path segment, without options).
fn database_name(url: &str) -> String {
    let last = url.rsplit('/').next().unwrap_or_default();
    last.split('?').next().unwrap_or_default().to_owned()
}

async fn drop_postgres_databases(server: &str, names: &[String]) {
    use sea_orm::ConnectionTrait;
    let admin = sea_orm::Database::connect(format!("{}/postgres", server.trim_end_matches('/')))
        .await
        .expect("the PostgreSQL server answers");
    for name in names {
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await
            .expect("drop a test database");
    }
    let _ = admin.close().await;
}

impl Drop for TestDatabases {
    fn drop(&mut self) {
        let Some(server) = self.server.clone() else {
            return;
        };
        let names: Vec<String> = self
            .urls
            .iter()
            .map(|(_, url)| database_name(url))
            .collect();
        // Drop runs inside the test's runtime: clean up on a thread with its own.
        let cleanup = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime")
                .block_on(drop_postgres_databases(&server, &names));
        });
        let _ = cleanup.join();
    }
}
