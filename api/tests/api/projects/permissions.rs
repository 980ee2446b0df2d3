//! Who may call each project mutation, pinned to domain.md.

use super::*;

/// One call of each project mutation against `project`, as the persona.
fn mutation_call(
    name: &str,
    project: &str,
    stage: &str,
    course: &str,
    user: &str,
    file: &str,
) -> (String, Value) {
    let p = json!(project);
    let (doc, vars) = match name {
        "updateProject" => (
            "mutation($p: ID!) { updateProject(id: $p, input: {description: \"x\"}) { id } }",
            json!({ "p": p }),
        ),
        "deleteProject" => (
            "mutation($p: ID!) { deleteProject(id: $p) }",
            json!({ "p": p }),
        ),
        "addCollaborator" => (
            "mutation($p: ID!, $u: ID!) { addCollaborator(projectId: $p, userId: $u) { id } }",
            json!({ "p": p, "u": user }),
        ),
        "removeCollaborator" => (
            "mutation($p: ID!, $u: ID!) { removeCollaborator(projectId: $p, userId: $u) { id } }",
            json!({ "p": p, "u": user }),
        ),
        "rateProject" => (
            "mutation($p: ID!) { rateProject(projectId: $p, stars: 5) { id } }",
            json!({ "p": p }),
        ),
        "linkCourse" => (
            "mutation($p: ID!, $c: ID!) { linkCourse(projectId: $p, courseId: $c) { id } }",
            json!({ "p": p, "c": course }),
        ),
        "unlinkCourse" => (
            "mutation($p: ID!, $c: ID!) { unlinkCourse(projectId: $p, courseId: $c) { id } }",
            json!({ "p": p, "c": course }),
        ),
        "tagProject" => (
            "mutation($p: ID!) { tagProject(projectId: $p, tagId: \"1\") { id } }",
            json!({ "p": p }),
        ),
        "untagProject" => (
            "mutation($p: ID!) { untagProject(projectId: $p, tagId: \"1\") { id } }",
            json!({ "p": p }),
        ),
        "createStage" => (
            "mutation($p: ID!) { createStage(input: {projectId: $p, name: \"S\"}) { id } }",
            json!({ "p": p }),
        ),
        "updateStage" => (
            "mutation($s: ID!) { updateStage(id: $s, input: {status: COMPLETED}) { id } }",
            json!({ "s": stage }),
        ),
        "deleteStage" => (
            "mutation($s: ID!) { deleteStage(id: $s) }",
            json!({ "s": stage }),
        ),
        "attachStageFile" => (
            "mutation($s: ID!, $f: ID!) { attachStageFile(stageId: $s, fileId: $f) { id } }",
            json!({ "s": stage, "f": file }),
        ),
        "detachStageFile" => (
            "mutation($s: ID!, $f: ID!) { detachStageFile(stageId: $s, fileId: $f) { id } }",
            json!({ "s": stage, "f": file }),
        ),
        "setEnvironmentVariable" => (
            "mutation($p: ID!) { setEnvironmentVariable(projectId: $p, name: \"X\", value: \"1\") { name } }",
            json!({ "p": p }),
        ),
        "deleteEnvironmentVariable" => (
            "mutation($p: ID!) { deleteEnvironmentVariable(projectId: $p, name: \"X\") }",
            json!({ "p": p }),
        ),
        "deployProject" => (
            "mutation($p: ID!) { deployProject(projectId: $p) { id } }",
            json!({ "p": p }),
        ),
        "stopProject" => (
            "mutation($p: ID!) { stopProject(projectId: $p) { id } }",
            json!({ "p": p }),
        ),
        "startProject" => (
            "mutation($p: ID!) { startProject(projectId: $p) { id } }",
            json!({ "p": p }),
        ),
        // `user` carries the deployment's id here (see the matrix).
        "cancelDeployment" => (
            "mutation($d: ID!) { cancelDeployment(id: $d) { id } }",
            json!({ "d": user }),
        ),
        other => panic!("no call for `{other}`: add one"),
    };
    (doc.to_owned(), vars)
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

#[tokio::test]
async fn every_project_mutation_allows_exactly_whom_the_spec_says() {
    let s = scene(Backend::Sqlite).await;
    let (_, third) = s
        .app
        .user_with_role("third@uni.edu", RoleName::Student)
        .await;
    let mut mismatches = Vec::new();
    let personas = [
        "owner",
        "collaborator",
        "other student",
        "teacher of the course",
        "admin",
    ];
    for (operation, allowed) in SPEC {
        for persona in personas {
            // A fresh project per call: every call starts from the same state.
            let slug = format!("p{}", &uuid_like(operation, persona));
            let project = create_project(&s, &slug).await;
            let third_id = {
                let me = s.app.data_as(&third, "{ me { id } }", json!({})).await;
                me["me"]["id"].as_str().expect("id").to_owned()
            };
            s.app
                .data_as(&s.owner, "mutation($p: ID!, $u: ID!) { addCollaborator(projectId: $p, userId: $u) { id } }", json!({ "p": project, "u": s.collaborator_id.to_string() }))
                .await;
            let stage = s
                .app
                .data_as(
                    &s.owner,
                    "mutation($p: ID!) { createStage(input: {projectId: $p, name: \"S\"}) { id } }",
                    json!({ "p": project }),
                )
                .await["createStage"]["id"]
                .as_str()
                .expect("id")
                .to_owned();
            let token = match persona {
                "owner" => &s.owner,
                "collaborator" => &s.collaborator,
                "other student" => &s.other,
                "teacher of the course" => &s.teacher,
                _ => &s.admin,
            };
            let file = upload_id(&s.app, token, "f.txt", "text/plain", b"f".to_vec()).await;
            if *operation == "detachStageFile" {
                let owner_file =
                    upload_id(&s.app, &s.owner, "g.txt", "text/plain", b"g".to_vec()).await;
                s.app
                    .data_as(&s.owner, "mutation($s: ID!, $f: ID!) { attachStageFile(stageId: $s, fileId: $f) { id } }", json!({ "s": stage, "f": owner_file }))
                    .await;
                let (doc, vars) = mutation_call(
                    operation,
                    &project,
                    &stage,
                    &s.course_id,
                    &third_id,
                    &owner_file,
                );
                record(
                    &s,
                    token,
                    persona,
                    operation,
                    allowed,
                    &doc,
                    vars,
                    &mut mismatches,
                )
                .await;
                continue;
            }
            let user = if *operation == "removeCollaborator" {
                s.collaborator_id.to_string()
            } else if *operation == "cancelDeployment" {
                // The owner's deploy, for the persona to cancel.
                s.app
                    .data_as(
                        &s.owner,
                        "mutation($p: ID!) { deployProject(projectId: $p) { deployment { id } } }",
                        json!({ "p": project }),
                    )
                    .await["deployProject"]["deployment"]["id"]
                    .as_str()
                    .expect("id")
                    .to_owned()
            } else {
                third_id
            };
            let (doc, vars) =
                mutation_call(operation, &project, &stage, &s.course_id, &user, &file);
            record(
                &s,
                token,
                persona,
                operation,
                allowed,
                &doc,
                vars,
                &mut mismatches,
            )
            .await;
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

fn uuid_like(operation: &str, persona: &str) -> String {
    let text = format!("{operation}{persona}").to_lowercase();
    let digest: u64 = text.bytes().fold(1469598103934665603u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(1099511628211)
    });
    format!("{:x}", digest)[..12].to_owned()
}

#[allow(clippy::too_many_arguments)]
async fn record(
    s: &Scene,
    token: &str,
    persona: &str,
    operation: &str,
    allowed: &[&str],
    doc: &str,
    vars: Value,
    mismatches: &mut Vec<String>,
) {
    let (_, body) = s.app.post_as(token, doc, vars).await;
    let denied = body["errors"].as_array().is_some_and(|errors| {
        errors.iter().any(|e| {
            e["extensions"]["code"] == "FORBIDDEN" || e["extensions"]["code"] == "UNAUTHENTICATED"
        })
    });
    let expected_allowed = allowed.contains(&persona);
    if denied == expected_allowed {
        mismatches.push(format!(
            "{persona} {operation}: denied={denied}, expected allowed={expected_allowed}: {body}"
        ));
    }
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
