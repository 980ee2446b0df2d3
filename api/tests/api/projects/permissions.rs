//! Who may call each project mutation, pinned to domain.md.

use super::*;

/// What a call acts on: a fresh project with a collaborator and a stage.
struct Target {
    project: String,
    stage: String,
    /// A user the call names: the collaborator for `removeCollaborator`, a third
    /// student otherwise.
    user: String,
    file: String,
    /// The owner's deployment, for `cancelDeployment`.
    deployment: Option<String>,
}

/// One call of each project mutation. Every call gets the same variables (`$p` project,
/// `$s` stage, `$c` course, `$u` user, `$f` file, `$d` deployment); each document
/// declares the ones it uses.
const CALLS: &[(&str, &str)] = &[
    (
        "updateProject",
        "mutation($p: ID!) { updateProject(id: $p, input: {description: \"x\"}) { id } }",
    ),
    (
        "deleteProject",
        "mutation($p: ID!) { deleteProject(id: $p) }",
    ),
    (
        "addCollaborator",
        "mutation($p: ID!, $u: ID!) { addCollaborator(projectId: $p, userId: $u) { id } }",
    ),
    (
        "removeCollaborator",
        "mutation($p: ID!, $u: ID!) { removeCollaborator(projectId: $p, userId: $u) { id } }",
    ),
    (
        "rateProject",
        "mutation($p: ID!) { rateProject(projectId: $p, stars: 5) { id } }",
    ),
    (
        "linkCourse",
        "mutation($p: ID!, $c: ID!) { linkCourse(projectId: $p, courseId: $c) { id } }",
    ),
    (
        "unlinkCourse",
        "mutation($p: ID!, $c: ID!) { unlinkCourse(projectId: $p, courseId: $c) { id } }",
    ),
    (
        "tagProject",
        "mutation($p: ID!) { tagProject(projectId: $p, tagId: \"1\") { id } }",
    ),
    (
        "untagProject",
        "mutation($p: ID!) { untagProject(projectId: $p, tagId: \"1\") { id } }",
    ),
    (
        "createStage",
        "mutation($p: ID!) { createStage(input: {projectId: $p, name: \"S\"}) { id } }",
    ),
    (
        "updateStage",
        "mutation($s: ID!) { updateStage(id: $s, input: {status: COMPLETED}) { id } }",
    ),
    ("deleteStage", "mutation($s: ID!) { deleteStage(id: $s) }"),
    (
        "attachStageFile",
        "mutation($s: ID!, $f: ID!) { attachStageFile(stageId: $s, fileId: $f) { id } }",
    ),
    (
        "detachStageFile",
        "mutation($s: ID!, $f: ID!) { detachStageFile(stageId: $s, fileId: $f) { id } }",
    ),
    (
        "setEnvironmentVariable",
        "mutation($p: ID!) { setEnvironmentVariable(projectId: $p, name: \"X\", value: \"1\") { name } }",
    ),
    (
        "deleteEnvironmentVariable",
        "mutation($p: ID!) { deleteEnvironmentVariable(projectId: $p, name: \"X\") }",
    ),
    (
        "deployProject",
        "mutation($p: ID!) { deployProject(projectId: $p) { id } }",
    ),
    (
        "stopProject",
        "mutation($p: ID!) { stopProject(projectId: $p) { id } }",
    ),
    (
        "startProject",
        "mutation($p: ID!) { startProject(projectId: $p) { id } }",
    ),
    (
        "cancelDeployment",
        "mutation($d: ID!) { cancelDeployment(id: $d) { id } }",
    ),
];

/// The call of mutation `name` against `target`, as a document and its variables.
fn mutation_call(name: &str, target: &Target, course: &str) -> (&'static str, Value) {
    let (_, doc) = CALLS
        .iter()
        .find(|(call, _)| *call == name)
        .unwrap_or_else(|| panic!("no call for `{name}`: add one"));
    let vars = json!({
        "p": target.project,
        "s": target.stage,
        "c": course,
        "u": target.user,
        "f": target.file,
        "d": target.deployment,
    });
    (doc, vars)
}

/// Who may call each project mutation, written from domain.md §3 and not from the
/// table under test: "owner and collaborators write (metadata, stages, files, tags,
/// variables, courses, deploy, stop); only the owner deletes it and manages
/// collaborators; admins may do all", and a rating is "not on your own project".
const WRITERS: &[&str] = &["owner", "collaborator", "admin"];
const OWNER: &[&str] = &["owner", "admin"];
const RATERS: &[&str] = &["other student", "teacher of the course", "admin"];
const SPEC: &[(&str, &[&str])] = &[
    ("updateProject", WRITERS),
    ("deleteProject", OWNER),
    ("addCollaborator", OWNER),
    ("removeCollaborator", OWNER),
    ("rateProject", RATERS),
    ("linkCourse", WRITERS),
    ("unlinkCourse", WRITERS),
    ("tagProject", WRITERS),
    ("untagProject", WRITERS),
    ("createStage", WRITERS),
    ("updateStage", WRITERS),
    ("deleteStage", WRITERS),
    ("attachStageFile", WRITERS),
    ("detachStageFile", WRITERS),
    ("setEnvironmentVariable", WRITERS),
    ("deleteEnvironmentVariable", WRITERS),
    ("deployProject", WRITERS),
    ("cancelDeployment", WRITERS),
    ("stopProject", WRITERS),
    ("startProject", WRITERS),
];

const PERSONAS: [&str; 5] = [
    "owner",
    "collaborator",
    "other student",
    "teacher of the course",
    "admin",
];

#[tokio::test]
async fn every_project_mutation_allows_exactly_whom_the_spec_says() {
    // Every case creates a project of the owner's, and some deploy it: more than the
    // default caps.
    let flags = [
        "--max-projects-per-student",
        "0",
        "--deploy-max-active-per-user",
        "0",
    ];
    let s = super::scene_with(Backend::Sqlite, &flags).await;
    let (_, third) = s
        .app
        .user_with_role("third@uni.edu", RoleName::Student)
        .await;
    let me = s.app.data_as(&third, "{ me { id } }", json!({})).await;
    let third_id = me["me"]["id"].as_str().expect("id").to_owned();
    let mut mismatches = Vec::new();
    for (operation, allowed) in SPEC {
        for persona in PERSONAS {
            let token = match persona {
                "owner" => &s.owner,
                "collaborator" => &s.collaborator,
                "other student" => &s.other,
                "teacher of the course" => &s.teacher,
                _ => &s.admin,
            };
            // A fresh project per call: every call starts from the same state.
            let target = fresh_target(&s, operation, persona, token, &third_id).await;
            let (doc, vars) = mutation_call(operation, &target, &s.course_id);
            let (_, body) = s.app.post_as(token, doc, vars).await;
            let denied = body["errors"].as_array().is_some_and(|errors| {
                errors.iter().any(|e| {
                    let code = &e["extensions"]["code"];
                    code == "FORBIDDEN" || code == "UNAUTHENTICATED"
                })
            });
            let expected_allowed = allowed.contains(&persona);
            if denied == expected_allowed {
                mismatches.push(format!(
                    "{persona} {operation}: denied={denied}, expected allowed={expected_allowed}: {body}"
                ));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// A new project with the collaborator and a stage, and what `operation` needs on top:
/// a file of the persona's (of the owner's, attached, to detach), the deployment to
/// cancel.
async fn fresh_target(
    s: &Scene,
    operation: &str,
    persona: &str,
    token: &str,
    third_id: &str,
) -> Target {
    let project = create_project(s, &format!("p{}", uuid_like(operation, persona))).await;
    s.add_collaborator(&project).await;
    let stage = s.create_stage(&project, "S").await;
    let stage = stage.as_str().expect("an id").to_owned();
    let file = if operation == "detachStageFile" {
        let owner_file = upload_id(&s.app, &s.owner, "g.txt", "text/plain", b"g".to_vec()).await;
        s.attach(&stage, &owner_file).await;
        owner_file
    } else {
        upload_id(&s.app, token, "f.txt", "text/plain", b"f".to_vec()).await
    };
    let deployment = if operation == "cancelDeployment" {
        Some(owners_deployment(s, &project).await)
    } else {
        None
    };
    let user = if operation == "removeCollaborator" {
        s.collaborator_id.to_string()
    } else {
        third_id.to_owned()
    };
    Target {
        project,
        stage,
        user,
        file,
        deployment,
    }
}

/// The owner deploys `project`: the deployment's id, for a persona to cancel.
async fn owners_deployment(s: &Scene, project: &str) -> String {
    let deployed = s
        .app
        .data_as(
            &s.owner,
            "mutation($p: ID!) { deployProject(projectId: $p) { deployment { id } } }",
            json!({ "p": project }),
        )
        .await;
    deployed["deployProject"]["deployment"]["id"]
        .as_str()
        .expect("an id")
        .to_owned()
}

fn uuid_like(operation: &str, persona: &str) -> String {
    let text = format!("{operation}{persona}").to_lowercase();
    let digest: u64 = text.bytes().fold(1469598103934665603u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(1099511628211)
    });
    format!("{:x}", digest)[..12].to_owned()
}

#[tokio::test]
async fn only_enrolled_students_teachers_of_the_course_and_admins_link_it() {
    let s = scene(Backend::Sqlite).await;
    let (_, outsider) = s
        .app
        .user_with_role("outsider@uni.edu", RoleName::Student)
        .await;
    let (_, other_teacher) = s
        .app
        .user_with_role("other.teacher@uni.edu", RoleName::Teacher)
        .await;
    for (token, slug) in [
        (&outsider, "outsider-app"),
        (&other_teacher, "teacher2-app"),
    ] {
        let (_, body) = s
            .app
            .post_as(token, CREATE, json!({ "input": project_input(&s, slug) }))
            .await;
        assert_eq!(first_code(&body), "FORBIDDEN", "{slug}: {body}");
    }
    for (token, slug) in [(&s.teacher, "teacher-app"), (&s.admin, "admin-app")] {
        s.app
            .data_as(token, CREATE, json!({ "input": project_input(&s, slug) }))
            .await;
    }
}
