//! Accounts and databases as the gateway records them, kept in step with the servers.

use super::*;

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

pub(super) async fn engine_ids(
    db: &UsersDb,
) -> Result<HashMap<i32, DatabaseEngineName>, ServiceError> {
    database_engine::Entity::find()
        .all(&**db)
        .await?
        .into_iter()
        .map(|e| Ok((e.id, DatabaseEngineName::from_db(&e.name)?)))
        .collect()
}

/// What creates database `name` owned by `login` on the server, in order.
fn creation(engine: DatabaseEngineName, name: &str, login: &str) -> Vec<String> {
    match engine {
        DatabaseEngineName::Postgresql => vec![
            format!(
                "CREATE DATABASE {} OWNER {}",
                quote(engine, name),
                quote(engine, login)
            ),
            format!("REVOKE ALL ON DATABASE {} FROM PUBLIC", quote(engine, name)),
        ],
        DatabaseEngineName::Mariadb => vec![
            format!("CREATE DATABASE {}", quote(engine, name)),
            format!(
                "GRANT ALL PRIVILEGES ON {}.* TO {}@'%'",
                quote(engine, name),
                literal(login)
            ),
        ],
    }
}

/// Creates a database owned by the viewer's login; the row and the database go
/// together or not at all.
pub async fn create_database(
    db: &UsersDb,
    servers: &StudentServers,
    user: &user::Model,
    name: &str,
    engine: DatabaseEngineName,
) -> Result<StudentDb, ServiceError> {
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
    let admin = server.admin().await?;
    let statements = creation(engine, name, &login_for(&user.email));
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
    Ok(StudentDb {
        id: row.id,
        name: row.name,
        engine,
        table_count: 0,
        created_at: row.created_at,
    })
}

/// The viewer's databases, each with its live table count.
pub async fn list(
    db: &UsersDb,
    servers: &StudentServers,
    owner_id: i32,
) -> Result<Vec<StudentDb>, ServiceError> {
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
            Ok(StudentDb {
                id: row.id,
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
