//! Replicas cache who a token belongs to (the user row and their roles). On
//! PostgreSQL, every change to a user or to their roles, by whatever writes it (a
//! replica, the CLI, an operator's SQL), sends `NOTIFY viewer_changed, '<user id>'` when
//! its transaction commits, so every replica forgets that user at once. SQLite has one
//! process and no NOTIFY: the gateway forgets in process.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The channel the gateway listens on (`api::users::viewer::cache::CHANNEL`).
const UP: &str = r#"
CREATE FUNCTION notify_viewer_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed jsonb;
BEGIN
    IF TG_OP = 'DELETE' THEN
        changed := to_jsonb(OLD);
    ELSE
        changed := to_jsonb(NEW);
    END IF;
    PERFORM pg_notify('viewer_changed', changed ->> TG_ARGV[0]);
    RETURN NULL;
END
$$;
CREATE TRIGGER users_viewer_changed AFTER UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION notify_viewer_changed('id');
CREATE TRIGGER user_roles_viewer_changed AFTER INSERT OR UPDATE OR DELETE ON user_roles
    FOR EACH ROW EXECUTE FUNCTION notify_viewer_changed('user_id');
"#;

const DOWN: &str = r#"
DROP TRIGGER IF EXISTS user_roles_viewer_changed ON user_roles;
DROP TRIGGER IF EXISTS users_viewer_changed ON users;
DROP FUNCTION IF EXISTS notify_viewer_changed();
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager.get_connection().execute_unprepared(UP).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager.get_connection().execute_unprepared(DOWN).await?;
        }
        Ok(())
    }
}
