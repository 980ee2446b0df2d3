//! The academic domain through real HTTP: bulk creation, enrolment per entry, batched
//! links to the users database, permissions.

use api::{academic::service::current_term, users::model::RoleName};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use api::db::StatementCounts;

use crate::helpers::{
    Backend, TestApp, Who, assert_spec_covers, assert_within, backends, first_code,
    refused_for_caller, spec_allows,
};

const CREATE_SUBJECTS: &str =
    "mutation($s: [SubjectInput!]!) { createSubjects(subjects: $s) { id code } }";
const CREATE_COURSES: &str = "mutation($c: [CourseInput!]!) { createCourses(courses: $c) { id year period group subject { code } teacher { id } } }";

struct Campus {
    app: TestApp,
    staff: String,
    teacher_id: i32,
    teacher: String,
}

async fn campus(backend: Backend) -> Campus {
    let app = TestApp::spawn(backend).await;
    let (_, staff) = app
        .user_with_role("registrar@uni.edu", RoleName::Support)
        .await;
    let (teacher_id, teacher) = app.user_with_role("prof@uni.edu", RoleName::Teacher).await;
    Campus {
        app,
        staff,
        teacher_id,
        teacher,
    }
}

async fn create_subjects(campus: &Campus, count: usize) {
    let subjects: Vec<Value> = (0..count)
        .map(|n| json!({ "code": format!("IS{n:03}"), "name": format!("Subject {n}") }))
        .collect();
    campus
        .app
        .data_as(&campus.staff, CREATE_SUBJECTS, json!({ "s": subjects }))
        .await;
}

async fn course_count(app: &TestApp) -> u64 {
    entities::academic::course::Entity::find()
        .count(&*app.state.databases.academic)
        .await
        .expect("count")
}

#[tokio::test]
async fn two_hundred_courses_go_in_by_subject_code_with_term_defaults_and_a_duplicate_rejects_the_list()
 {
    for backend in backends() {
        let campus = campus(backend).await;
        create_subjects(&campus, 10).await;
        let courses: Vec<Value> = (0..200)
            .map(|n| {
                json!({
                    "subjectCode": format!("is{:03}", n % 10),
                    "teacherEmail": "PROF@uni.edu",
                    "group": format!("{}", n / 10),
                })
            })
            .collect();
        let data = campus
            .app
            .data_as(&campus.staff, CREATE_COURSES, json!({ "c": courses }))
            .await;
        let created = data["createCourses"].as_array().expect("a list");
        assert_eq!(created.len(), 200, "{backend:?}");
        let (year, period) = current_term();
        assert!(
            created
                .iter()
                .all(|c| c["year"] == year && c["period"] == period)
        );
        assert_eq!(created[13]["subject"]["code"], "IS003");
        assert_eq!(created[13]["teacher"]["id"], campus.teacher_id.to_string());

        let again = json!({ "c": [
            { "subjectCode": "IS000", "teacherId": campus.teacher_id.to_string(), "group": "NEW" },
            { "subjectCode": "IS000", "teacherId": campus.teacher_id.to_string(), "group": "0" },
        ]});
        let (_, body) = campus
            .app
            .post_as(&campus.staff, CREATE_COURSES, again)
            .await;
        assert_eq!(first_code(&body), "CONFLICT", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "group");
        assert_eq!(
            course_count(&campus.app).await,
            200,
            "{backend:?}: nothing of the list went in"
        );
        campus.app.stop().await;
    }
}

#[tokio::test]
async fn bad_course_and_subject_input_is_bad_user_input_naming_the_field() {
    let campus = campus(Backend::Sqlite).await;
    create_subjects(&campus, 1).await;
    let teacher = campus.teacher_id.to_string();
    let cases = [
        (
            json!({ "subjectCode": "IS000", "teacherId": teacher, "group": "A", "period": 3 }),
            "period",
        ),
        (
            json!({ "subjectCode": "IS000", "teacherId": teacher, "group": "A", "year": 99 }),
            "year",
        ),
        (
            json!({ "subjectCode": "IS000", "teacherId": teacher, "group": "ABCD" }),
            "group",
        ),
        (
            json!({ "subjectCode": "NOPE", "teacherId": teacher, "group": "A" }),
            "subjectCode",
        ),
        (
            json!({ "subjectCode": "IS000", "teacherEmail": "registrar@uni.edu", "group": "A" }),
            "teacherId",
        ),
        (
            json!({ "subjectCode": "IS000", "teacherId": "99999", "group": "A" }),
            "teacherId",
        ),
    ];
    for (course, field) in cases {
        let (_, body) = campus
            .app
            .post_as(&campus.staff, CREATE_COURSES, json!({ "c": [course] }))
            .await;
        assert_eq!(first_code(&body), "BAD_USER_INPUT", "{field}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
    }
    let (_, body) = campus
        .app
        .post_as(
            &campus.staff,
            CREATE_SUBJECTS,
            json!({ "s": [{ "code": " ", "name": "x" }] }),
        )
        .await;
    assert_eq!(first_code(&body), "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "code");
    let (_, body) = campus
        .app
        .post_as(
            &campus.staff,
            CREATE_SUBJECTS,
            json!({ "s": [{ "code": "NEW1", "name": "x" }, { "code": "IS000", "name": "y" }] }),
        )
        .await;
    assert_eq!(first_code(&body), "CONFLICT");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .expect("message")
            .contains("IS000"),
        "{body}"
    );
    let (_, body) = campus
        .app
        .post("{ subjectByCode(code: \"NEW1\") { id } }", json!({}))
        .await;
    assert_eq!(body["data"]["subjectByCode"], Value::Null, "all or nothing");
    assert_eq!(course_count(&campus.app).await, 0);
}

#[tokio::test]
async fn a_subject_in_use_cannot_be_deleted() {
    let campus = campus(Backend::Sqlite).await;
    create_subjects(&campus, 1).await;
    let course = json!({ "c": [{ "subjectCode": "IS000", "teacherId": campus.teacher_id.to_string(), "group": "A" }] });
    campus
        .app
        .data_as(&campus.staff, CREATE_COURSES, course)
        .await;
    let subject = campus
        .app
        .data("{ subjectByCode(code: \"IS000\") { id } }", json!({}))
        .await;
    let (_, body) = campus
        .app
        .post_as(
            &campus.staff,
            "mutation($id: ID!) { deleteSubject(id: $id) }",
            json!({ "id": subject["subjectByCode"]["id"] }),
        )
        .await;
    assert_eq!(first_code(&body), "CONFLICT");
}

const ENROLL: &str = "mutation($course: ID!, $emails: [String!]!, $ids: [ID!]!) { enrollStudents(courseId: $course, emails: $emails, userIds: $ids) { entry status user { username } } }";

async fn one_course(campus: &Campus) -> String {
    create_subjects(campus, 1).await;
    let course = json!({ "c": [{ "subjectCode": "IS000", "teacherId": campus.teacher_id.to_string(), "group": "A" }] });
    let data = campus
        .app
        .data_as(&campus.staff, CREATE_COURSES, course)
        .await;
    data["createCourses"][0]["id"]
        .as_str()
        .expect("an id")
        .to_owned()
}

#[tokio::test]
async fn enrolment_by_email_reports_unknown_users_and_enrolling_twice_leaves_one_row() {
    for backend in backends() {
        let campus = campus(backend).await;
        let course = one_course(&campus).await;
        let (ana, _) = campus
            .app
            .user_with_role("ana@uni.edu", RoleName::Student)
            .await;
        campus
            .app
            .user_with_role("ben@uni.edu", RoleName::Student)
            .await;

        let first = campus
            .app
            .data_as(
                &campus.teacher,
                ENROLL,
                json!({ "course": course, "emails": ["ANA@uni.edu", "ghost@uni.edu", "ben@uni.edu"], "ids": ["424242"] }),
            )
            .await;
        let statuses: Vec<(&str, &str)> = first["enrollStudents"]
            .as_array()
            .expect("a list")
            .iter()
            .map(|r| {
                (
                    r["entry"].as_str().expect("entry"),
                    r["status"].as_str().expect("status"),
                )
            })
            .collect();
        assert_eq!(
            statuses,
            [
                ("424242", "UNKNOWN_USER"),
                ("ANA@uni.edu", "ENROLLED"),
                ("ghost@uni.edu", "UNKNOWN_USER"),
                ("ben@uni.edu", "ENROLLED")
            ],
            "{backend:?}"
        );

        let again = campus
            .app
            .data_as(
                &campus.staff,
                ENROLL,
                json!({ "course": course, "emails": [], "ids": [ana.to_string()] }),
            )
            .await;
        assert_eq!(again["enrollStudents"][0]["status"], "ALREADY_ENROLLED");
        let rows = entities::academic::enrollment::Entity::find()
            .count(&*campus.app.state.databases.academic)
            .await
            .expect("count");
        assert_eq!(rows, 2, "{backend:?}");

        let students = campus
            .app
            .data_as(
                &campus.teacher,
                "query($id: ID!) { course(id: $id) { studentCount students { username } } }",
                json!({ "id": course }),
            )
            .await;
        assert_eq!(students["course"]["studentCount"], 2);
        assert_eq!(students["course"]["students"][0]["username"], "ana");
        campus.app.stop().await;
    }
}

#[tokio::test]
async fn students_cannot_manage_the_catalogue_and_teachers_only_their_own_courses() {
    let campus = campus(Backend::Sqlite).await;
    let course = one_course(&campus).await;
    let (_, student) = campus
        .app
        .user_with_role("stu@uni.edu", RoleName::Student)
        .await;
    let (_, other_teacher) = campus
        .app
        .user_with_role("other@uni.edu", RoleName::Teacher)
        .await;
    let (_, body) = campus
        .app
        .post_as(
            &student,
            CREATE_SUBJECTS,
            json!({ "s": [{ "code": "X1", "name": "x" }] }),
        )
        .await;
    assert_eq!(first_code(&body), "FORBIDDEN");
    let enroll = json!({ "course": course, "emails": ["stu@uni.edu"], "ids": [] });
    let (_, body) = campus.app.post_as(&student, ENROLL, enroll.clone()).await;
    assert_eq!(first_code(&body), "FORBIDDEN");
    let (_, body) = campus
        .app
        .post_as(&other_teacher, ENROLL, enroll.clone())
        .await;
    assert_eq!(first_code(&body), "FORBIDDEN");
    campus.app.data_as(&campus.teacher, ENROLL, enroll).await;

    let mine = campus
        .app
        .data_as(
            &student,
            "{ myEnrollments { course { group subject { code } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        mine["myEnrollments"][0]["course"]["subject"]["code"],
        "IS000"
    );
    let taught = campus
        .app
        .data_as(&campus.teacher, "{ myCourses { id } }", json!({}))
        .await;
    assert_eq!(taught["myCourses"][0]["id"], course.as_str());
}

#[tokio::test]
async fn a_page_of_fifty_courses_costs_the_same_statements_as_a_page_of_one() {
    for backend in backends() {
        let campus = campus(backend).await;
        create_subjects(&campus, 5).await;
        let courses: Vec<Value> = (0..60)
            .map(|n| json!({ "subjectCode": format!("IS{:03}", n % 5), "teacherId": campus.teacher_id.to_string(), "group": format!("{}", n / 5) }))
            .collect();
        let created = campus
            .app
            .data_as(&campus.staff, CREATE_COURSES, json!({ "c": courses }))
            .await;
        for n in 0..20 {
            campus
                .app
                .user_with_role(&format!("s{n}@uni.edu"), RoleName::Student)
                .await;
        }
        let emails: Vec<String> = (0..20).map(|n| format!("s{n}@uni.edu")).collect();
        for course in created["createCourses"]
            .as_array()
            .expect("a list")
            .iter()
            .take(50)
        {
            campus
                .app
                .data_as(
                    &campus.staff,
                    ENROLL,
                    json!({ "course": course["id"], "emails": emails[..3], "ids": [] }),
                )
                .await;
        }
        let query = "query($n: Int!) { courses(first: $n) { edges { node { group subject { code } teacher { username } students { username } } } } }";
        let mut costs = Vec::new();
        for size in [1, 50] {
            let before = campus.app.statements();
            let data = campus
                .app
                .data_as(&campus.staff, query, json!({ "n": size }))
                .await;
            let edges = data["courses"]["edges"].as_array().expect("edges");
            assert_eq!(edges.len(), size as usize);
            assert_eq!(
                edges[size as usize - 1]["node"]["students"]
                    .as_array()
                    .map(Vec::len),
                Some(3)
            );
            costs.push(campus.app.statements() - before);
        }
        eprintln!(
            "{backend:?}: statements for courses(first: 1) {:?}, for courses(first: 50) {:?}",
            costs[0], costs[1]
        );
        // users: sign-in check 1 (user and roles joined), teachers 1, students 1; academic:
        // count, page with subjects joined, enrolments.
        let bound = StatementCounts {
            users: 3,
            academic: 3,
            projects: 0,
        };
        assert_within(
            &costs,
            bound,
            &format!("{backend:?} courses(first: 1 and 50)"),
        );
        campus.app.stop().await;
    }
}

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
