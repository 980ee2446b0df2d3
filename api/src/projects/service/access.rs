//! Who may read or change a project, and checks of what a write points to (courses, tags, files).

use super::*;

/// What the viewer may do to one project.
#[derive(Clone, Copy, Debug)]
pub struct Access {
    pub owner: bool,
    pub collaborator: bool,
    pub admin: bool,
}

impl Access {
    pub fn can_write(self) -> bool {
        self.owner || self.collaborator || self.admin
    }

    pub fn can_manage(self) -> bool {
        self.owner || self.admin
    }

    /// What `viewer` may do to `found`, given its collaborators' ids (read in a batch).
    pub fn of(viewer: &Viewer, found: &project::Model, collaborator_ids: &[i32]) -> Access {
        Access {
            owner: found.owner_id == viewer.id(),
            collaborator: collaborator_ids.contains(&viewer.id()),
            admin: viewer.has(RoleName::Admin),
        }
    }
}

pub async fn access(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    found: &project::Model,
) -> Result<Access, ServiceError> {
    let collaborator = found.owner_id != viewer.id()
        && collaborator::Entity::find()
            .filter(collaborator::Column::ProjectId.eq(found.id))
            .filter(collaborator::Column::UserId.eq(viewer.id()))
            .count(db)
            .await?
            > 0;
    Ok(Access {
        owner: found.owner_id == viewer.id(),
        collaborator,
        admin: viewer.has(RoleName::Admin),
    })
}

pub(super) async fn load(
    db: &impl ConnectionTrait,
    id: i32,
) -> Result<project::Model, ServiceError> {
    project::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("project"))
}

/// The project, if the grant's project rule admits the viewer: members (owner,
/// collaborators, admins), the owner alone (and admins), or anyone but members.
pub async fn project_for(
    db: &ProjectsDb,
    grant: &Grant,
    id: i32,
) -> Result<project::Model, ServiceError> {
    let Object::Project(rule) = grant.object else {
        return Err(ServiceError::forbidden(
            "this operation has no rule for acting on a project",
        ));
    };
    let found = load(&**db, id).await?;
    let access = access(&**db, grant, &found).await?;
    let (admitted, refusal) = match rule {
        ProjectRule::Members => (
            access.can_write(),
            "only the project's owner, its collaborators and admins change it",
        ),
        ProjectRule::OwnerOnly => (
            access.can_manage(),
            "only the project's owner and admins do this",
        ),
        ProjectRule::NotMembers => (
            !access.owner && !access.collaborator,
            "members do not rate their own project",
        ),
    };
    if admitted {
        Ok(found)
    } else {
        Err(ServiceError::forbidden(refusal))
    }
}

/// Checks each course exists, and that the viewer may link it: a student a course they
/// are enrolled in, a teacher one they teach, an admin any.
pub(super) async fn check_courses(
    academic: &AcademicDb,
    viewer: &Viewer,
    course_ids: &[i32],
) -> Result<(), ServiceError> {
    let found = academic_service::courses_by_id(academic, course_ids).await?;
    if let Some(missing) = course_ids.iter().find(|id| !found.contains_key(id)) {
        return Err(ServiceError::invalid(
            "courseIds",
            format!("no course has id {missing}"),
        ));
    }
    if viewer.has(RoleName::Admin) {
        return Ok(());
    }
    let enrolled = academic_service::enrolled_in(academic, viewer.id(), course_ids).await?;
    for id in course_ids {
        let teaches = viewer.has(RoleName::Teacher) && found[id].teacher_id == viewer.id();
        if !teaches && !enrolled.contains(id) {
            return Err(ServiceError::forbidden(format!(
                "course {id}: link courses you are enrolled in (students) or teach (teachers)"
            )));
        }
    }
    Ok(())
}

pub(super) async fn check_tags(
    db: &impl ConnectionTrait,
    tag_ids: &[i32],
) -> Result<(), ServiceError> {
    let found = tag::Entity::find()
        .filter(tag::Column::Id.is_in(tag_ids.iter().copied()))
        .count(db)
        .await?;
    if found as usize != tag_ids.iter().collect::<BTreeSet<_>>().len() {
        return Err(ServiceError::invalid("tagIds", "a tag id matches no tag"));
    }
    Ok(())
}

/// An image must be an uploaded image file of the viewer's (or any, for admins).
pub(super) async fn check_image(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    file_id: i32,
) -> Result<(), ServiceError> {
    let found = file::Entity::find_by_id(file_id)
        .one(db)
        .await?
        .ok_or_else(|| ServiceError::invalid("imageFileId", "no file has this id"))?;
    if !found.content_type.starts_with("image/") {
        return Err(ServiceError::invalid(
            "imageFileId",
            "the file is not an image",
        ));
    }
    check_own_file(viewer, &found, "imageFileId")
}

pub(super) fn check_own_file(
    viewer: &Viewer,
    found: &file::Model,
    field: &'static str,
) -> Result<(), ServiceError> {
    if found.uploaded_by != viewer.id() && !viewer.has(RoleName::Admin) {
        return Err(ServiceError::invalid(field, "use a file you uploaded"));
    }
    Ok(())
}
