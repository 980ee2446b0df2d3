//! An app's published static files, served from the root-owned copy the publish step
//! made: each request path opened beneath that folder with no symlink followed
//! (`deploy::sandbox::beneath`), a folder answered by its `index.html`, conditional
//! requests by `Last-Modified`, bodies streamed.

use std::{path::Path, time::SystemTime};

use axum::{
    body::Body,
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
};
use deploy::sandbox::beneath;

/// What the static folder has for a request.
pub enum Found {
    /// The file's answer (200, 304).
    File(Response),
    /// `/dir` names a folder: `/dir/` is where its index lives.
    Folder,
    Missing,
}

/// The path's segments, percent-decoded; `None` for one that climbs or hides bytes a
/// file name cannot hold.
fn segments(path: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for raw in path.split('/') {
        let decoded = percent_encoding::percent_decode_str(raw)
            .decode_utf8()
            .ok()?
            .into_owned();
        match decoded.as_str() {
            "" | "." => {}
            ".." => return None,
            name if name.contains(['/', '\0', '\\']) => return None,
            name => out.push(name.to_owned()),
        }
    }
    Some(out)
}

/// Looks `path` up beneath `dir` (blocking: call it off the async threads).
pub fn find(dir: &Path, method: &Method, headers: &HeaderMap, path: &str) -> Found {
    let Some(parts) = segments(path) else {
        return Found::Missing;
    };
    let Ok(root) = beneath::open_root(dir) else {
        return Found::Missing;
    };
    let relative: std::path::PathBuf = parts.iter().collect();
    let Ok(mut file) = beneath::open(&root, &relative) else {
        return Found::Missing;
    };
    let Ok(mut meta) = file.metadata() else {
        return Found::Missing;
    };
    let mut name = relative.clone();
    if meta.is_dir() {
        if !path.ends_with('/') {
            return Found::Folder;
        }
        name = relative.join("index.html");
        let Ok(index) = beneath::open(&root, &name) else {
            return Found::Missing;
        };
        file = index;
        match file.metadata() {
            Ok(m) => meta = m,
            Err(_) => return Found::Missing,
        }
    }
    if !meta.is_file() {
        return Found::Missing;
    }
    Found::File(respond(file, &meta, &name, method, headers))
}

/// The answer for an opened regular file: 304 when unchanged since the client's copy.
fn respond(
    file: std::fs::File,
    meta: &std::fs::Metadata,
    name: &Path,
    method: &Method,
    headers: &HeaderMap,
) -> Response {
    let modified = meta.modified().ok();
    if let (Some(modified), Some(since)) = (modified, if_modified_since(headers))
        && truncate(modified) <= since
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let mime = mime_guess::from_path(name).first_or_octet_stream();
    let mut response = if *method == Method::HEAD {
        Response::new(Body::empty())
    } else {
        let stream = tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file));
        Response::new(Body::from_stream(stream))
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(mime.as_ref()) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(meta.len()));
    if let Some(modified) = modified
        && let Ok(value) = HeaderValue::from_str(&httpdate::fmt_http_date(modified))
    {
        headers.insert(header::LAST_MODIFIED, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn if_modified_since(headers: &HeaderMap) -> Option<SystemTime> {
    let value = headers.get(header::IF_MODIFIED_SINCE)?.to_str().ok()?;
    httpdate::parse_http_date(value).ok()
}

/// HTTP dates have whole seconds.
fn truncate(time: SystemTime) -> SystemTime {
    let secs = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    fn site() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("a folder");
        std::fs::create_dir_all(dir.path().join("site/docs")).expect("folders");
        std::fs::write(dir.path().join("site/index.html"), "<h1>home</h1>").expect("file");
        std::fs::write(dir.path().join("site/docs/index.html"), "docs").expect("file");
        std::fs::write(dir.path().join("site/a b.css"), "b{}").expect("file");
        std::fs::write(dir.path().join("secret"), "s3cr3t").expect("file");
        symlink(dir.path().join("secret"), dir.path().join("site/leak")).expect("link");
        symlink(dir.path(), dir.path().join("site/up")).expect("link");
        dir
    }

    fn get(dir: &Path, path: &str) -> Found {
        find(&dir.join("site"), &Method::GET, &HeaderMap::new(), path)
    }

    #[test]
    fn files_folders_and_encoded_names_are_found() {
        let dir = site();
        let Found::File(root) = get(dir.path(), "/") else {
            panic!("the root's index");
        };
        assert_eq!(root.headers()[header::CONTENT_TYPE], "text/html");
        assert!(matches!(get(dir.path(), "/docs/"), Found::File(_)));
        assert!(matches!(get(dir.path(), "/docs"), Found::Folder));
        let Found::File(css) = get(dir.path(), "/a%20b.css") else {
            panic!("an encoded name");
        };
        assert_eq!(css.headers()[header::CONTENT_TYPE], "text/css");
        assert_eq!(css.headers()[header::CONTENT_LENGTH], "3");
    }

    #[test]
    fn no_symlink_and_no_climb_is_ever_served() {
        let dir = site();
        for path in [
            "/leak",
            "/up/secret",
            "/../secret",
            "/%2e%2e/secret",
            "/docs/..%2f..%2fsecret",
            "/nothing",
        ] {
            assert!(matches!(get(dir.path(), path), Found::Missing), "{path}");
        }
    }

    #[test]
    fn an_unchanged_file_answers_304() {
        let dir = site();
        let mut headers = HeaderMap::new();
        let later = httpdate::fmt_http_date(SystemTime::now() + std::time::Duration::from_secs(60));
        headers.insert(
            header::IF_MODIFIED_SINCE,
            HeaderValue::from_str(&later).expect("a date"),
        );
        let Found::File(response) = find(&dir.path().join("site"), &Method::GET, &headers, "/")
        else {
            panic!("found");
        };
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    }
}
