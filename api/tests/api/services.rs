//! The services called directly, without HTTP or GraphQL: the rules of the domains on
//! their own, on migrated SQLite databases (fast), with plain Rust values in and out.

use std::sync::Arc;

use api::{
    academic::{self, model::NewCourse, model::NewSubject},
    authz::{Grant, Object, ProjectRule},
    config::Config,
    db::Databases,
    error::ServiceError,
    projects::{
        self,
        model::{NewProject, ProjectPatch},
    },
    users::{self, model::RoleName, viewer::Viewer},
};

use projects::service::Access;
use sea_orm::EntityTrait;

use crate::helpers::{Backend, TestDatabases};

/// Migrated databases and the services' handles on them.
async fn databases() -> (TestDatabases, Databases) {
    let test = TestDatabases::new(Backend::Sqlite);
    let mut args = vec!["api".to_owned()];
    for (domain, url) in &test.urls {
        args.push(format!("--{}-database-url", domain.name()));
        args.push(url.clone());
    }
    let config = Config::from_args(args).expect("flags parse");
    let databases = Databases::connect(&config).await.expect("databases open");
    (test, databases)
}

async fn person(dbs: &Databases, email: &str, role: RoleName) -> Arc<Viewer> {
    let (user, _) = users::service::create_user(&dbs.users, email, role)
        .await
        .expect("a user");
    Arc::new(Viewer {
        user,
        roles: vec![role],
    })
}

/// A course taught by `teacher` with `student` enrolled, and a project of `student`
/// built for it.
async fn project_of(dbs: &Databases, teacher: &Viewer, student: &Viewer) -> i32 {
    academic::service::create_subjects(
        &dbs.academic,
        vec![NewSubject {
            code: "SV1".into(),
            name: "Services".into(),
        }],
    )
    .await
    .expect("a subject");
    let course = academic::service::create_courses(
        &dbs.academic,
        &dbs.users,
        vec![NewCourse {
            subject_code: "SV1".into(),
            teacher_id: Some(teacher.id()),
            teacher_email: None,
            group: "A".into(),
            year: None,
            period: None,
        }],
    )
    .await
    .expect("a course")
    .remove(0);
    academic::service::enroll_students(
        &dbs.academic,
        &dbs.users,
        course.id,
        &[student.id().to_string()],
        &[],
    )
    .await
    .expect("enrolled");
    let created = projects::service::create(
        &dbs.projects,
        &dbs.academic,
        student,
        NewProject {
            name: "Service project".into(),
            slug: "service-project".into(),
            repository_url: "https://git.example.edu/s/p.git".into(),
            container_port: 8080,
            static_path: None,
            description: None,
            image_file_id: None,
            course_ids: vec![course.id, course.id],
            tag_ids: vec![],
        },
        (false, 0),
    )
    .await
    .expect("a project");
    created.id
}

fn rename(name: &str) -> ProjectPatch {
    ProjectPatch {
        name: Some(name.into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn the_object_rule_in_the_grant_decides_who_acts_on_a_project() {
    let (_dir, dbs) = databases().await;
    let teacher = person(&dbs, "teacher@uni.edu", RoleName::Teacher).await;
    let owner = person(&dbs, "owner@uni.edu", RoleName::Student).await;
    let stranger = person(&dbs, "stranger@uni.edu", RoleName::Student).await;
    let id = project_of(&dbs, &teacher, &owner).await;
    let grant = |viewer: &Arc<Viewer>, object| Grant {
        viewer: viewer.clone(),
        object,
    };
    let members = Object::Project(ProjectRule::Members);

    let renamed = projects::service::update(
        &dbs.projects,
        &grant(&owner, members),
        id,
        rename("Renamed project"),
        false,
    )
    .await
    .expect("the owner writes");
    assert_eq!(renamed.name, "Renamed project");

    for (who, object) in [
        (&stranger, members),
        // A grant without a project rule acts on no project, whoever holds it.
        (&owner, Object::Any),
        (&stranger, Object::Project(ProjectRule::OwnerOnly)),
    ] {
        let refused = projects::service::update(
            &dbs.projects,
            &grant(who, object),
            id,
            rename("Hijacked"),
            false,
        )
        .await;
        assert!(
            matches!(refused, Err(ServiceError::Forbidden(_))),
            "{object:?} for {}: {refused:?}",
            who.user.email
        );
    }
    // Nothing the refusals tried stayed behind.
    let stored = projects::service::read_by_id(&dbs.projects, id, Default::default())
        .await
        .expect("read")
        .expect("the project");
    assert_eq!(stored.model.name, "Renamed project");

    // The owner does not rate their own project; anyone else does.
    let not_members = Object::Project(ProjectRule::NotMembers);
    let own = projects::service::rate(&dbs.projects, &grant(&owner, not_members), id, 5).await;
    assert!(matches!(own, Err(ServiceError::Forbidden(_))), "{own:?}");
    let rating = projects::service::rate(&dbs.projects, &grant(&stranger, not_members), id, 4)
        .await
        .expect("a stranger rates");
    assert_eq!(rating.stars, 4);
}

#[tokio::test]
async fn a_course_list_with_one_bad_entry_writes_nothing_and_names_the_field() {
    let (_dir, dbs) = databases().await;
    let teacher = person(&dbs, "teacher@uni.edu", RoleName::Teacher).await;
    academic::service::create_subjects(
        &dbs.academic,
        vec![NewSubject {
            code: "OK1".into(),
            name: "Known".into(),
        }],
    )
    .await
    .expect("a subject");
    let course = |code: &str, group: &str| NewCourse {
        subject_code: code.into(),
        teacher_id: Some(teacher.id()),
        teacher_email: None,
        group: group.into(),
        year: Some(2026),
        period: Some(1),
    };
    let refused = academic::service::create_courses(
        &dbs.academic,
        &dbs.users,
        vec![course("OK1", "A"), course("NOPE", "B")],
    )
    .await;
    match refused {
        Err(ServiceError::Invalid { field, reason }) => {
            assert_eq!(field, "subjectCode");
            assert!(reason.contains("NOPE"), "{reason}");
        }
        other => panic!("expected an invalid subject code, got {other:?}"),
    }
    let (_, total) = academic::service::courses_page(
        &dbs.academic,
        &Default::default(),
        &api::paging::Page {
            first: 10,
            after: None,
        },
    )
    .await
    .expect("a page");
    assert_eq!(total, 0, "the good entry did not go in alone");
}

#[tokio::test]
async fn a_stored_variable_that_does_not_open_is_internal_and_names_itself() {
    let (dir, dbs) = databases().await;
    let teacher = person(&dbs, "teacher@uni.edu", RoleName::Teacher).await;
    let owner = person(&dbs, "owner@uni.edu", RoleName::Student).await;
    let id = project_of(&dbs, &teacher, &owner).await;
    let key = |byte: &str| {
        projects::crypto::Cipher::load(Some(&byte.repeat(32)), dir.dir.path()).expect("a key")
    };
    let (ours, another) = (key("07"), key("09"));
    let grant = Grant {
        viewer: owner.clone(),
        object: Object::Project(ProjectRule::Members),
    };
    projects::service::set_variable(&dbs.projects, &ours, &grant, id, "API_KEY", "s3cret")
        .await
        .expect("set");
    let rows = entities::projects::environment_variable::Entity::find()
        .all(&*dbs.projects)
        .await
        .expect("rows");
    assert_ne!(rows[0].value, b"s3cret".to_vec(), "stored encrypted");
    let opened = projects::service::open_variables(&ours, rows.clone()).expect("its key opens it");
    assert_eq!(opened[0].value, "s3cret");
    match projects::service::open_variables(&another, rows) {
        Err(error @ ServiceError::Internal(_)) => {
            let chain = api::error::cause_chain(&error);
            assert!(
                chain.contains(&format!("variable API_KEY of project {id}")),
                "{chain}"
            );
            assert!(chain.contains("failed authentication"), "{chain}");
        }
        other => panic!(
            "expected an internal error, got {:?}",
            other.map(|v| v.len())
        ),
    }
    // Values are read by members only.
    let stranger = Access {
        owner: false,
        collaborator: false,
        admin: false,
    };
    assert!(matches!(
        projects::service::may_read_variables(stranger),
        Err(ServiceError::Forbidden(_))
    ));
}
