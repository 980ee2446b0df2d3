//! Ratings, resource samples and environment variables of a project.

use super::*;

/// Stars as words.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum StarsLabel {
    Bad,
    Ok,
    Good,
    Excellent,
    Awesome,
}

/// A user's stars for a project.
pub struct Rating(pub rating::Model);

#[Object]
impl Rating {
    async fn id(&self) -> ID {
        self.0.id.into()
    }

    /// 1 to 5.
    async fn stars(&self) -> i32 {
        self.0.stars
    }

    async fn label(&self) -> StarsLabel {
        match self.0.stars {
            ..=1 => StarsLabel::Bad,
            2 => StarsLabel::Ok,
            3 => StarsLabel::Good,
            4 => StarsLabel::Excellent,
            _ => StarsLabel::Awesome,
        }
    }

    /// Who rated, read from the users database.
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        Ok(user_loaders::linked_user(ctx, self.0.user_id)
            .await?
            .map(User::new))
    }

    async fn updated_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.updated_at
    }
}

/// A resource sample of a running app.
pub struct Statistic(pub statistic::Model);

#[Object]
impl Statistic {
    async fn cpu_percent(&self) -> f64 {
        self.0.cpu_percent
    }

    async fn memory_percent(&self) -> f64 {
        self.0.memory_percent
    }

    /// Bytes.
    async fn memory_used(&self) -> i64 {
        self.0.memory_used
    }

    /// Bytes.
    async fn memory_limit(&self) -> i64 {
        self.0.memory_limit
    }

    async fn block_io_read(&self) -> i64 {
        self.0.block_io_read
    }

    async fn block_io_write(&self) -> i64 {
        self.0.block_io_write
    }

    async fn net_io_rx(&self) -> i64 {
        self.0.net_io_rx
    }

    async fn net_io_tx(&self) -> i64 {
        self.0.net_io_tx
    }

    async fn created_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.created_at
    }
}

/// A project's environment variable, decrypted.
#[derive(SimpleObject)]
pub struct EnvironmentVariable {
    pub name: String,
    pub value: String,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}
