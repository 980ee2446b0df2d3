//! Student databases, provisioned for real on the configured PostgreSQL and MariaDB
//! servers. Every name is checked against a strict pattern and quoted as an identifier;
//! the password, the one literal, is checked to hold no quote or backslash and quoted.

use std::collections::HashMap;

use chrono::Utc;
use entities::users::{database_engine, student_database, user};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, Database, DatabaseConnection, DbBackend,
    EntityTrait, QueryFilter, QueryOrder, Set, Statement,
};
use tokio::sync::OnceCell;

use super::model::{DatabaseEngineName, StudentDb};
use crate::{config::Config, db::UsersDb, error::ServiceError};

/// Names no student may take.
const RESERVED: &[&str] = &[
    "postgres",
    "template0",
    "template1",
    "mysql",
    "information_schema",
    "performance_schema",
    "sys",
];

/// One admin connection, opened on first use so a server that is down does not stop
/// the gateway from starting.
struct Server {
    url: String,
    admin: OnceCell<DatabaseConnection>,
}

impl Server {
    async fn admin(&self) -> Result<&DatabaseConnection, ServiceError> {
        self.admin
            .get_or_try_init(|| async {
                let mut options = sea_orm::ConnectOptions::new(self.url.clone());
                options.max_connections(4).sqlx_logging(false);
                Database::connect(options).await
            })
            .await
            .map_err(ServiceError::Database)
    }
}

/// The student database servers this gateway may provision on.
pub struct StudentServers {
    postgres: Option<Server>,
    mariadb: Option<Server>,
}

fn server(url: &Option<String>) -> Option<Server> {
    url.clone().map(|url| Server {
        url,
        admin: OnceCell::new(),
    })
}

impl StudentServers {
    pub fn new(config: &Config) -> Self {
        Self {
            postgres: server(&config.student_postgres_admin_url),
            mariadb: server(&config.student_mariadb_admin_url),
        }
    }

    fn get(&self, engine: DatabaseEngineName) -> Result<&Server, ServiceError> {
        let server = match engine {
            DatabaseEngineName::Postgresql => &self.postgres,
            DatabaseEngineName::Mariadb => &self.mariadb,
        };
        server.as_ref().ok_or_else(|| {
            ServiceError::invalid(
                "engine",
                format!("no {} server is configured on this gateway", engine.as_db()),
            )
        })
    }

    fn configured(&self) -> Vec<DatabaseEngineName> {
        let mut engines = Vec::new();
        if self.postgres.is_some() {
            engines.push(DatabaseEngineName::Postgresql);
        }
        if self.mariadb.is_some() {
            engines.push(DatabaseEngineName::Mariadb);
        }
        engines
    }
}

mod databases;
mod names;
mod on_server;

pub use self::databases::*;
pub use self::names::*;
use self::on_server::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_are_sanitised_local_parts() {
        assert_eq!(login_for("Ana.Maria-Diaz@uni.edu.co"), "ana_maria_diaz");
        assert_eq!(login_for("9lives@x.org"), "s_9lives");
        assert_eq!(
            login_for("x\"; DROP DATABASE y; --@evil.org"),
            "x___drop_database_y____"
        );
    }

    #[test]
    fn injection_shaped_names_are_refused() {
        assert!(check_name("x\"; DROP DATABASE y; --").is_err());
        assert!(check_name("Upper").is_err());
        assert!(check_name("template1").is_err());
        assert!(check_name("my_db_1").is_ok());
    }

    #[test]
    fn passwords_need_three_kinds_of_characters_and_no_quotes() {
        assert!(check_password("Secret123").is_ok());
        assert!(check_password("secret123").is_err());
        assert!(check_password("Sec'ret123").is_err());
        assert!(check_password("Sh0rt").is_err());
    }
}
