//! Pages, concurrent ratings and deployment history.

use super::*;

#[tokio::test]
async fn a_page_of_fifty_projects_costs_the_same_statements_as_a_page_of_one() {
    for backend in backends() {
        // One student owns all 55: past the default cap.
        let s = super::scene_with(backend, &["--max-projects-per-student", "0"]).await;
        fifty_five_full_projects(&s).await;
        let query = "query($n: Int!) { projects(first: $n) { totalCount edges { node { name owner { username } collaborators { username }
            courses { subject { code } teacher { username } } tags { name type } stages { name files { name } } averageRating } } } }";
        let mut costs = Vec::new();
        for size in [1, 50] {
            let before = s.app.statements();
            let data = s.app.data_as(&s.owner, query, json!({ "n": size })).await;
            let edges = data["projects"]["edges"].as_array().expect("edges");
            assert_eq!(edges.len(), size as usize);
            let last = &edges[size as usize - 1]["node"];
            assert_eq!(last["collaborators"][0]["username"], "collab");
            assert_eq!(last["stages"][0]["files"][0]["name"], "notes.txt");
            assert_eq!(last["averageRating"], 3.0);
            costs.push(s.app.statements() - before);
        }
        eprintln!(
            "{backend:?}: statements for projects(first: 1) {:?}, for projects(first: 50) {:?}",
            costs[0], costs[1]
        );
        // users: the viewer is kept in process (0), owners and collaborators 1
        // (one batch: the collaborator ids were read with the page), teachers 1;
        // academic: courses with their subjects 1; projects: count, page (with each
        // project's mean rating, collaborator ids and course ids), tags, stages, stage
        // files.
        let bound = StatementCounts {
            users: 2,
            academic: 1,
            projects: 5,
        };
        assert_within(
            &costs,
            bound,
            &format!("{backend:?} projects(first: 1 and 50)"),
        );
        s.app.stop().await;
    }
}

/// 55 projects, each with two tags, the collaborator, a stage with a file and a rating.
async fn fifty_five_full_projects(s: &Scene) {
    let tags = s.app.data("{ tags { id } }", json!({})).await;
    let tag_ids: Vec<Value> = tags["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .map(|t| t["id"].clone())
        .collect();
    for n in 0..55 {
        let mut input = project_input(s, &format!("bulk-{n:03}"));
        input["tagIds"] = json!([tag_ids[n % tag_ids.len()], tag_ids[(n + 1) % tag_ids.len()]]);
        let created = s
            .app
            .data_as(&s.owner, CREATE, json!({ "input": input }))
            .await;
        let id = created["createProject"]["id"].clone();
        s.add_collaborator(&id).await;
        let stage = s.create_stage(&id, "One").await;
        let file = upload_id(
            &s.app,
            &s.owner,
            "notes.txt",
            "text/plain",
            b"notes".to_vec(),
        )
        .await;
        s.attach(&stage, &file).await;
        s.app
            .data_as(
                &s.other,
                "mutation($p: ID!) { rateProject(projectId: $p, stars: 3) { id } }",
                json!({ "p": id }),
            )
            .await;
    }
}

#[tokio::test]
async fn concurrent_ratings_by_one_user_leave_one_row_and_no_error() {
    for backend in backends() {
        let s = scene(backend).await;
        let project = create_project(&s, "rated-app").await;
        let rate =
            "mutation($p: ID!, $n: Int!) { rateProject(projectId: $p, stars: $n) { stars } }";
        let calls = (1..=10).map(|n| {
            s.app
                .post_as(&s.other, rate, json!({ "p": project, "n": 1 + n % 5 }))
        });
        for (_, body) in futures_util::future::join_all(calls).await {
            assert!(body.get("errors").is_none(), "{backend:?}: {body}");
        }
        let rows = entities::projects::rating::Entity::find()
            .count(&*s.app.state.databases.projects)
            .await
            .expect("count");
        assert_eq!(rows, 1, "{backend:?}");
        s.app.stop().await;
    }
}

#[tokio::test]
async fn deployments_come_newest_first_and_limited_per_project() {
    for backend in backends() {
        let s = scene(backend).await;
        let first = create_project(&s, "deploy-one").await;
        let second = create_project(&s, "deploy-two").await;
        let db = &s.app.state.databases.projects;
        for (project, commits) in [
            (&first, ["aaa1111", "bbb2222", "ccc3333"]),
            (&second, ["ddd4444", "eee5555", "fff6666"]),
        ] {
            for commit in commits {
                let payload = deploy::Payload {
                    project_id: project.parse().expect("an id"),
                    slug: "deploy-x".into(),
                    repository_url: "https://git.example.edu/x.git".into(),
                    container_port: 8080,
                    static_path: None,
                    source_deployment: None,
                };
                deploy::queue::record(
                    db,
                    &payload,
                    1,
                    entities::projects::enums::JobStatus::Succeeded,
                    Some(commit.to_owned()),
                )
                .await
                .expect("recorded");
            }
        }
        let data = s
            .app
            .data_as(&s.owner, "{ projects(first: 10) { edges { node { slug deployments(first: 2) { commit status successful } } } } }", json!({}))
            .await;
        let edges = data["projects"]["edges"].as_array().expect("edges");
        assert_eq!(
            edges[0]["node"]["deployments"],
            json!([
                { "commit": "ccc3333", "status": "SUCCEEDED", "successful": true },
                { "commit": "bbb2222", "status": "SUCCEEDED", "successful": true },
            ]),
            "{backend:?}"
        );
        assert_eq!(edges[1]["node"]["deployments"][0]["commit"], "fff6666");
        s.app.stop().await;
    }
}

#[tokio::test]
async fn total_count_counts_every_match_whatever_the_cursor_and_past_the_end() {
    for backend in backends() {
        let s = scene(backend).await;
        for n in 0..5 {
            create_project(&s, &format!("counted-{n}")).await;
        }
        let query = "query($after: String, $search: String) {
            projects(first: 2, after: $after, filter: { search: $search }) {
              totalCount pageInfo { hasNextPage endCursor } edges { node { name tags { name } } } } }";
        let read = async |after: &Value, search: &str| {
            s.app
                .data_as(&s.owner, query, json!({ "after": after, "search": search }))
                .await["projects"]
                .clone()
        };
        let mut after = Value::Null;
        let mut names = Vec::new();
        loop {
            let page = read(&after, "counted").await;
            // Every page, including one read past others, says how many match in all.
            assert_eq!(page["totalCount"], 5, "{backend:?}: {page}");
            for edge in page["edges"].as_array().into_iter().flatten() {
                names.push(edge["node"]["name"].as_str().unwrap_or_default().to_owned());
            }
            after = page["pageInfo"]["endCursor"].clone();
            if page["pageInfo"]["hasNextPage"] != json!(true) {
                break;
            }
        }
        assert_eq!(names.len(), 5, "{backend:?}: {names:?}");
        // Past the last project: no row carries the count, which is read on its own.
        let past = read(&after, "counted").await;
        assert_eq!(past["totalCount"], 5, "{backend:?}");
        assert_eq!(past["edges"], json!([]), "{backend:?}");
        let none = read(&Value::Null, "nothing-like-it").await;
        assert_eq!(none["totalCount"], 0, "{backend:?}");
        s.app.stop().await;
    }
}
