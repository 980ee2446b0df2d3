//! The benchmark dataset, generated deterministically through the services (not with
//! SQL that could drift from the schema). Scale 1: 2,000 users, 100 subjects, 400
//! courses, 8,000 enrolments, 5,000 projects, each with 4 collaborators, 5 ratings,
//! 3 tags, 2 stages with 2 files, 1 or 2 courses and 3 deployments.

use std::{collections::HashMap, path::Path, sync::Arc, time::Instant};

use entities::{projects::enums::JobStatus, users::user};
use futures_util::{StreamExt, TryStreamExt, stream};
use serde::Serialize;

use crate::{
    academic::{
        self,
        model::{NewCourse, NewSubject},
    },
    authz::Grant,
    error::{ServiceError, cause_chain},
    projects::{
        self, files,
        model::{NewProject, NewStage},
    },
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

/// Fills the three (empty) databases; writes `bench-dataset.json` into the data folder.
pub async fn run(state: &AppState, scale: f64, concurrency: usize) -> Result<String, ServiceError> {
    let started = Instant::now();
    let sizes = Sizes::at(scale);
    let dbs = &state.databases;
    let before = dbs.statements();

    // Users: teachers first, then students.
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

    // Subjects and courses, in bulk.
    let subjects: Vec<NewSubject> = (0..sizes.subjects)
        .map(|i| NewSubject {
            code: format!("BS{i:04}"),
            name: format!("Bench subject {i}"),
        })
        .collect();
    academic::service::create_subjects(&dbs.academic, subjects).await?;
    let mut courses = Vec::with_capacity(sizes.courses);
    let inputs: Vec<NewCourse> = (0..sizes.courses)
        .map(|i| NewCourse {
            subject_code: format!("BS{:04}", i % sizes.subjects),
            teacher_id: Some(teachers[i % teachers.len()].id),
            teacher_email: None,
            group: format!("{}", i / sizes.subjects),
            year: Some(2026),
            period: Some(2),
        })
        .collect();
    let mut inputs = inputs.into_iter().peekable();
    while inputs.peek().is_some() {
        let chunk: Vec<NewCourse> = inputs.by_ref().take(200).collect();
        courses.extend(academic::service::create_courses(&dbs.academic, &dbs.users, chunk).await?);
    }

    // Enrolments: course c takes students c*20 .. c*20+19 (wrapping).
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

    let tag_ids: Vec<i32> = projects::tags::list(&dbs.projects, None)
        .await?
        .iter()
        .map(|(t, _)| t.id)
        .collect();
    let students = Arc::new(students);
    let enrolled = Arc::new(enrolled);
    let data_dir = state.config.data_dir.clone();
    let created: Vec<i32> = stream::iter(0..sizes.projects)
        .map(|p| {
            let students = students.clone();
            let enrolled = enrolled.clone();
            let tag_ids = tag_ids.clone();
            let data_dir = data_dir.clone();
            async move { project(state, &data_dir, p, &students, &enrolled, &tag_ids).await }
        })
        .buffered(concurrency.max(1))
        .try_collect()
        .await?;

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
    let dataset = Dataset {
        projects: (
            created.iter().copied().min().unwrap_or(0),
            created.iter().copied().max().unwrap_or(0),
        ),
        courses: (
            courses.first().map_or(0, |c| c.id),
            courses.last().map_or(0, |c| c.id),
        ),
        users: (teachers.first().map_or(0, |u| u.id), admin.id),
        student_tokens: tokens(&students, 500)?,
        teacher_tokens: tokens(&teachers, teachers.len())?,
    };
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

/// One project with its members, tags, stages and files, ratings and deployments.
async fn project(
    state: &AppState,
    data_dir: &Path,
    p: usize,
    students: &[user::Model],
    enrolled: &HashMap<i32, Vec<i32>>,
    tag_ids: &[i32],
) -> Result<i32, ServiceError> {
    let dbs = &state.databases;
    let n = students.len();
    let owner = &students[p % n];
    let owner_courses = enrolled.get(&owner.id).cloned().unwrap_or_default();
    let course_count = 1 + p % 2;
    let input = NewProject {
        name: format!("Bench project {p:05}"),
        slug: format!("bench-{p:05}"),
        repository_url: format!("https://git.bench.edu/team{p}/app.git"),
        container_port: 3000 + (p % 1000) as i32,
        static_path: p.is_multiple_of(3).then(|| "public".to_owned()),
        description: Some(format!("Project number {p} of the benchmark dataset.")),
        image_file_id: None,
        course_ids: owner_courses.iter().take(course_count).copied().collect(),
        tag_ids: (0..3)
            .map(|k| tag_ids[(p + k * 4) % tag_ids.len()])
            .collect(),
    };
    let owner_viewer = viewer(owner, RoleName::Student);
    let created =
        projects::service::create(&dbs.projects, &dbs.academic, &owner_viewer, input, false)
            .await?;
    let mut members: Vec<&user::Model> = Vec::with_capacity(4);
    for k in 1.. {
        let candidate = &students[(p + k * 97) % n];
        if candidate.id != owner.id && !members.iter().any(|m| m.id == candidate.id) {
            members.push(candidate);
        }
        if members.len() == 4 {
            break;
        }
    }
    for member in &members {
        projects::service::add_collaborator(
            &dbs.projects,
            &dbs.users,
            &Grant::as_operation(owner_viewer.clone(), "addCollaborator"),
            created.id,
            member.id,
        )
        .await?;
    }
    let mut raters = 0;
    for k in 0.. {
        let rater = &students[(p + 500 + k * 211) % n];
        if rater.id == owner.id || members.iter().any(|m| m.id == rater.id) {
            continue;
        }
        let stars = 1 + ((p + k) % 5) as i32;
        projects::service::rate(
            &dbs.projects,
            &Grant::as_operation(viewer(rater, RoleName::Student), "rateProject"),
            created.id,
            stars,
        )
        .await?;
        raters += 1;
        if raters == 5 {
            break;
        }
    }
    for s in 0..2 {
        let stage = projects::service::create_stage(
            &dbs.projects,
            &Grant::as_operation(owner_viewer.clone(), "createStage"),
            NewStage {
                project_id: created.id,
                name: format!("Stage {}", s + 1),
                description: Some("Planned work".into()),
                status: None,
            },
        )
        .await?;
        for f in 0..2 {
            let body = axum::body::Bytes::from(format!("notes {p}/{s}/{f}\n"));
            let stored = files::store(
                &dbs.projects,
                data_dir,
                owner.id,
                &format!("notes-{s}-{f}.txt"),
                "text/plain",
                1024,
                &mut Chunk(Some(body)),
            )
            .await
            .map_err(internal)?;
            projects::service::attach_file(
                &dbs.projects,
                &Grant::as_operation(owner_viewer.clone(), "attachStageFile"),
                stage.id,
                stored.id,
            )
            .await?;
        }
    }
    for (d, status) in [
        JobStatus::Succeeded,
        JobStatus::Failed,
        JobStatus::Succeeded,
    ]
    .into_iter()
    .enumerate()
    {
        let commit = Some(format!("{:07x}", (p * 3 + d) * 2_654_435_761 % 0xFFF_FFFF));
        deploy::queue::record(
            &dbs.projects,
            &deploy::Payload::of(&created),
            owner.id,
            status,
            commit,
        )
        .await
        .map_err(ServiceError::from)?;
    }
    Ok(created.id)
}
