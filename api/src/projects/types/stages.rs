//! Stages and their files.

use super::*;

/// A phase of a project's work.
pub struct Stage {
    pub model: stage::Model,
    pub status: StageStatusName,
}

#[Object]
impl Stage {
    async fn id(&self) -> ID {
        self.model.id.into()
    }

    async fn name(&self) -> &str {
        &self.model.name
    }

    async fn description(&self) -> &str {
        &self.model.description
    }

    async fn status(&self) -> StageStatusName {
        self.status
    }

    /// Who created it, read from the users database.
    async fn author(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        Ok(user_loaders::linked_user(ctx, self.model.author_id)
            .await?
            .map(User::new))
    }

    #[graphql(complexity = "crate::graphql::budget::LIST * child_complexity + 1")]
    async fn files(&self, ctx: &Context<'_>) -> Result<Vec<StoredFile>> {
        let rows = loaders::stage_files(ctx, self.model.id).await?;
        listed(ctx, rows.into_iter().map(StoredFile).collect())
    }

    async fn created_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.model.created_at
    }

    async fn updated_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.model.updated_at
    }
}

/// A stored file; download it from `url`.
pub struct StoredFile(pub file::Model);

#[Object(name = "File")]
impl StoredFile {
    async fn id(&self) -> ID {
        self.0.id.into()
    }

    /// The name it was uploaded with.
    async fn name(&self) -> &str {
        &self.0.original_name
    }

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

    async fn created_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.created_at
    }
}
