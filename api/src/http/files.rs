//! Files travel outside GraphQL: `POST /files` (multipart, signed in) stores one and
//! answers its id; `GET /files/{id}` serves it to whoever may see it.

use std::sync::Arc;

use axum::{
    Json,
    extract::{Multipart, Path, State, multipart::Field},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use entities::projects::file;
use migration::Domain;
use sea_orm::EntityTrait;
use serde_json::json;

use super::HttpState;
use crate::{
    error::{Code, ServiceError, cause_chain},
    projects::files::{self, Chunks, UploadError, Visibility},
    users::{
        model::RoleName,
        viewer::{self, Credentials, Viewer},
    },
};

fn refusal(status: StatusCode, code: Code, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({ "error": { "message": message.into(), "code": code.as_str() } })),
    )
        .into_response()
}

fn service_refusal(state: &HttpState, error: ServiceError) -> Response {
    if let Some(exposed) = error.exposed() {
        return refusal(exposed.status, exposed.code, exposed.message);
    }
    let detail = cause_chain(&error);
    tracing::error!(%detail, "internal error in a file route");
    let databases = state.state.databases.clone();
    tokio::spawn(async move {
        if let Err(error) = databases
            .record_error(Domain::Projects, "file route".into(), detail)
            .await
        {
            tracing::error!(%error, "could not record an internal error");
        }
    });
    refusal(
        StatusCode::INTERNAL_SERVER_ERROR,
        Code::InternalServerError,
        "internal server error",
    )
}

async fn viewer_of(
    state: &HttpState,
    headers: &HeaderMap,
) -> Result<Option<Arc<Viewer>>, ServiceError> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let credentials =
        Credentials::from_authorization(authorization).map_err(ServiceError::Unauthenticated)?;
    viewer::from_credentials(&state.state, &credentials).await
}

struct FieldChunks<'a, 'b>(&'a mut Field<'b>);

impl Chunks for FieldChunks<'_, '_> {
    async fn next_chunk(&mut self) -> Result<Option<axum::body::Bytes>, String> {
        self.0.chunk().await.map_err(|e| e.body_text())
    }
}

/// The signed-in viewer, or the response that refuses the request.
async fn signed_in(http: &HttpState, headers: &HeaderMap) -> Result<Arc<Viewer>, Response> {
    match viewer_of(http, headers).await {
        Ok(Some(viewer)) => Ok(viewer),
        Ok(None) => Err(refusal(
            StatusCode::UNAUTHORIZED,
            Code::Unauthenticated,
            "sign in first",
        )),
        Err(error) => Err(service_refusal(http, error)),
    }
}

/// The field's declared type (lower case), if the configuration allows it; else why not.
fn allowed_type(http: &HttpState, field: &Field<'_>) -> Result<String, String> {
    let allowed = &http.state.config.files_allowed_types;
    let content_type = field
        .content_type()
        .unwrap_or("application/octet-stream")
        .to_ascii_lowercase();
    if allowed
        .iter()
        .any(|a| a.eq_ignore_ascii_case(&content_type))
    {
        return Ok(content_type);
    }
    Err(format!(
        "{content_type} is not allowed; allowed: {}",
        allowed.join(", ")
    ))
}

/// `201` with the stored file, or the refusal its error calls for.
fn stored_response(http: &HttpState, stored: Result<file::Model, UploadError>) -> Response {
    match stored {
        Ok(stored) => (
            StatusCode::CREATED,
            Json(json!({
                "id": stored.id.to_string(),
                "name": stored.original_name,
                "contentType": stored.content_type,
                "size": stored.size,
                "url": format!("/files/{}", stored.id),
            })),
        )
            .into_response(),
        Err(UploadError::TooLarge(max)) => refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            Code::BadRequest,
            format!("files may be at most {max} bytes"),
        ),
        Err(error @ UploadError::NotDeclaredType(_)) => refusal(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Code::BadUserInput,
            format!("{error}: its first bytes say otherwise"),
        ),
        Err(UploadError::Invalid(reason)) => {
            refusal(StatusCode::BAD_REQUEST, Code::BadRequest, reason)
        }
        Err(error @ UploadError::Storage(_)) => {
            service_refusal(http, ServiceError::internal(error))
        }
        Err(UploadError::Service(error)) => service_refusal(http, error),
    }
}

/// `POST /files`: one multipart field named `file`; answers `201` with the file's id.
pub async fn upload(
    State(http): State<HttpState>,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Response {
    let viewer = match signed_in(&http, &headers).await {
        Ok(viewer) => viewer,
        Err(refused) => return refused,
    };
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => {
                return refusal(
                    StatusCode::BAD_REQUEST,
                    Code::BadRequest,
                    "send the file in a multipart field named `file`",
                );
            }
            Err(error) => return refusal(error.status(), Code::BadRequest, error.body_text()),
        };
        if field.name() == Some("file") {
            return store(&http, &viewer, field).await;
        }
    }
}

/// Stores the `file` field, if its declared type is allowed.
async fn store(http: &HttpState, viewer: &Viewer, mut field: Field<'_>) -> Response {
    let content_type = match allowed_type(http, &field) {
        Ok(content_type) => content_type,
        Err(reason) => {
            return refusal(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Code::BadUserInput,
                reason,
            );
        }
    };
    let config = &http.state.config;
    let name = field.file_name().unwrap_or("upload").to_owned();
    let stored = files::store(
        &http.state.databases.projects,
        &config.data_dir,
        viewer.id(),
        &name,
        &content_type,
        config.files_max_bytes,
        &mut FieldChunks(&mut field),
    )
    .await;
    stored_response(http, stored)
}

/// `GET /files/{id}`: project images to anyone, stage files to signed-in users, other
/// files to their uploader (and admins).
pub async fn download(
    State(http): State<HttpState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<i32>() else {
        return refusal(StatusCode::NOT_FOUND, Code::NotFound, "file not found");
    };
    match readable(&http, &headers, id).await {
        Ok(found) => {
            match tokio::fs::read(files::path_of(&http.state.config.data_dir, &found.uuid)).await {
                Ok(bytes) => served(&found, bytes),
                Err(error) => service_refusal(
                    &http,
                    ServiceError::internal(anyhow::Error::new(error).context(format!("file {id}"))),
                ),
            }
        }
        Err(refused) => refused,
    }
}

/// The file, if the caller may read it.
async fn readable(http: &HttpState, headers: &HeaderMap, id: i32) -> Result<file::Model, Response> {
    let db = &http.state.databases.projects;
    let found = match file::Entity::find_by_id(id).one(&**db).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            return Err(refusal(
                StatusCode::NOT_FOUND,
                Code::NotFound,
                "file not found",
            ));
        }
        Err(error) => return Err(service_refusal(http, error.into())),
    };
    let visibility = files::visibility(db, &found)
        .await
        .map_err(|error| service_refusal(http, error))?;
    if matches!(visibility, Visibility::Public) {
        return Ok(found);
    }
    let viewer = signed_in(http, headers).await?;
    if let Visibility::Uploader(uploader) = visibility
        && uploader != viewer.id()
        && !viewer.has(RoleName::Admin)
    {
        return Err(refusal(
            StatusCode::FORBIDDEN,
            Code::Forbidden,
            "this file is not attached anywhere yet",
        ));
    }
    Ok(found)
}

/// The file's bytes with its type, a safe file name, and no sniffing.
fn served(found: &file::Model, bytes: Vec<u8>) -> Response {
    let disposition = if found.content_type.starts_with("image/") {
        "inline"
    } else {
        "attachment"
    };
    let safe_name: String = found
        .original_name
        .chars()
        .filter(|c| c.is_ascii_graphic() && *c != '"' || *c == ' ')
        .collect();
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&found.content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    if let Ok(value) = HeaderValue::from_str(&format!("{disposition}; filename=\"{safe_name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
