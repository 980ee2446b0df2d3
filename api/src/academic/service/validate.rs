//! Input checks: codes, names, groups, years, periods; the current term.

use super::*;

/// Longest subject code.
pub const CODE_MAX: usize = 10;
/// Longest subject name.
pub const NAME_MAX: usize = 120;
/// Longest group name.
pub const GROUP_MAX: usize = 3;

pub(super) fn check_code(code: &str) -> Result<String, ServiceError> {
    let code = code.trim().to_uppercase();
    if code.is_empty() || code.chars().count() > CODE_MAX {
        return Err(ServiceError::invalid(
            "code",
            format!("must be 1 to {CODE_MAX} characters"),
        ));
    }
    Ok(code)
}

pub(super) fn check_subject_name(name: &str) -> Result<String, ServiceError> {
    let name = name.trim().to_owned();
    if name.is_empty() || name.chars().count() > NAME_MAX {
        return Err(ServiceError::invalid(
            "name",
            format!("must be 1 to {NAME_MAX} characters"),
        ));
    }
    Ok(name)
}

pub(super) fn check_group(group: &str) -> Result<String, ServiceError> {
    let group = group.trim().to_uppercase();
    if group.is_empty() || group.chars().count() > GROUP_MAX {
        return Err(ServiceError::invalid(
            "group",
            format!("must be 1 to {GROUP_MAX} characters"),
        ));
    }
    Ok(group)
}

pub(super) fn check_year(year: i32) -> Result<i32, ServiceError> {
    if !(1000..=9999).contains(&year) {
        return Err(ServiceError::invalid("year", "must have four digits"));
    }
    Ok(year)
}

pub(super) fn check_period(period: i32) -> Result<i32, ServiceError> {
    if period != 1 && period != 2 {
        return Err(ServiceError::invalid("period", "must be 1 or 2"));
    }
    Ok(period)
}

/// The current year and period: period 1 before June, else 2.
pub fn current_term() -> (i32, i32) {
    let today = Utc::now().date_naive();
    (today.year(), if today.month() < 6 { 1 } else { 2 })
}
