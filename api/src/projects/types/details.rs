//! Ratings, resource samples and environment variables of a project.

use super::*;

/// Stars as words.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum StarsLabel {
    /// One star.
    Bad,
    /// Two stars.
    Ok,
    /// Three stars.
    Good,
    /// Four stars.
    Excellent,
    /// Five stars.
    Awesome,
}

/// A user's stars for a project.
pub struct Rating(pub rating::Model);

/// Where a rating's `user` sits in the type; `crate::links` resolves it.
pub struct RatingLinks {
    pub user_id: i32,
}

/// One user's stars for a project.
#[Object]
impl Rating {
    /// The rating's id.
    async fn id(&self) -> ID {
        self.0.id.into()
    }

    /// 1 to 5.
    async fn stars(&self) -> i32 {
        self.0.stars
    }

    /// The stars, in words.
    async fn label(&self) -> StarsLabel {
        match self.0.stars {
            ..=1 => StarsLabel::Bad,
            2 => StarsLabel::Ok,
            3 => StarsLabel::Good,
            4 => StarsLabel::Excellent,
            _ => StarsLabel::Awesome,
        }
    }

    // `user`, from the users database.
    #[graphql(flatten)]
    async fn links(&self) -> RatingLinks {
        RatingLinks {
            user_id: self.0.user_id,
        }
    }

    /// When it was last given or changed.
    async fn updated_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.updated_at
    }
}

/// A resource sample of a running app.
pub struct Statistic(pub statistic::Model);

/// One sample of a running app's resource use.
#[Object]
impl Statistic {
    /// CPU the app used, in percent.
    async fn cpu_percent(&self) -> f64 {
        self.0.cpu_percent
    }

    /// Memory the app used, in percent of its limit.
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

    /// Bytes the app read from disk, counted since it started.
    async fn block_io_read(&self) -> i64 {
        self.0.block_io_read
    }

    /// Bytes the app wrote to disk, counted since it started.
    async fn block_io_write(&self) -> i64 {
        self.0.block_io_write
    }

    /// Bytes the app received over the network, counted since it started.
    async fn net_io_rx(&self) -> i64 {
        self.0.net_io_rx
    }

    /// Bytes the app sent over the network, counted since it started.
    async fn net_io_tx(&self) -> i64 {
        self.0.net_io_tx
    }

    /// When the sample was taken.
    async fn created_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.created_at
    }
}

/// A project's environment variable, decrypted.
#[derive(SimpleObject)]
pub struct EnvironmentVariable {
    /// The variable's name (`[A-Z_][A-Z0-9_]*`, at most 64 characters).
    pub name: String,
    /// The value, decrypted.
    pub value: String,
    /// When it was last set.
    pub updated_at: chrono::DateTime<chrono::Utc>,
}
