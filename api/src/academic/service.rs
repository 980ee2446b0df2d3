//! Rules and queries of the academic domain. Teacher and student ids point into the
//! users database: every write checks them there first.

use std::collections::{BTreeSet, HashMap};

use chrono::{Datelike, Utc};
use entities::{
    academic::{course, enrollment, subject},
    users::user,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
    sea_query::{Expr, ExprTrait, Func},
};

use super::types::{
    CourseFilter, CourseInput, EnrollmentStatus, SubjectInput, UpdateCourseInput,
    UpdateSubjectInput,
};
use crate::{
    db::{AcademicDb, UsersDb},
    error::ServiceError,
    graphql::pagination::{Page, like_pattern},
    users::{service as users, types::RoleName, viewer::Viewer},
};

/// Longest subject code.
pub const CODE_MAX: usize = 10;
/// Longest subject name.
pub const NAME_MAX: usize = 120;
/// Longest group name.
pub const GROUP_MAX: usize = 3;

fn check_code(code: &str) -> Result<String, ServiceError> {
    let code = code.trim().to_uppercase();
    if code.is_empty() || code.chars().count() > CODE_MAX {
        return Err(ServiceError::invalid(
            "code",
            format!("must be 1 to {CODE_MAX} characters"),
        ));
    }
    Ok(code)
}

fn check_subject_name(name: &str) -> Result<String, ServiceError> {
    let name = name.trim().to_owned();
    if name.is_empty() || name.chars().count() > NAME_MAX {
        return Err(ServiceError::invalid(
            "name",
            format!("must be 1 to {NAME_MAX} characters"),
        ));
    }
    Ok(name)
}

fn check_group(group: &str) -> Result<String, ServiceError> {
    let group = group.trim().to_uppercase();
    if group.is_empty() || group.chars().count() > GROUP_MAX {
        return Err(ServiceError::invalid(
            "group",
            format!("must be 1 to {GROUP_MAX} characters"),
        ));
    }
    Ok(group)
}

fn check_year(year: i32) -> Result<i32, ServiceError> {
    if !(1000..=9999).contains(&year) {
        return Err(ServiceError::invalid("year", "must have four digits"));
    }
    Ok(year)
}

fn check_period(period: i32) -> Result<i32, ServiceError> {
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

pub use crate::graphql::ids::parse_id;

/// The subject with this code (codes are unique), if any.
pub async fn subject_by_code(
    db: &AcademicDb,
    code: &str,
) -> Result<Option<subject::Model>, ServiceError> {
    let code = check_code(code)?;
    Ok(subject::Entity::find()
        .filter(subject::Column::Code.eq(code))
        .one(&**db)
        .await?)
}

pub async fn subject(db: &AcademicDb, id: i32) -> Result<Option<subject::Model>, ServiceError> {
    Ok(subject::Entity::find_by_id(id).one(&**db).await?)
}

/// A page of subjects by id, optionally those whose code or name holds `search`.
pub async fn subjects_page(
    db: &AcademicDb,
    search: Option<&str>,
    page: &Page,
) -> Result<(Vec<subject::Model>, u64), ServiceError> {
    let mut condition = Condition::all();
    if let Some(search) = search.map(str::trim).filter(|s| !s.is_empty()) {
        let pattern = like_pattern(search);
        condition = condition.add(
            Condition::any()
                .add(
                    Expr::expr(Func::lower(Expr::col(subject::Column::Code))).like(pattern.clone()),
                )
                .add(
                    Expr::expr(Func::lower(Expr::col(subject::Column::Name))).like(pattern.clone()),
                ),
        );
    }
    let total = subject::Entity::find()
        .filter(condition.clone())
        .count(&**db)
        .await?;
    let mut query = subject::Entity::find().filter(condition);
    if let Some(after) = page.after {
        query = query.filter(subject::Column::Id.gt(after));
    }
    let rows = query
        .order_by_asc(subject::Column::Id)
        .limit(page.first + 1)
        .all(&**db)
        .await?;
    Ok((rows, total))
}

/// Creates every subject or none; duplicate codes (in the list or already stored) are
/// named.
pub async fn create_subjects(
    db: &AcademicDb,
    inputs: Vec<SubjectInput>,
) -> Result<Vec<subject::Model>, ServiceError> {
    if inputs.is_empty() {
        return Err(ServiceError::invalid(
            "subjects",
            "give at least one subject",
        ));
    }
    let mut seen = BTreeSet::new();
    let mut repeated = BTreeSet::new();
    let mut rows = Vec::with_capacity(inputs.len());
    for input in inputs {
        let code = check_code(&input.code)?;
        let name = check_subject_name(&input.name)?;
        if !seen.insert(code.clone()) {
            repeated.insert(code.clone());
        }
        rows.push((code, name));
    }
    if !repeated.is_empty() {
        return Err(ServiceError::conflict(
            "code",
            format!("repeated in the list: {}", join(&repeated)),
        ));
    }
    let txn = db.begin_write().await?;
    let existing: BTreeSet<String> = subject::Entity::find()
        .filter(subject::Column::Code.is_in(seen.iter().cloned()))
        .all(&txn)
        .await?
        .into_iter()
        .map(|s| s.code)
        .collect();
    if !existing.is_empty() {
        return Err(ServiceError::conflict(
            "code",
            format!("already exist: {}", join(&existing)),
        ));
    }
    let mut created = Vec::with_capacity(rows.len());
    for (code, name) in rows {
        created.push(
            subject::ActiveModel {
                code: Set(code),
                name: Set(name),
                ..Default::default()
            }
            .insert(&txn)
            .await?,
        );
    }
    txn.commit().await?;
    Ok(created)
}

fn join(items: &BTreeSet<String>) -> String {
    items.iter().cloned().collect::<Vec<_>>().join(", ")
}

pub async fn update_subject(
    db: &AcademicDb,
    id: i32,
    input: UpdateSubjectInput,
) -> Result<subject::Model, ServiceError> {
    let found = subject::Entity::find_by_id(id)
        .one(&**db)
        .await?
        .ok_or(ServiceError::NotFound("subject"))?;
    let mut model: subject::ActiveModel = found.into();
    if let Some(code) = input.code {
        model.code = Set(check_code(&code)?);
    }
    if let Some(name) = input.name {
        model.name = Set(check_subject_name(&name)?);
    }
    Ok(model.update(&**db).await?)
}

/// Deletes a subject no course uses.
pub async fn delete_subject(db: &AcademicDb, id: i32) -> Result<(), ServiceError> {
    let txn = db.begin_write().await?;
    subject::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound("subject"))?;
    let courses = course::Entity::find()
        .filter(course::Column::SubjectId.eq(id))
        .count(&txn)
        .await?;
    if courses > 0 {
        return Err(ServiceError::conflict(
            "subject",
            format!("{courses} course(s) use it"),
        ));
    }
    subject::Entity::delete_by_id(id).exec(&txn).await?;
    txn.commit().await?;
    Ok(())
}

/// A page of courses by id, filtered.
pub async fn courses_page(
    db: &AcademicDb,
    filter: &CourseFilter,
    page: &Page,
) -> Result<(Vec<(course::Model, Option<subject::Model>)>, u64), ServiceError> {
    let mut condition = Condition::all();
    if let Some(subject_id) = &filter.subject_id {
        condition = condition.add(course::Column::SubjectId.eq(parse_id(subject_id, "subjectId")?));
    }
    if let Some(year) = filter.year {
        condition = condition.add(course::Column::Year.eq(year));
    }
    if let Some(period) = filter.period {
        condition = condition.add(course::Column::Period.eq(period));
    }
    if let Some(teacher_id) = &filter.teacher_id {
        condition = condition.add(course::Column::TeacherId.eq(parse_id(teacher_id, "teacherId")?));
    }
    let total = course::Entity::find()
        .filter(condition.clone())
        .count(&**db)
        .await?;
    let mut query = course::Entity::find().filter(condition);
    if let Some(after) = page.after {
        query = query.filter(course::Column::Id.gt(after));
    }
    // Each course with its subject (one joined statement instead of a second batch).
    let rows = query
        .order_by_asc(course::Column::Id)
        .limit(page.first + 1)
        .find_also_related(subject::Entity)
        .all(&**db)
        .await?;
    Ok((rows, total))
}

pub async fn course(db: &AcademicDb, id: i32) -> Result<Option<course::Model>, ServiceError> {
    Ok(course::Entity::find_by_id(id).one(&**db).await?)
}

/// The courses a teacher teaches, newest term first.
pub async fn courses_taught_by(
    db: &AcademicDb,
    teacher_id: i32,
) -> Result<Vec<course::Model>, ServiceError> {
    Ok(course::Entity::find()
        .filter(course::Column::TeacherId.eq(teacher_id))
        .order_by_desc(course::Column::Year)
        .order_by_desc(course::Column::Period)
        .order_by_asc(course::Column::Id)
        .all(&**db)
        .await?)
}

/// A student's enrolments.
pub async fn enrollments_of(
    db: &AcademicDb,
    student_id: i32,
) -> Result<Vec<enrollment::Model>, ServiceError> {
    Ok(enrollment::Entity::find()
        .filter(enrollment::Column::StudentId.eq(student_id))
        .order_by_asc(enrollment::Column::Id)
        .all(&**db)
        .await?)
}

/// How a course input names its teacher.
enum TeacherRef {
    Id(i32),
    Email(String),
}

fn teacher_ref(
    id: Option<&async_graphql::ID>,
    email: Option<&str>,
) -> Result<Option<TeacherRef>, ServiceError> {
    match (id, email) {
        (Some(_), Some(_)) => Err(ServiceError::invalid(
            "teacherId",
            "give teacherId or teacherEmail, not both",
        )),
        (Some(id), None) => Ok(Some(TeacherRef::Id(parse_id(id, "teacherId")?))),
        (None, Some(email)) => Ok(Some(TeacherRef::Email(users::normalize_email(email)))),
        (None, None) => Ok(None),
    }
}

/// Resolves teacher references in two queries (by id, by email) and checks each is an
/// active TEACHER.
async fn resolve_teachers(
    users_db: &UsersDb,
    refs: &[&TeacherRef],
) -> Result<Vec<i32>, ServiceError> {
    let ids: Vec<i32> = refs
        .iter()
        .filter_map(|r| {
            if let TeacherRef::Id(id) = r {
                Some(*id)
            } else {
                None
            }
        })
        .collect();
    let emails: Vec<String> = refs
        .iter()
        .filter_map(|r| {
            if let TeacherRef::Email(e) = r {
                Some(e.clone())
            } else {
                None
            }
        })
        .collect();
    let by_id = users::existing_ids(users_db, &ids).await?;
    let (by_email, _) = if emails.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        users::users_by_emails(users_db, &emails).await?
    };
    let by_email: HashMap<&str, &user::Model> =
        by_email.iter().map(|u| (u.email.as_str(), u)).collect();
    let found: Vec<&user::Model> = refs
        .iter()
        .map(|r| match r {
            TeacherRef::Id(id) => by_id
                .get(id)
                .ok_or_else(|| ServiceError::invalid("teacherId", format!("no user has id {id}"))),
            TeacherRef::Email(email) => by_email.get(email.as_str()).copied().ok_or_else(|| {
                ServiceError::invalid("teacherEmail", format!("no user has email {email}"))
            }),
        })
        .collect::<Result<_, _>>()?;
    let teacher_ids: BTreeSet<i32> = found.iter().map(|u| u.id).collect();
    let teachers = users::holders_of(
        users_db,
        RoleName::Teacher,
        &teacher_ids.iter().copied().collect::<Vec<_>>(),
    )
    .await?;
    for user in &found {
        if !teachers.contains(&user.id) || !user.is_active {
            return Err(ServiceError::invalid(
                "teacherId",
                format!("{} is not an active teacher", user.email),
            ));
        }
    }
    Ok(found.iter().map(|u| u.id).collect())
}

/// Creates every course or none. Subjects are named by code; year and period default to
/// the current term; a duplicate (subject, year, period, group) rejects the whole list.
pub async fn create_courses(
    academic: &AcademicDb,
    users_db: &UsersDb,
    inputs: Vec<CourseInput>,
) -> Result<Vec<course::Model>, ServiceError> {
    if inputs.is_empty() {
        return Err(ServiceError::invalid("courses", "give at least one course"));
    }
    let (current_year, current_period) = current_term();
    let mut refs = Vec::with_capacity(inputs.len());
    let mut rows = Vec::with_capacity(inputs.len());
    for input in &inputs {
        let teacher = teacher_ref(input.teacher_id.as_ref(), input.teacher_email.as_deref())?
            .ok_or_else(|| ServiceError::invalid("teacherId", "give teacherId or teacherEmail"))?;
        refs.push(teacher);
        rows.push((
            check_code(&input.subject_code)?,
            check_group(&input.group)?,
            check_year(input.year.unwrap_or(current_year))?,
            check_period(input.period.unwrap_or(current_period))?,
        ));
    }
    let teacher_ids = resolve_teachers(users_db, &refs.iter().collect::<Vec<_>>()).await?;
    let codes: BTreeSet<String> = rows.iter().map(|r| r.0.clone()).collect();
    let subjects: HashMap<String, i32> = subject::Entity::find()
        .filter(subject::Column::Code.is_in(codes.iter().cloned()))
        .all(&**academic)
        .await?
        .into_iter()
        .map(|s| (s.code, s.id))
        .collect();
    let unknown: BTreeSet<String> = codes
        .into_iter()
        .filter(|c| !subjects.contains_key(c))
        .collect();
    if !unknown.is_empty() {
        return Err(ServiceError::invalid(
            "subjectCode",
            format!("no subject has code {}", join(&unknown)),
        ));
    }
    let mut seen = BTreeSet::new();
    let mut models = Vec::with_capacity(rows.len());
    for ((code, group, year, period), teacher_id) in rows.into_iter().zip(teacher_ids) {
        let subject_id = subjects[&code];
        if !seen.insert((subject_id, year, period, group.clone())) {
            return Err(ServiceError::conflict(
                "group",
                format!("{code} {year}-{period} group {group} appears twice in the list"),
            ));
        }
        models.push(course::ActiveModel {
            subject_id: Set(subject_id),
            year: Set(year),
            period: Set(period),
            group_name: Set(group),
            teacher_id: Set(teacher_id),
            ..Default::default()
        });
    }
    let txn = academic.begin_write().await?;
    let mut created = Vec::with_capacity(models.len());
    for model in models {
        created.push(model.insert(&txn).await.map_err(ServiceError::conflict_as(
            "group",
            "a course with this subject, year, period and group exists already",
        ))?);
    }
    txn.commit().await?;
    Ok(created)
}

pub async fn update_course(
    academic: &AcademicDb,
    users_db: &UsersDb,
    id: i32,
    input: UpdateCourseInput,
) -> Result<course::Model, ServiceError> {
    let found = course::Entity::find_by_id(id)
        .one(&**academic)
        .await?
        .ok_or(ServiceError::NotFound("course"))?;
    let mut model: course::ActiveModel = found.into();
    if let Some(teacher) = teacher_ref(input.teacher_id.as_ref(), input.teacher_email.as_deref())? {
        let ids = resolve_teachers(users_db, &[&teacher]).await?;
        model.teacher_id = Set(ids[0]);
    }
    if let Some(group) = input.group {
        model.group_name = Set(check_group(&group)?);
    }
    if let Some(year) = input.year {
        model.year = Set(check_year(year)?);
    }
    if let Some(period) = input.period {
        model.period = Set(check_period(period)?);
    }
    model
        .update(&**academic)
        .await
        .map_err(ServiceError::conflict_as(
            "group",
            "a course with this subject, year, period and group exists already",
        ))
}

/// Deletes a course and its enrolments.
/// Deletes a course and its enrolments, unless projects are built for it: `CONFLICT`
/// saying how many (`linked_projects`, read from the projects database) so they are
/// unlinked first and no project points to a course that is gone.
pub async fn delete_course(
    academic: &AcademicDb,
    id: i32,
    linked_projects: u64,
) -> Result<(), ServiceError> {
    course::Entity::find_by_id(id)
        .one(&**academic)
        .await?
        .ok_or(ServiceError::NotFound("course"))?;
    if linked_projects > 0 {
        let noun = if linked_projects == 1 {
            "project is"
        } else {
            "projects are"
        };
        return Err(ServiceError::conflict(
            "id",
            format!("{linked_projects} {noun} built for this course; unlink them first"),
        ));
    }
    let result = course::Entity::delete_by_id(id).exec(&**academic).await?;
    if result.rows_affected == 0 {
        return Err(ServiceError::NotFound("course"));
    }
    Ok(())
}

/// The course's teacher, admin and support may manage its enrolments.
pub async fn may_manage(
    academic: &AcademicDb,
    viewer: &Viewer,
    course_id: i32,
) -> Result<course::Model, ServiceError> {
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

/// One requested entry of `enrollStudents`, and what became of it.
pub struct EntryOutcome {
    pub entry: String,
    pub status: EnrollmentStatus,
    pub user: Option<user::Model>,
}

/// Enrols the users named by id or email; reports each entry. Unknown users are
/// reported and skipped; the others go in.
pub async fn enroll_students(
    academic: &AcademicDb,
    users_db: &UsersDb,
    course_id: i32,
    user_ids: &[async_graphql::ID],
    emails: &[String],
) -> Result<Vec<EntryOutcome>, ServiceError> {
    if user_ids.is_empty() && emails.is_empty() {
        return Err(ServiceError::invalid("userIds", "give userIds or emails"));
    }
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
        entries.push((
            id.to_string(),
            id.parse::<i32>()
                .ok()
                .and_then(|id| by_id.get(&id).cloned()),
        ));
    }
    for email in emails {
        entries.push((
            email.clone(),
            by_email.get(&users::normalize_email(email)).cloned(),
        ));
    }
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
