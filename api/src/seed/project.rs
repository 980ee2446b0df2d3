//! One project of the dataset: its members, ratings, stages with files, and deployments,
//! each made through the services as its owner (or a rater) would.

use std::{collections::HashMap, path::Path, sync::Arc};

use entities::{projects::enums::JobStatus, users::user};

use super::{Chunk, internal, viewer};
use crate::{
    authz::Grant,
    error::ServiceError,
    projects::{
        self, files,
        model::{NewProject, NewStage},
    },
    state::AppState,
    users::{model::RoleName, viewer::Viewer},
};

/// Project `p` of the dataset: owned by a student, for 1 or 2 of the owner's courses,
/// with 3 tags.
fn new_project(p: usize, owner_courses: &[i32], tag_ids: &[i32]) -> NewProject {
    NewProject {
        name: format!("Bench project {p:05}"),
        slug: format!("bench-{p:05}"),
        repository_url: format!("https://git.bench.edu/team{p}/app.git"),
        container_port: 3000 + (p % 1000) as i32,
        static_path: p.is_multiple_of(3).then(|| "public".to_owned()),
        description: Some(format!("Project number {p} of the benchmark dataset.")),
        image_file_id: None,
        course_ids: owner_courses.iter().take(1 + p % 2).copied().collect(),
        tag_ids: (0..3)
            .map(|k| tag_ids[(p + k * 4) % tag_ids.len()])
            .collect(),
    }
}

/// Four students other than the owner, spread across the dataset.
fn members<'a>(p: usize, students: &'a [user::Model], owner: &user::Model) -> Vec<&'a user::Model> {
    let n = students.len();
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
    members
}

/// One project with its members, tags, stages and files, ratings and deployments.
pub(super) async fn create(
    state: &AppState,
    data_dir: &Path,
    p: usize,
    students: &[user::Model],
    enrolled: &HashMap<i32, Vec<i32>>,
    tag_ids: &[i32],
) -> Result<i32, ServiceError> {
    let dbs = &state.databases;
    let owner = &students[p % students.len()];
    let owner_courses = enrolled.get(&owner.id).cloned().unwrap_or_default();
    let as_owner = viewer(owner, RoleName::Student);
    let created = projects::service::create(
        &dbs.projects,
        &dbs.academic,
        &as_owner,
        new_project(p, &owner_courses, tag_ids),
        (false, 0),
    )
    .await?;
    let members = members(p, students, owner);
    for member in &members {
        projects::service::add_collaborator(
            &dbs.projects,
            &dbs.users,
            &Grant::as_operation(as_owner.clone(), "addCollaborator"),
            created.id,
            member.id,
        )
        .await?;
    }
    rate(state, p, created.id, students, owner, &members).await?;
    for s in 0..2 {
        stage(state, data_dir, p, s, created.id, owner, &as_owner).await?;
    }
    deployments(state, p, &created, owner.id).await?;
    Ok(created.id)
}

/// Five ratings by students who are not members.
async fn rate(
    state: &AppState,
    p: usize,
    project_id: i32,
    students: &[user::Model],
    owner: &user::Model,
    members: &[&user::Model],
) -> Result<(), ServiceError> {
    let n = students.len();
    let mut raters = 0;
    for k in 0.. {
        let rater = &students[(p + 500 + k * 211) % n];
        if rater.id == owner.id || members.iter().any(|m| m.id == rater.id) {
            continue;
        }
        let stars = 1 + ((p + k) % 5) as i32;
        projects::service::rate(
            &state.databases.projects,
            &Grant::as_operation(viewer(rater, RoleName::Student), "rateProject"),
            project_id,
            stars,
        )
        .await?;
        raters += 1;
        if raters == 5 {
            return Ok(());
        }
    }
    Ok(())
}

/// Stage `s` of the project, with two small text files attached.
async fn stage(
    state: &AppState,
    data_dir: &Path,
    p: usize,
    s: usize,
    project_id: i32,
    owner: &user::Model,
    as_owner: &Arc<Viewer>,
) -> Result<(), ServiceError> {
    let dbs = &state.databases;
    let stage = projects::service::create_stage(
        &dbs.projects,
        &Grant::as_operation(as_owner.clone(), "createStage"),
        NewStage {
            project_id,
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
            &Grant::as_operation(as_owner.clone(), "attachStageFile"),
            stage.id,
            stored.id,
        )
        .await?;
    }
    Ok(())
}

/// Three past deployments: succeeded, failed, succeeded.
async fn deployments(
    state: &AppState,
    p: usize,
    created: &entities::projects::project::Model,
    owner_id: i32,
) -> Result<(), ServiceError> {
    let statuses = [
        JobStatus::Succeeded,
        JobStatus::Failed,
        JobStatus::Succeeded,
    ];
    for (d, status) in statuses.into_iter().enumerate() {
        let commit = Some(format!("{:07x}", (p * 3 + d) * 2_654_435_761 % 0xFFF_FFFF));
        deploy::queue::record(
            &state.databases.projects,
            &deploy::Payload::of(created),
            owner_id,
            status,
            commit,
        )
        .await
        .map_err(ServiceError::from)?;
    }
    Ok(())
}
