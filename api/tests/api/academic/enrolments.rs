//! Enrolment per entry, who manages a course's students, and batched course pages.

use super::*;

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

/// (entry, status) of each line of an `enrollStudents` answer.
fn statuses(answer: &Value) -> Vec<(&str, &str)> {
    answer["enrollStudents"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|r| {
            (
                r["entry"].as_str().expect("entry"),
                r["status"].as_str().expect("status"),
            )
        })
        .collect()
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
        assert_eq!(
            statuses(&first),
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
        sixty_courses_fifty_with_three_students(&campus).await;
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
        // users: the viewer is kept in process (0), teachers 1, students 1; academic:
        // count, page with subjects joined, enrolments.
        let bound = StatementCounts {
            users: 2,
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

/// 60 courses over 5 subjects, the first 50 with three of 20 students enrolled.
async fn sixty_courses_fifty_with_three_students(campus: &Campus) {
    create_subjects(campus, 5).await;
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
}
