//! Statements run on the student database servers themselves: logins, drops, table counts.

use super::*;

pub(super) fn backend(engine: DatabaseEngineName) -> DbBackend {
    match engine {
        DatabaseEngineName::Postgresql => DbBackend::Postgres,
        DatabaseEngineName::Mariadb => DbBackend::MySql,
    }
}

/// An "already exists" answer from a server becomes a conflict on `field`.
pub(super) fn server_error(error: sea_orm::DbErr, field: &'static str) -> ServiceError {
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

pub(super) async fn create_login(
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

pub(super) async fn drop_login(
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

pub(super) async fn drop_on_server(
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
pub(super) async fn table_counts(
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
                let mut url = url::Url::parse(&server.url).map_err(ServiceError::internal)?;
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
