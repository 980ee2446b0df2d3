//! Subjects: read one or a page, create in bulk, update, delete.

use super::*;

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
    inputs: Vec<NewSubject>,
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

pub(super) fn join(items: &BTreeSet<String>) -> String {
    items.iter().cloned().collect::<Vec<_>>().join(", ")
}

pub async fn update_subject(
    db: &AcademicDb,
    id: i32,
    input: SubjectPatch,
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
