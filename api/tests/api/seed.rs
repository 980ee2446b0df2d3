//! The benchmark dataset (`api seed`), at a small scale: made through the services, it
//! holds what the module says, and the file the load driver reads matches it.

use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};

#[tokio::test]
async fn the_seed_makes_the_dataset_it_describes_and_the_file_the_driver_reads() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let summary = api::seed::run(&app.state, 0.01, 4)
        .await
        .expect("the seed runs");
    // Scale 0.01: 40 users (1 teacher), 1 subject, 4 courses of 20, 50 projects.
    assert!(summary.contains("41 users"), "{summary}");
    assert!(
        summary.contains("4 courses, 80 enrolments, 50 projects"),
        "{summary}"
    );
    let file = app.databases.data_dir().join("bench-dataset.json");
    let dataset: Value =
        serde_json::from_str(&std::fs::read_to_string(file).expect("the dataset file"))
            .expect("JSON");
    let span = |range: &str| {
        let end = |i: usize| dataset[range][i].as_i64().expect("an id");
        end(1) - end(0)
    };
    assert_eq!(span("projects"), 49);
    assert_eq!(span("courses"), 3);
    let count = |list: &Value| list.as_array().map_or(0, Vec::len);
    assert_eq!(count(&dataset["student_tokens"]), 39);
    assert_eq!(count(&dataset["teacher_tokens"]), 1);

    // A student of the dataset reads every project with its links.
    let token = dataset["student_tokens"][0].as_str().expect("a token");
    let data = app
        .data_as(
            token,
            "{ projects(first: 50) { totalCount edges { node { slug owner { id }
               collaborators { id } ratings { stars } tags { name } courses { id }
               stages { files { name } } deployments(first: 10) { status } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["projects"]["totalCount"], 50);
    let projects = data["projects"]["edges"].as_array().expect("edges");
    assert_eq!(projects.len(), 50);
    for edge in projects {
        let p = &edge["node"];
        assert_eq!(count(&p["collaborators"]), 4, "{p}");
        assert_eq!(count(&p["ratings"]), 5, "{p}");
        assert_eq!(count(&p["tags"]), 3, "{p}");
        assert!((1..=2).contains(&count(&p["courses"])), "{p}");
        assert_eq!(count(&p["deployments"]), 3, "{p}");
        assert_eq!(count(&p["stages"]), 2, "{p}");
        for stage in p["stages"].as_array().into_iter().flatten() {
            assert_eq!(count(&stage["files"]), 2, "{p}");
        }
    }
}
