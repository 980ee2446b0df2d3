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

use super::types::{DatabaseEngineName, StudentDatabase};
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

/// An identifier quoted for `engine`.
fn quote(engine: DatabaseEngineName, identifier: &str) -> String {
    match engine {
        DatabaseEngineName::Postgresql => format!("\"{}\"", identifier.replace('"', "\"\"")),
        DatabaseEngineName::Mariadb => format!("`{}`", identifier.replace('`', "``")),
    }
}

/// A string literal; the password check already refused quotes and backslashes.
fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// The login of a user: the local part of the email, lower-cased, anything outside
/// `[a-z0-9_]` replaced by `_`, starting with a letter, at most 32 characters.
pub fn login_for(email: &str) -> String {
    let local = email.split('@').next().unwrap_or_default().to_lowercase();
    let mut login: String = local
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !login.starts_with(|c: char| c.is_ascii_lowercase()) {
        login.insert_str(0, "s_");
    }
    login.truncate(32);
    login
}

/// 8 to 64 printable ASCII characters with a lower-case letter, an upper-case letter
/// and a digit; no quotes, backslashes or spaces.
pub fn check_password(password: &str) -> Result<(), ServiceError> {
    let invalid = |reason: &str| Err(ServiceError::invalid("password", reason));
    if !(8..=64).contains(&password.chars().count()) {
        return invalid("must be 8 to 64 characters");
    }
    if !password.chars().all(|c| c.is_ascii_graphic()) || password.contains(['\'', '"', '\\', '`'])
    {
        return invalid("may use printable ASCII characters except quotes, backslashes and spaces");
    }
    let has = |test: fn(&char) -> bool| password.chars().any(|c| test(&c));
    if !(has(char::is_ascii_lowercase)
        && has(char::is_ascii_uppercase)
        && has(char::is_ascii_digit))
    {
        return invalid("needs a lower-case letter, an upper-case letter and a digit");
    }
    Ok(())
}

/// 3 to 63 characters of `[a-z0-9_]`, starting with a letter, not a reserved name.
pub fn check_name(name: &str) -> Result<(), ServiceError> {
    let valid = (3..=63).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err(ServiceError::invalid(
            "name",
            "must be 3 to 63 characters of a-z, 0-9 and _, starting with a letter",
        ));
    }
    if RESERVED.contains(&name) || name.starts_with("students_project_") || name.starts_with("pg_")
    {
        return Err(ServiceError::invalid("name", "is reserved"));
    }
    Ok(())
}

fn backend(engine: DatabaseEngineName) -> DbBackend {
    match engine {
        DatabaseEngineName::Postgresql => DbBackend::Postgres,
        DatabaseEngineName::Mariadb => DbBackend::MySql,
    }
}

/// An "already exists" answer from a server becomes a conflict on `field`.
fn server_error(error: sea_orm::DbErr, field: &'static str) -> ServiceError {
    let message = error.to_string();
    if message.contains("already exists")
        || message.contains("exists") && message.contains("1007")
        || message.contains("Operation CREATE USER failed")
    {
        ServiceError::conflict(field, "already exists on the database server")
    } else {
        ServiceError::Database(error)
    }
}

async fn create_login(
    server: &Server,
    engine: DatabaseEngineName,
    login: &str,
    password: &str,
) -> Result<(), ServiceError> {
    let sql = match engine {
        DatabaseEngineName::Postgresql => format!(
            "CREATE ROLE {} LOGIN PASSWORD {}",
            quote(engine, login),
            literal(password)
        ),
        DatabaseEngineName::Mariadb => format!(
            "CREATE USER {}@'%' IDENTIFIED BY {}",
            literal(login),
            literal(password)
        ),
    };
    server
        .admin()
        .await?
        .execute_unprepared(&sql)
        .await
        .map_err(|e| server_error(e, "login"))?;
    Ok(())
}

async fn drop_login(
    server: &Server,
    engine: DatabaseEngineName,
    login: &str,
) -> Result<(), ServiceError> {
    let sql = match engine {
        DatabaseEngineName::Postgresql => format!("DROP ROLE IF EXISTS {}", quote(engine, login)),
        DatabaseEngineName::Mariadb => format!("DROP USER IF EXISTS {}@'%'", literal(login)),
    };
    server.admin().await?.execute_unprepared(&sql).await?;
    Ok(())
}

/// Creates the viewer's login on every configured server; all or none.
pub async fn create_account(
    db: &UsersDb,
    servers: &StudentServers,
    user: &user::Model,
    password: &str,
) -> Result<String, ServiceError> {
    if user.has_db_account {
        return Err(ServiceError::conflict(
            "account",
            "you already have a database account",
        ));
    }
    check_password(password)?;
    let engines = servers.configured();
    if engines.is_empty() {
        return Err(ServiceError::invalid(
            "engine",
            "no student database server is configured on this gateway",
        ));
    }
    let login = login_for(&user.email);
    let mut created = Vec::new();
    for engine in engines {
        let server = servers.get(engine)?;
        if let Err(error) = create_login(server, engine, &login, password).await {
            for done in created {
                if let Ok(server) = servers.get(done)
                    && let Err(undo) = drop_login(server, done, &login).await
                {
                    tracing::error!(error = %undo, "could not drop a login while undoing an account");
                }
            }
            return Err(error);
        }
        created.push(engine);
    }
    let mut model: user::ActiveModel = user.clone().into();
    model.has_db_account = Set(true);
    model.update(&**db).await?;
    Ok(login)
}

async fn engine_ids(db: &UsersDb) -> Result<HashMap<i32, DatabaseEngineName>, ServiceError> {
    database_engine::Entity::find()
        .all(&**db)
        .await?
        .into_iter()
        .map(|e| Ok((e.id, DatabaseEngineName::from_db(&e.name)?)))
        .collect()
}

/// Creates a database owned by the viewer's login; the row and the database go
/// together or not at all.
pub async fn create_database(
    db: &UsersDb,
    servers: &StudentServers,
    user: &user::Model,
    name: &str,
    engine: DatabaseEngineName,
) -> Result<StudentDatabase, ServiceError> {
    check_name(name)?;
    let server = servers.get(engine)?;
    if !user.has_db_account {
        return Err(ServiceError::forbidden(
            "create your database account first",
        ));
    }
    let engine_id = engine_ids(db)
        .await?
        .into_iter()
        .find_map(|(id, e)| (e == engine).then_some(id))
        .ok_or_else(|| ServiceError::Corrupt(format!("engine {} is not seeded", engine.as_db())))?;
    let txn = db.begin_write().await?;
    let row = student_database::ActiveModel {
        owner_id: Set(user.id),
        name: Set(name.to_owned()),
        engine_id: Set(engine_id),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let login = login_for(&user.email);
    let admin = server.admin().await?;
    let statements = match engine {
        DatabaseEngineName::Postgresql => vec![
            format!(
                "CREATE DATABASE {} OWNER {}",
                quote(engine, name),
                quote(engine, &login)
            ),
            format!("REVOKE ALL ON DATABASE {} FROM PUBLIC", quote(engine, name)),
        ],
        DatabaseEngineName::Mariadb => vec![
            format!("CREATE DATABASE {}", quote(engine, name)),
            format!(
                "GRANT ALL PRIVILEGES ON {}.* TO {}@'%'",
                quote(engine, name),
                literal(&login)
            ),
        ],
    };
    for (index, sql) in statements.iter().enumerate() {
        if let Err(error) = admin.execute_unprepared(sql).await {
            if index > 0 {
                drop_on_server(server, engine, name).await?;
            }
            return Err(server_error(error, "name"));
        }
    }
    if let Err(error) = txn.commit().await {
        drop_on_server(server, engine, name).await?;
        return Err(error.into());
    }
    Ok(StudentDatabase {
        id: row.id.into(),
        name: row.name,
        engine,
        table_count: 0,
        created_at: row.created_at,
    })
}

async fn drop_on_server(
    server: &Server,
    engine: DatabaseEngineName,
    name: &str,
) -> Result<(), ServiceError> {
    let sql = match engine {
        DatabaseEngineName::Postgresql => format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            quote(engine, name)
        ),
        DatabaseEngineName::Mariadb => format!("DROP DATABASE IF EXISTS {}", quote(engine, name)),
    };
    server.admin().await?.execute_unprepared(&sql).await?;
    Ok(())
}

/// Tables in each named database of one server.
async fn table_counts(
    server: &Server,
    engine: DatabaseEngineName,
    names: &[String],
) -> Result<HashMap<String, i64>, ServiceError> {
    let mut counts = HashMap::new();
    match engine {
        DatabaseEngineName::Mariadb => {
            if names.is_empty() {
                return Ok(counts);
            }
            let placeholders = vec!["?"; names.len()].join(", ");
            let sql = format!(
                "SELECT table_schema AS name, COUNT(*) AS tables FROM information_schema.tables \
                 WHERE table_schema IN ({placeholders}) GROUP BY table_schema"
            );
            let values = names.iter().map(|n| n.clone().into());
            let rows = server
                .admin()
                .await?
                .query_all_raw(Statement::from_sql_and_values(backend(engine), sql, values))
                .await?;
            for row in rows {
                counts.insert(
                    row.try_get::<String>("", "name")?,
                    row.try_get::<i64>("", "tables")?,
                );
            }
        }
        DatabaseEngineName::Postgresql => {
            // information_schema is per database: ask each one.
            for name in names {
                let mut url = url::Url::parse(&server.url)
                    .map_err(|e| ServiceError::Internal(e.to_string()))?;
                url.set_path(&format!("/{name}"));
                let mut options = sea_orm::ConnectOptions::new(url.to_string());
                options.max_connections(1).sqlx_logging(false);
                let conn = Database::connect(options).await?;
                let row = conn
                    .query_one_raw(Statement::from_string(
                        DbBackend::Postgres,
                        "SELECT COUNT(*) AS tables FROM information_schema.tables \
                         WHERE table_schema NOT IN ('pg_catalog', 'information_schema')",
                    ))
                    .await?;
                let _ = conn.close().await;
                counts.insert(
                    name.clone(),
                    row.map(|r| r.try_get::<i64>("", "tables"))
                        .transpose()?
                        .unwrap_or(0),
                );
            }
        }
    }
    Ok(counts)
}

/// The viewer's databases, each with its live table count.
pub async fn list(
    db: &UsersDb,
    servers: &StudentServers,
    owner_id: i32,
) -> Result<Vec<StudentDatabase>, ServiceError> {
    let engines = engine_ids(db).await?;
    let rows = student_database::Entity::find()
        .filter(student_database::Column::OwnerId.eq(owner_id))
        .order_by_asc(student_database::Column::Id)
        .all(&**db)
        .await?;
    let mut counts: HashMap<(DatabaseEngineName, String), i64> = HashMap::new();
    for engine in [DatabaseEngineName::Postgresql, DatabaseEngineName::Mariadb] {
        let names: Vec<String> = rows
            .iter()
            .filter(|r| engines.get(&r.engine_id) == Some(&engine))
            .map(|r| r.name.clone())
            .collect();
        if names.is_empty() {
            continue;
        }
        for (name, count) in table_counts(servers.get(engine)?, engine, &names).await? {
            counts.insert((engine, name), count);
        }
    }
    rows.into_iter()
        .map(|row| {
            let engine = *engines.get(&row.engine_id).ok_or_else(|| {
                ServiceError::Corrupt(format!("engine {} is unknown", row.engine_id))
            })?;
            Ok(StudentDatabase {
                id: row.id.into(),
                table_count: counts
                    .get(&(engine, row.name.clone()))
                    .copied()
                    .unwrap_or(0),
                name: row.name,
                engine,
                created_at: row.created_at,
            })
        })
        .collect()
}

/// Drops one of the viewer's databases; only its owner may.
pub async fn delete(
    db: &UsersDb,
    servers: &StudentServers,
    viewer_id: i32,
    id: i32,
) -> Result<(), ServiceError> {
    let row = student_database::Entity::find_by_id(id)
        .one(&**db)
        .await?
        .ok_or(ServiceError::NotFound("student database"))?;
    if row.owner_id != viewer_id {
        return Err(ServiceError::forbidden("only the owner deletes a database"));
    }
    let engine = *engine_ids(db)
        .await?
        .get(&row.engine_id)
        .ok_or_else(|| ServiceError::Corrupt(format!("engine {} is unknown", row.engine_id)))?;
    drop_on_server(servers.get(engine)?, engine, &row.name).await?;
    student_database::Entity::delete_by_id(id)
        .exec(&**db)
        .await?;
    Ok(())
}

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
