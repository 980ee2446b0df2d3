//! Input checks: names, slugs, repositories, ports, paths, descriptions.

use super::*;

pub(super) fn check_name(name: &str) -> Result<String, ServiceError> {
    let name = name.trim().to_owned();
    if !(5..=255).contains(&name.chars().count()) {
        return Err(ServiceError::invalid("name", "must be 5 to 255 characters"));
    }
    Ok(name)
}

pub fn check_slug(slug: &str) -> Result<String, ServiceError> {
    let slug = slug.trim();
    let valid = (5..=30).contains(&slug.len())
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        return Err(ServiceError::invalid(
            "slug",
            "must be 5 to 30 characters of a-z, 0-9 and -",
        ));
    }
    Ok(slug.to_owned())
}

pub(super) fn check_repository(url: &str, allow_local: bool) -> Result<String, ServiceError> {
    let url = url.trim();
    let invalid = || {
        Err(ServiceError::invalid(
            "repositoryUrl",
            "must be an http(s) or ssh git URL (for example https://github.com/user/repo.git or git@host:user/repo.git)",
        ))
    };
    if url.is_empty() || url.len() > 2048 || url.chars().any(char::is_whitespace) {
        return invalid();
    }
    if let Ok(parsed) = url::Url::parse(url) {
        let web = matches!(parsed.scheme(), "http" | "https");
        if parsed.password().is_some() || (web && !parsed.username().is_empty()) {
            return Err(ServiceError::invalid(
                "repositoryUrl",
                "must not carry credentials: a password or token in the URL would be shown to \
                 every signed-in user and written to logs (use the URL without them)",
            ));
        }
        let has_path = !parsed.path().trim_matches('/').is_empty();
        return match parsed.scheme() {
            "http" | "https" | "ssh" | "git" if parsed.host().is_some() && has_path => {
                Ok(url.to_owned())
            }
            "file" if allow_local => Ok(url.to_owned()),
            _ => invalid(),
        };
    }
    // scp-like ssh syntax: user@host:path
    if let Some((user_host, path)) = url.split_once(':')
        && let Some((user, host)) = user_host.split_once('@')
        && !user.is_empty()
        && !host.is_empty()
        && !path.is_empty()
        && !path.starts_with('/')
    {
        return Ok(url.to_owned());
    }
    if allow_local && url.starts_with('/') {
        return Ok(url.to_owned());
    }
    invalid()
}

pub(super) fn check_port(port: i32) -> Result<i32, ServiceError> {
    if !(1..=65535).contains(&port) {
        return Err(ServiceError::invalid("containerPort", "must be 1 to 65535"));
    }
    Ok(port)
}

pub(super) fn check_static_path(path: Option<String>) -> Result<Option<String>, ServiceError> {
    let Some(path) = path
        .map(|p| p.trim().trim_matches('/').to_owned())
        .filter(|p| !p.is_empty())
    else {
        return Ok(None);
    };
    if path.len() > 255
        || path.split('/').any(|part| part == ".." || part.is_empty())
        || path.contains('\\')
    {
        return Err(ServiceError::invalid(
            "staticPath",
            "must be a relative folder of the repository",
        ));
    }
    Ok(Some(path))
}

pub(super) fn check_description(text: Option<String>) -> Result<String, ServiceError> {
    let text = text.unwrap_or_default();
    if text.chars().count() > 10_000 {
        return Err(ServiceError::invalid(
            "description",
            "must be at most 10000 characters",
        ));
    }
    Ok(text)
}

pub fn check_variable_name(name: &str) -> Result<String, ServiceError> {
    let valid = (1..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err(ServiceError::invalid(
            "name",
            "must be 1 to 64 characters matching [A-Z_][A-Z0-9_]*",
        ));
    }
    Ok(name.to_owned())
}

pub(super) fn check_stage_name(name: &str) -> Result<String, ServiceError> {
    let name = name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ServiceError::invalid("name", "must be 1 to 100 characters"));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_urls_with_credentials_are_refused() {
        for url in [
            "https://student:hunter2@git.example.edu/a/b.git",
            "https://ghp_token@github.com/a/b.git",
            "ssh://git:secret@git.example.edu/a/b.git",
        ] {
            assert!(check_repository(url, false).is_err(), "{url}");
        }
        for url in [
            "https://github.com/a/b.git",
            "ssh://git@git.example.edu/a/b.git",
            "git@github.com:a/b.git",
        ] {
            assert!(check_repository(url, false).is_ok(), "{url}");
        }
    }
}
