//! The benchmark dataset, generated deterministically through the services (not with
//! SQL that could drift from the schema). Scale 1: 2,000 users, 100 subjects, 400
//! courses, 8,000 enrolments, 5,000 projects, each with 4 collaborators, 5 ratings,
//! 3 tags, 2 stages with 2 files, 1 or 2 courses and 3 deployments.

mod project;

use std::{collections::HashMap, sync::Arc, time::Instant};

use entities::{academic::course, users::user};
use futures_util::{StreamExt, TryStreamExt, stream};
use serde::Serialize;

use crate::{
    academic::{
        self,
        model::{NewCourse, NewSubject},
    },
    db::Databases,
    error::{ServiceError, cause_chain},
    projects::{self, files},
    state::AppState,
    users::{self, model::RoleName, viewer::Viewer},
};

/// What the load driver needs to vary its requests across the dataset.
#[derive(Serialize)]
pub struct Dataset {
    pub projects: (i32, i32),
    pub courses: (i32, i32),
    pub users: (i32, i32),
    /// Access tokens of students (readers).
    pub student_tokens: Vec<String>,
    /// Access tokens of teachers (they rate projects they are not members of).
    pub teacher_tokens: Vec<String>,
    /// The admin's access token (the isolation benchmark creates and deploys projects).
    pub admin_token: String,
}

struct Sizes {
    users: usize,
    teachers: usize,
    subjects: usize,
    courses: usize,
    per_course: usize,
    projects: usize,
}

impl Sizes {
    fn at(scale: f64) -> Sizes {
        let n = |base: f64| ((base * scale).round() as usize).max(1);
        Sizes {
            users: n(2000.0).max(40),
            teachers: n(20.0),
            subjects: n(100.0),
            courses: n(400.0),
            per_course: 20,
            projects: n(5000.0),
        }
    }
}

struct Chunk(Option<axum::body::Bytes>);

impl files::Chunks for Chunk {
    async fn next_chunk(&mut self) -> Result<Option<axum::body::Bytes>, String> {
        Ok(self.0.take())
    }
}

fn viewer(model: &user::Model, role: RoleName) -> Arc<Viewer> {
    Arc::new(Viewer {
        user: model.clone(),
        roles: vec![role],
    })
}

fn internal(error: impl std::fmt::Display) -> ServiceError {
    ServiceError::internal(anyhow::anyhow!("{error}"))
}

/// The users of the dataset: teachers first, then students; and one admin.
struct People {
    teachers: Vec<user::Model>,
    students: Vec<user::Model>,
    admin: user::Model,
}

async fn people(dbs: &Databases, sizes: &Sizes) -> Result<People, ServiceError> {
    let mut teachers = Vec::with_capacity(sizes.teachers);
    let mut students = Vec::with_capacity(sizes.users);
    for i in 0..sizes.users {
        let (role, email) = if i < sizes.teachers {
            (RoleName::Teacher, format!("teacher{i:04}@bench.edu"))
        } else {
            (RoleName::Student, format!("student{i:05}@bench.edu"))
        };
        let (model, _) = users::service::create_user(&dbs.users, &email, role).await?;
        if role == RoleName::Teacher {
            teachers.push(model)
        } else {
            students.push(model)
        }
    }
    let (admin, _) =
        users::service::create_user(&dbs.users, "admin@bench.edu", RoleName::Admin).await?;
    Ok(People {
        teachers,
        students,
        admin,
    })
}

/// Subjects and courses, in bulk.
async fn curriculum(
    dbs: &Databases,
    sizes: &Sizes,
    teachers: &[user::Model],
) -> Result<Vec<course::Model>, ServiceError> {
    let subjects: Vec<NewSubject> = (0..sizes.subjects)
        .map(|i| NewSubject {
            code: format!("BS{i:04}"),
            name: format!("Bench subject {i}"),
        })
        .collect();
    academic::service::create_subjects(&dbs.academic, subjects).await?;
    let mut courses = Vec::with_capacity(sizes.courses);
    let mut inputs = (0..sizes.courses)
        .map(|i| NewCourse {
            subject_code: format!("BS{:04}", i % sizes.subjects),
            teacher_id: Some(teachers[i % teachers.len()].id),
            teacher_email: None,
            group: format!("{}", i / sizes.subjects),
            year: Some(2026),
            period: Some(2),
        })
        .peekable();
    while inputs.peek().is_some() {
        let chunk: Vec<NewCourse> = inputs.by_ref().take(200).collect();
        courses.extend(academic::service::create_courses(&dbs.academic, &dbs.users, chunk).await?);
    }
    Ok(courses)
}

/// Enrolments: course c takes students c*20 .. c*20+19 (wrapping). The courses of each
/// student, by student id.
async fn enrol(
    dbs: &Databases,
    sizes: &Sizes,
    courses: &[course::Model],
    students: &[user::Model],
) -> Result<HashMap<i32, Vec<i32>>, ServiceError> {
    let mut enrolled: HashMap<i32, Vec<i32>> = HashMap::new();
    for (c, found) in courses.iter().enumerate() {
        let ids: Vec<String> = (0..sizes.per_course)
            .map(|k| {
                let student = &students[(c * sizes.per_course + k) % students.len()];
                enrolled.entry(student.id).or_default().push(found.id);
                student.id.to_string()
            })
            .collect();
        academic::service::enroll_students(&dbs.academic, &dbs.users, found.id, &ids, &[]).await?;
    }
    Ok(enrolled)
}

/// Fills the three (empty) databases; writes `bench-dataset.json` into the data folder.
pub async fn run(state: &AppState, scale: f64, concurrency: usize) -> Result<String, ServiceError> {
    let started = Instant::now();
    let sizes = Sizes::at(scale);
    let dbs = &state.databases;
    let before = dbs.statements();
    let people = people(dbs, &sizes).await?;
    let courses = curriculum(dbs, &sizes, &people.teachers).await?;
    let enrolled = enrol(dbs, &sizes, &courses, &people.students).await?;
    let tag_ids: Vec<i32> = projects::tags::list(&dbs.projects, None)
        .await?
        .iter()
        .map(|(t, _)| t.id)
        .collect();
    let data_dir = state.config.data_dir.clone();
    let created: Vec<i32> = stream::iter(0..sizes.projects)
        .map(|p| {
            let (students, enrolled, tag_ids) = (&people.students, &enrolled, &tag_ids);
            let data_dir = &data_dir;
            async move { project::create(state, data_dir, p, students, enrolled, tag_ids).await }
        })
        .buffered(concurrency.max(1))
        .try_collect()
        .await?;
    let dataset = dataset(state, &people, &courses, &created)?;
    // Bulk loading leaves the planner without statistics (and autovacuum may be off):
    // gather them now, as any operator would after a load.
    for conn in [&*dbs.users, &*dbs.academic, &*dbs.projects] {
        sea_orm::ConnectionTrait::execute_unprepared(conn, "ANALYZE")
            .await
            .map_err(internal)?;
    }
    let path = data_dir.join("bench-dataset.json");
    let json = serde_json::to_string_pretty(&dataset).map_err(internal)?;
    std::fs::write(&path, json).map_err(internal)?;
    let statements = dbs.statements() - before;
    Ok(format!(
        "seeded scale {scale}: {} users, {} subjects, {} courses, {} enrolments, {} projects in {:.1} s \
         ({} + {} + {} statements); dataset written to {}",
        sizes.users + 1,
        sizes.subjects,
        sizes.courses,
        sizes.courses * sizes.per_course,
        created.len(),
        started.elapsed().as_secs_f64(),
        statements.users,
        statements.academic,
        statements.projects,
        path.display()
    ))
}

/// What the load driver reads: id ranges and tokens of readers and raters.
fn dataset(
    state: &AppState,
    people: &People,
    courses: &[course::Model],
    created: &[i32],
) -> Result<Dataset, ServiceError> {
    let tokens = |users: &[user::Model], n: usize| -> Result<Vec<String>, ServiceError> {
        users
            .iter()
            .take(n)
            .map(|u| {
                state
                    .tokens
                    .access(u.id, u.token_version)
                    .map_err(|e| internal(cause_chain(&e)))
            })
            .collect()
    };
    let range = |ids: &mut dyn Iterator<Item = i32>| {
        let ids: Vec<i32> = ids.collect();
        (
            ids.iter().copied().min().unwrap_or(0),
            ids.iter().copied().max().unwrap_or(0),
        )
    };
    Ok(Dataset {
        projects: range(&mut created.iter().copied()),
        courses: range(&mut courses.iter().map(|c| c.id)),
        users: (people.teachers.first().map_or(0, |u| u.id), people.admin.id),
        student_tokens: tokens(&people.students, 500)?,
        teacher_tokens: tokens(&people.teachers, people.teachers.len())?,
        admin_token: tokens(std::slice::from_ref(&people.admin), 1)?.remove(0),
    })
}
