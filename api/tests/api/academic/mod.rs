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

mod enrolments;
mod permissions;

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

/// A blank code is `BAD_USER_INPUT`; a list holding a taken code is a `CONFLICT` that
/// creates none of the list.
async fn bad_subjects_are_refused_all_or_nothing(campus: &Campus) {
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
    bad_subjects_are_refused_all_or_nothing(&campus).await;
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
