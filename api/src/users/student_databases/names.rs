//! Logins, passwords and database names: checked, quoted for each engine.

use super::*;

/// An identifier quoted for `engine`.
pub(super) fn quote(engine: DatabaseEngineName, identifier: &str) -> String {
    match engine {
        DatabaseEngineName::Postgresql => format!("\"{}\"", identifier.replace('"', "\"\"")),
        DatabaseEngineName::Mariadb => format!("`{}`", identifier.replace('`', "``")),
    }
}

/// A string literal; the password check already refused quotes and backslashes.
pub(super) fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// The login of a user: the local part of the email, lower-cased, anything outside
/// `[a-z0-9_]` replaced by `_`, starting with a letter, at most 32 characters.
pub fn login_for(email: &str) -> String {
    let local = email.split('@').next().unwrap_or_default().to_lowercase();
    let mut login: String = local
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !login.starts_with(|c: char| c.is_ascii_lowercase()) {
        login.insert_str(0, "s_");
    }
    login.truncate(32);
    login
}

/// 8 to 64 printable ASCII characters with a lower-case letter, an upper-case letter
/// and a digit; no quotes, backslashes or spaces.
pub fn check_password(password: &str) -> Result<(), ServiceError> {
    let invalid = |reason: &str| Err(ServiceError::invalid("password", reason));
    if !(8..=64).contains(&password.chars().count()) {
        return invalid("must be 8 to 64 characters");
    }
    if !password.chars().all(|c| c.is_ascii_graphic()) || password.contains(['\'', '"', '\\', '`'])
    {
        return invalid("may use printable ASCII characters except quotes, backslashes and spaces");
    }
    let has = |test: fn(&char) -> bool| password.chars().any(|c| test(&c));
    if !(has(char::is_ascii_lowercase)
        && has(char::is_ascii_uppercase)
        && has(char::is_ascii_digit))
    {
        return invalid("needs a lower-case letter, an upper-case letter and a digit");
    }
    Ok(())
}

/// 3 to 63 characters of `[a-z0-9_]`, starting with a letter, not a reserved name.
pub fn check_name(name: &str) -> Result<(), ServiceError> {
    let valid = (3..=63).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err(ServiceError::invalid(
            "name",
            "must be 3 to 63 characters of a-z, 0-9 and _, starting with a letter",
        ));
    }
    if RESERVED.contains(&name) || name.starts_with("students_project_") || name.starts_with("pg_")
    {
        return Err(ServiceError::invalid("name", "is reserved"));
    }
    Ok(())
}
