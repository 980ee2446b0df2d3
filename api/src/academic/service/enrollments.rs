//! Who manages a course's students, and enrolling and unenrolling them.

use super::*;

/// The course's teacher, admin and support may manage its enrolments.
pub async fn may_manage(
    academic: &AcademicDb,
    viewer: &Grant,
    course_id: i32,
) -> Result<course::Model, ServiceError> {
    if viewer.object != Object::CourseTeacherOrStaff {
        return Err(ServiceError::forbidden(
            "this operation has no rule for managing a course's students",
        ));
    }
    let found = course::Entity::find_by_id(course_id)
        .one(&**academic)
        .await?
        .ok_or(ServiceError::NotFound("course"))?;
    if viewer.is_staff() || found.teacher_id == viewer.id() {
        Ok(found)
    } else {
        Err(ServiceError::forbidden(
            "only the course's teacher, admin and support manage its students",
        ))
    }
}

/// Which of `course_ids` the student is enrolled in (read for other domains' checks).
pub async fn enrolled_in(
    academic: &AcademicDb,
    student_id: i32,
    course_ids: &[i32],
) -> Result<BTreeSet<i32>, ServiceError> {
    Ok(enrollment::Entity::find()
        .filter(enrollment::Column::StudentId.eq(student_id))
        .filter(enrollment::Column::CourseId.is_in(course_ids.iter().copied()))
        .all(&**academic)
        .await?
        .into_iter()
        .map(|e| e.course_id)
        .collect())
}

/// One requested entry of `enrollStudents`, and what became of it.
pub struct EntryOutcome {
    pub entry: String,
    pub status: EnrollmentStatus,
    pub user: Option<user::Model>,
}

/// Each entry as given (ids first, then emails) with the user it names, if any.
async fn entries(
    users_db: &UsersDb,
    user_ids: &[String],
    emails: &[String],
) -> Result<Vec<(String, Option<user::Model>)>, ServiceError> {
    let ids: Vec<i32> = user_ids.iter().filter_map(|id| id.parse().ok()).collect();
    let by_id = users::existing_ids(users_db, &ids).await?;
    let (found, _) = if emails.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        users::users_by_emails(users_db, emails).await?
    };
    let by_email: HashMap<String, user::Model> =
        found.into_iter().map(|u| (u.email.clone(), u)).collect();
    let mut entries: Vec<(String, Option<user::Model>)> = Vec::new();
    for id in user_ids {
        let user = id
            .parse::<i32>()
            .ok()
            .and_then(|id| by_id.get(&id).cloned());
        entries.push((id.to_string(), user));
    }
    for email in emails {
        let user = by_email.get(&users::normalize_email(email)).cloned();
        entries.push((email.clone(), user));
    }
    Ok(entries)
}

/// Enrols the users named by id or email; reports each entry. Unknown users are
/// reported and skipped; the others go in.
pub async fn enroll_students(
    academic: &AcademicDb,
    users_db: &UsersDb,
    course_id: i32,
    user_ids: &[String],
    emails: &[String],
) -> Result<Vec<EntryOutcome>, ServiceError> {
    if user_ids.is_empty() && emails.is_empty() {
        return Err(ServiceError::invalid("userIds", "give userIds or emails"));
    }
    let entries = entries(users_db, user_ids, emails).await?;
    let txn = academic.begin_write().await?;
    let already: BTreeSet<i32> = enrollment::Entity::find()
        .filter(enrollment::Column::CourseId.eq(course_id))
        .filter(
            enrollment::Column::StudentId
                .is_in(entries.iter().filter_map(|(_, u)| u.as_ref().map(|u| u.id))),
        )
        .all(&txn)
        .await?
        .into_iter()
        .map(|e| e.student_id)
        .collect();
    let mut enrolled_now = BTreeSet::new();
    let mut outcomes = Vec::with_capacity(entries.len());
    for (entry, user) in entries {
        let status = match &user {
            None => EnrollmentStatus::UnknownUser,
            Some(user) if already.contains(&user.id) || enrolled_now.contains(&user.id) => {
                EnrollmentStatus::AlreadyEnrolled
            }
            Some(user) => {
                enrollment::ActiveModel {
                    course_id: Set(course_id),
                    student_id: Set(user.id),
                    ..Default::default()
                }
                .insert(&txn)
                .await?;
                enrolled_now.insert(user.id);
                EnrollmentStatus::Enrolled
            }
        };
        outcomes.push(EntryOutcome {
            entry,
            status,
            user,
        });
    }
    txn.commit().await?;
    Ok(outcomes)
}

pub async fn unenroll_student(
    academic: &AcademicDb,
    course_id: i32,
    student_id: i32,
) -> Result<(), ServiceError> {
    let result = enrollment::Entity::delete_many()
        .filter(enrollment::Column::CourseId.eq(course_id))
        .filter(enrollment::Column::StudentId.eq(student_id))
        .exec(&**academic)
        .await?;
    if result.rows_affected == 0 {
        return Err(ServiceError::NotFound("enrollment"));
    }
    Ok(())
}
