//! Courses: read, create in bulk (teachers checked in the users database), update, delete.

use super::*;

/// A page of courses by id, filtered.
pub async fn courses_page(
    db: &AcademicDb,
    filter: &CourseQuery,
    page: &Page,
) -> Result<(Vec<(course::Model, Option<subject::Model>)>, u64), ServiceError> {
    let mut condition = Condition::all();
    if let Some(subject_id) = filter.subject_id {
        condition = condition.add(course::Column::SubjectId.eq(subject_id));
    }
    if let Some(year) = filter.year {
        condition = condition.add(course::Column::Year.eq(year));
    }
    if let Some(period) = filter.period {
        condition = condition.add(course::Column::Period.eq(period));
    }
    if let Some(teacher_id) = filter.teacher_id {
        condition = condition.add(course::Column::TeacherId.eq(teacher_id));
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

/// The courses with these ids that exist, by id.
pub async fn courses_by_id(
    db: &AcademicDb,
    ids: &[i32],
) -> Result<HashMap<i32, course::Model>, ServiceError> {
    Ok(course::Entity::find()
        .filter(course::Column::Id.is_in(ids.iter().copied()))
        .all(&**db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect())
}

/// The courses with these ids that exist, each with its subject (one joined
/// statement; none when `ids` is empty), by id.
pub async fn courses_with_subject(
    db: &AcademicDb,
    ids: &[i32],
) -> Result<HashMap<i32, (course::Model, Option<subject::Model>)>, ServiceError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(course::Entity::find()
        .filter(db.any_of(course::Column::Id, ids.iter().copied()))
        .find_also_related(subject::Entity)
        .all(&**db)
        .await?
        .into_iter()
        .map(|(c, s)| (c.id, (c, s)))
        .collect())
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
pub(super) enum TeacherRef {
    Id(i32),
    Email(String),
}

pub(super) fn teacher_ref(
    id: Option<i32>,
    email: Option<&str>,
) -> Result<Option<TeacherRef>, ServiceError> {
    match (id, email) {
        (Some(_), Some(_)) => Err(ServiceError::invalid(
            "teacherId",
            "give teacherId or teacherEmail, not both",
        )),
        (Some(id), None) => Ok(Some(TeacherRef::Id(id))),
        (None, Some(email)) => Ok(Some(TeacherRef::Email(users::normalize_email(email)))),
        (None, None) => Ok(None),
    }
}

/// Resolves teacher references in two queries (by id, by email) and checks each is an
/// active TEACHER.
pub(super) async fn resolve_teachers(
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

/// The id of each subject code; `BAD_USER_INPUT` naming `subjectCode` when one names
/// no subject.
async fn subjects_by_code(
    academic: &AcademicDb,
    codes: BTreeSet<String>,
) -> Result<HashMap<String, i32>, ServiceError> {
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
    Ok(subjects)
}

/// Creates every course or none. Subjects are named by code; year and period default to
/// the current term; a duplicate (subject, year, period, group) rejects the whole list.
pub async fn create_courses(
    academic: &AcademicDb,
    users_db: &UsersDb,
    inputs: Vec<NewCourse>,
) -> Result<Vec<course::Model>, ServiceError> {
    if inputs.is_empty() {
        return Err(ServiceError::invalid("courses", "give at least one course"));
    }
    let (current_year, current_period) = current_term();
    let mut refs = Vec::with_capacity(inputs.len());
    let mut rows = Vec::with_capacity(inputs.len());
    for input in &inputs {
        let teacher = teacher_ref(input.teacher_id, input.teacher_email.as_deref())?
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
    let subjects = subjects_by_code(academic, rows.iter().map(|r| r.0.clone()).collect()).await?;
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
    input: CoursePatch,
) -> Result<course::Model, ServiceError> {
    let found = course::Entity::find_by_id(id)
        .one(&**academic)
        .await?
        .ok_or(ServiceError::NotFound("course"))?;
    let mut model: course::ActiveModel = found.into();
    if let Some(teacher) = teacher_ref(input.teacher_id, input.teacher_email.as_deref())? {
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
