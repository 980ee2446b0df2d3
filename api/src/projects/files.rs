//! Stored files: bytes under `DATA_DIR/files/<uuid>`, metadata in the `files` table.
//! Uploads stream to `<uuid>.part` with a size limit and are renamed once complete and
//! recorded; an upload that fails, times out or is dropped halfway leaves nothing behind
//! (a guard removes the file), and `.part` files a killed process left are removed at
//! start.

use std::path::{Path, PathBuf};

use chrono::Utc;
use entities::projects::{file, project, stage_file};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use tokio::io::AsyncWriteExt;

use super::sniff;
use crate::{db::ProjectsDb, error::ServiceError};

pub fn folder(data_dir: &Path) -> PathBuf {
    data_dir.join("files")
}

pub fn path_of(data_dir: &Path, uuid: &uuid::Uuid) -> PathBuf {
    folder(data_dir).join(uuid.simple().to_string())
}

/// Why an upload was refused.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("the file exceeds {0} bytes")]
    TooLarge(u64),
    #[error("{0}")]
    Invalid(String),
    #[error("the content is not {0}")]
    NotDeclaredType(String),
    #[error("the file store failed")]
    Storage(#[source] std::io::Error),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// A chunk source (a multipart field).
pub trait Chunks {
    fn next_chunk(
        &mut self,
    ) -> impl Future<Output = Result<Option<axum::body::Bytes>, String>> + Send;
}

/// Streams an upload to disk (at most `max` bytes), then records it.
pub async fn store(
    db: &ProjectsDb,
    data_dir: &Path,
    uploader: i32,
    original_name: &str,
    content_type: &str,
    max: u64,
    chunks: &mut impl Chunks,
) -> Result<file::Model, UploadError> {
    let uuid = uuid::Uuid::new_v4();
    let path = path_of(data_dir, &uuid);
    tokio::fs::create_dir_all(folder(data_dir))
        .await
        .map_err(UploadError::Storage)?;
    let mut unfinished = Unfinished(Some(path.with_extension(PARTIAL)));
    let size = write_limited(unfinished.path(), content_type, max, chunks).await?;
    tokio::fs::rename(unfinished.path(), &path)
        .await
        .map_err(UploadError::Storage)?;
    unfinished.0 = Some(path.clone());
    let name: String = Path::new(original_name)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("upload")
        .chars()
        .take(255)
        .collect();
    let row = file::ActiveModel {
        uuid: Set(uuid),
        original_name: Set(name),
        content_type: Set(content_type.to_owned()),
        size: Set(i64::try_from(size).unwrap_or(i64::MAX)),
        uploaded_by: Set(uploader),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&**db)
    .await
    .map_err(ServiceError::from)?;
    unfinished.0 = None;
    Ok(row)
}

/// The suffix of an upload still being written.
const PARTIAL: &str = "part";

/// A file that goes unless the upload completes: removed when dropped holding a path
/// (an error, a timeout, a client gone).
struct Unfinished(Option<PathBuf>);

impl Unfinished {
    fn path(&self) -> &Path {
        self.0.as_deref().unwrap_or(Path::new(""))
    }
}

impl Drop for Unfinished {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Removes the `.part` files a killed process left behind; returns how many.
pub fn sweep_unfinished(data_dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(folder(data_dir)) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == PARTIAL))
        .filter(|e| std::fs::remove_file(e.path()).is_ok())
        .count()
}

/// Writes the chunks to `path`, refusing past `max` bytes or when the first bytes
/// disagree with `content_type` (checked once [`sniff::HEAD_BYTES`] have arrived, or at
/// the end of a shorter file).
async fn write_limited(
    path: &Path,
    content_type: &str,
    max: u64,
    chunks: &mut impl Chunks,
) -> Result<u64, UploadError> {
    let storage = UploadError::Storage;
    let mut out = tokio::fs::File::create(path).await.map_err(storage)?;
    let mut size: u64 = 0;
    let mut head = Some(Vec::with_capacity(sniff::HEAD_BYTES));
    let check = |head: &[u8]| {
        if sniff::agrees(content_type, head) {
            Ok(())
        } else {
            Err(UploadError::NotDeclaredType(content_type.to_owned()))
        }
    };
    while let Some(chunk) = chunks.next_chunk().await.map_err(UploadError::Invalid)? {
        size += chunk.len() as u64;
        if size > max {
            return Err(UploadError::TooLarge(max));
        }
        if let Some(bytes) = head.as_mut() {
            let room = sniff::HEAD_BYTES - bytes.len();
            bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if bytes.len() == sniff::HEAD_BYTES {
                check(bytes)?;
                head = None;
            }
        }
        out.write_all(&chunk).await.map_err(storage)?;
    }
    if let Some(bytes) = head {
        check(&bytes)?;
    }
    out.flush().await.map_err(storage)?;
    Ok(size)
}

/// Who may download a file: a project image, anyone; a stage file, signed-in users;
/// a file attached nowhere yet, its uploader (and admins).
pub enum Visibility {
    Public,
    SignedIn,
    Uploader(i32),
}

pub async fn visibility(db: &ProjectsDb, file: &file::Model) -> Result<Visibility, ServiceError> {
    let image = project::Entity::find()
        .filter(project::Column::ImageFileId.eq(file.id))
        .count(&**db)
        .await?;
    if image > 0 {
        return Ok(Visibility::Public);
    }
    let attached = stage_file::Entity::find()
        .filter(stage_file::Column::FileId.eq(file.id))
        .count(&**db)
        .await?;
    Ok(if attached > 0 {
        Visibility::SignedIn
    } else {
        Visibility::Uploader(file.uploaded_by)
    })
}

/// Deletes files no project or stage uses any more, rows and bytes.
pub async fn delete_unused(
    db: &ProjectsDb,
    data_dir: &Path,
    ids: &[i32],
) -> Result<(), ServiceError> {
    for id in ids {
        let used = project::Entity::find()
            .filter(project::Column::ImageFileId.eq(*id))
            .count(&**db)
            .await?
            + stage_file::Entity::find()
                .filter(stage_file::Column::FileId.eq(*id))
                .count(&**db)
                .await?;
        if used > 0 {
            continue;
        }
        if let Some(found) = file::Entity::find_by_id(*id).one(&**db).await? {
            file::Entity::delete_by_id(*id).exec(&**db).await?;
            if let Err(error) = tokio::fs::remove_file(path_of(data_dir, &found.uuid)).await {
                tracing::warn!(%error, file = id, "could not remove a stored file");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfinished_uploads_go_and_finished_files_stay() {
        let dir = tempfile::tempdir().expect("a folder");
        std::fs::create_dir_all(folder(dir.path())).expect("files folder");
        let kept = folder(dir.path()).join("0123abcd");
        let left = folder(dir.path()).join("4567ef.part");
        std::fs::write(&kept, b"kept").expect("write");
        std::fs::write(&left, b"half").expect("write");
        assert_eq!(sweep_unfinished(dir.path()), 1);
        assert!(kept.exists() && !left.exists());

        let dropped = folder(dir.path()).join("89.part");
        std::fs::write(&dropped, b"half").expect("write");
        drop(Unfinished(Some(dropped.clone())));
        assert!(!dropped.exists(), "a dropped upload removes its file");
    }
}
