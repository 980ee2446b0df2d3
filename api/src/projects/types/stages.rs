//! Stages and their files.

use super::*;

/// Where a stage's `author` sits in the type; `crate::links` resolves it.
pub struct StageLinks {
    pub author_id: i32,
}

/// A phase of a project's work.
pub struct Stage {
    pub model: stage::Model,
    pub status: StageStatusName,
}

/// A step of a project's work plan, with its status and files.
#[Object]
impl Stage {
    /// The stage's id.
    async fn id(&self) -> ID {
        self.model.id.into()
    }

    /// The stage's name.
    async fn name(&self) -> &str {
        &self.model.name
    }

    /// What the stage is about.
    async fn description(&self) -> &str {
        &self.model.description
    }

    /// How far along it is.
    async fn status(&self) -> StageStatusName {
        self.status
    }

    // `author`, from the users database.
    #[graphql(flatten)]
    async fn links(&self) -> StageLinks {
        StageLinks {
            author_id: self.model.author_id,
        }
    }

    #[graphql(complexity = "crate::graphql::budget::LIST * child_complexity + 1")]
    /// Files attached to it, oldest first.
    async fn files(&self, ctx: &Context<'_>) -> Result<Vec<StoredFile>> {
        let rows = loaders::stage_files(ctx, self.model.id).await?;
        listed(ctx, rows.into_iter().map(StoredFile).collect())
    }

    /// When it was created.
    async fn created_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.model.created_at
    }

    /// When it last changed.
    async fn updated_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.model.updated_at
    }
}

/// A stored file; download it from `url`.
pub struct StoredFile(pub file::Model);

/// A stored file (an upload): read it at `/files/{id}`.
#[Object(name = "File")]
impl StoredFile {
    /// The file's id.
    async fn id(&self) -> ID {
        self.0.id.into()
    }

    /// The name it was uploaded with.
    async fn name(&self) -> &str {
        &self.0.original_name
    }

    /// The media type it was uploaded with (checked against its first bytes).
    async fn content_type(&self) -> &str {
        &self.0.content_type
    }

    /// Bytes.
    async fn size(&self) -> i64 {
        self.0.size
    }

    /// `GET` this to download it.
    async fn url(&self) -> String {
        format!("/files/{}", self.0.id)
    }

    /// When it was uploaded.
    async fn created_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.created_at
    }
}
