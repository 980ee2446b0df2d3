//! Who may call each academic operation, pinned to domain.md.

use super::*;

/// One call per academic operation. Ids that name nothing are deliberate: a caller the
/// table lets through then gets NOT_FOUND, which is not a refusal.
fn academic_call(operation: &str, course_id: i32, student_id: i32) -> (String, Value) {
    let tag = crate::helpers::unique_tag();
    let (document, variables) = match operation {
        "subjects" => (
            "{ subjects(first: 5) { totalCount } }".to_owned(),
            json!({}),
        ),
        "subject" => ("{ subject(id: \"999999\") { id } }".to_owned(), json!({})),
        "subjectByCode" => (
            "{ subjectByCode(code: \"MX1\") { id } }".to_owned(),
            json!({}),
        ),
        "courses" => ("{ courses(first: 5) { totalCount } }".to_owned(), json!({})),
        "course" => ("{ course(id: \"999999\") { id } }".to_owned(), json!({})),
        "myCourses" => ("{ myCourses { id } }".to_owned(), json!({})),
        "myEnrollments" => ("{ myEnrollments { id } }".to_owned(), json!({})),
        "createSubjects" => (
            CREATE_SUBJECTS.to_owned(),
            json!({ "s": [{ "code": format!("S{}", &tag[tag.len() - 6..]), "name": "Matrix" }] }),
        ),
        "updateSubject" => (
            "mutation { updateSubject(id: \"999999\", input: { name: \"x\" }) { id } }".to_owned(),
            json!({}),
        ),
        "deleteSubject" => (
            "mutation { deleteSubject(id: \"999999\") }".to_owned(),
            json!({}),
        ),
        "createCourses" => (
            CREATE_COURSES.to_owned(),
            json!({ "c": [{ "subjectCode": "MX1", "teacherEmail": "teacher@uni.edu", "group": &tag[tag.len() - 3..] }] }),
        ),
        "updateCourse" => (
            "mutation { updateCourse(id: \"999999\", input: { group: \"Z\" }) { id } }".to_owned(),
            json!({}),
        ),
        "deleteCourse" => (
            "mutation { deleteCourse(id: \"999999\") }".to_owned(),
            json!({}),
        ),
        "enrollStudents" => (
            "mutation($c: ID!, $u: ID!) { enrollStudents(courseId: $c, userIds: [$u]) { status } }"
                .to_owned(),
            json!({ "c": course_id.to_string(), "u": student_id.to_string() }),
        ),
        "unenrollStudent" => (
            "mutation($c: ID!, $u: ID!) { unenrollStudent(courseId: $c, userId: $u) }".to_owned(),
            json!({ "c": course_id.to_string(), "u": student_id.to_string() }),
        ),
        other => panic!("the authorization test has no call for `{other}`: add one"),
    };
    (document, variables)
}

/// domain.md §2: the catalogue is read by anyone; "subjects and courses are created in
/// bulk (lists), by admin or support"; "teachers see their own courses"; "teachers (of
/// that course), admin and support enrol students".
const ACADEMIC_SPEC: &[(&str, Who)] = &[
    ("subjects", Who::Anyone),
    ("subject", Who::Anyone),
    ("subjectByCode", Who::Anyone),
    ("courses", Who::SignedIn),
    ("course", Who::SignedIn),
    ("myCourses", Who::Teachers),
    ("myEnrollments", Who::SignedIn),
    ("createSubjects", Who::Staff),
    ("updateSubject", Who::Staff),
    ("deleteSubject", Who::Staff),
    ("createCourses", Who::Staff),
    ("updateCourse", Who::Staff),
    ("deleteCourse", Who::Staff),
    // The teacher of the course (the persona teaches it) and staff.
    ("enrollStudents", Who::StaffAndTeachers),
    ("unenrollStudent", Who::StaffAndTeachers),
];

#[tokio::test]
async fn every_academic_operation_allows_exactly_whom_the_spec_says() {
    assert_spec_covers(ACADEMIC_SPEC, api::academic::authz::TABLE);
    let app = TestApp::spawn(Backend::Sqlite).await;
    let personas = app.personas().await;
    let (enrolled, _) = app
        .user_with_role("enrolled@uni.edu", RoleName::Student)
        .await;
    let (_, admin) = app.user_with_role("setup@uni.edu", RoleName::Admin).await;
    app.data_as(
        &admin,
        CREATE_SUBJECTS,
        json!({ "s": [{ "code": "MX1", "name": "Matrix" }] }),
    )
    .await;
    let created = app
        .data_as(
            &admin,
            CREATE_COURSES,
            json!({ "c": [{ "subjectCode": "MX1", "teacherEmail": "teacher@uni.edu", "group": "A" }] }),
        )
        .await;
    let course_id: i32 = created["createCourses"][0]["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .expect("a course id");

    let mut mismatches = Vec::new();
    for (persona, role, token) in &personas {
        for (operation, who) in ACADEMIC_SPEC {
            let (document, variables) = academic_call(operation, course_id, enrolled);
            let (_, body) = match token {
                Some(token) => app.post_as(token, &document, variables).await,
                None => app.post(&document, variables).await,
            };
            let allowed = !refused_for_caller(&body);
            let expected = spec_allows(*who, *role);
            if allowed != expected {
                mismatches.push(format!(
                    "{persona} {operation}: allowed={allowed}, expected {expected}: {body}"
                ));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
