//! Deploying projects through GraphQL over HTTP: real git repositories made by the
//! test, real sandboxed processes, real HTTP to each app at its own host (`<slug>.apps.localhost`).

mod attacks;
mod build_limits;
mod contract;
mod cpu;
mod disk;
mod guarded;
mod isolation;
mod lifecycle;
mod live;
mod pipeline;
mod processes;
mod proxy;
pub(crate) mod replica;
mod replicas;
mod repo;
mod routines;
mod sandbox;
mod shutdown;
mod socket;
mod statics;
mod survive;
mod truth;
mod turns;

use std::time::Duration;

use api::users::model::RoleName;
use serde_json::{Value, json};

pub use self::processes::{no_process_left, processes_in_groups, processes_of};
pub use self::repo::Repo;
pub use self::socket::{Socket, next_payload, subscribe, subscribe_at};
use crate::helpers::{Backend, TestApp};

/// Whether this process may switch users (the `user` sandbox needs root).
pub fn is_root() -> bool {
    nix_like_euid() == 0
}

fn nix_like_euid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    // The owner of a file we just created is our effective uid.
    let probe = tempfile::NamedTempFile::new().expect("a temporary file");
    probe.as_file().metadata().expect("metadata").uid()
}

/// The sandbox flags for this machine: `user` as root; elsewhere `none`, except in CI,
/// where the sandbox tests must run.
pub fn sandbox_flags() -> Vec<String> {
    if is_root() {
        vec![]
    } else if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "CI=true but the tests are not running as root: the deploy sandbox tests would not run"
        );
    } else {
        eprintln!("not root: deploy tests run with DEPLOY_SANDBOX=none");
        vec!["--deploy-sandbox".into(), "none".into()]
    }
}

/// A gateway that deploys local repositories, an owner with a course, and their tokens.
pub struct Deployer {
    pub app: TestApp,
    /// Project p runs as uid `uid_base + p`.
    pub uid_base: u32,
    /// Creates the projects.
    pub admin: String,
    /// A collaborator of every project: deploys and reads logs as a member does.
    pub owner: String,
    pub other: String,
    course_id: String,
}

impl Deployer {
    pub async fn spawn(backend: Backend, extra: &[&str]) -> Deployer {
        // Gateways of parallel tests number their projects alike: each gets its own
        // range of uids.
        let uid_base = 200_000 + (uuid::Uuid::new_v4().as_u128() % 50_000) as u32 * 1000;
        let mut flags = vec![
            "--allow-local-repositories".to_owned(),
            "true".into(),
            "--deploy-uid-base".into(),
            uid_base.to_string(),
        ];
        // Unless a test sets them: a disk per project only where a test asks (each is a
        // loop device, which a test that does not delete its projects would leave
        // mounted), and no cap on one person's active deploys (some tests have one owner
        // deploy many projects at once; the cap has its own test).
        let defaults = [
            ("--deploy-disk-mb", "0"),
            ("--deploy-start-timeout-secs", "20"),
            ("--deploy-max-active-per-user", "0"),
        ];
        for (flag, value) in defaults {
            if !extra.contains(&flag) {
                flags.extend([flag.to_owned(), value.to_owned()]);
            }
        }
        flags.extend(sandbox_flags());
        flags.extend(extra.iter().map(|s| (*s).to_owned()));
        let app = TestApp::spawn_with(backend, &flags).await;
        let (_, admin) = app.user_with_role("admin@uni.edu", RoleName::Admin).await;
        let (teacher_id, _) = app
            .user_with_role("teacher@uni.edu", RoleName::Teacher)
            .await;
        let (_, owner) = app.user_with_role("owner@uni.edu", RoleName::Student).await;
        let (_, other) = app.user_with_role("other@uni.edu", RoleName::Student).await;
        app.data_as(
            &admin,
            "mutation { createSubjects(subjects: [{code: \"DEP1\", name: \"Deploying\"}]) { id } }",
            json!({}),
        )
        .await;
        let course = app
            .data_as(
                &admin,
                "mutation($t: ID!) { createCourses(courses: [{subjectCode: \"DEP1\", teacherId: $t, group: \"A\"}]) { id } }",
                json!({ "t": teacher_id.to_string() }),
            )
            .await;
        let course_id = course["createCourses"][0]["id"]
            .as_str()
            .expect("an id")
            .to_owned();
        Deployer {
            app,
            uid_base,
            admin,
            owner,
            other,
            course_id,
        }
    }

    /// A project of the owner's on `repo`; returns its id.
    pub async fn project(&self, slug: &str, repo: &Repo) -> String {
        self.project_at(slug, &repo.path().display().to_string())
            .await
    }

    /// A project of the owner's on the repository at `url`; returns its id.
    pub async fn project_at(&self, slug: &str, url: &str) -> String {
        let data = self
            .app
            .data_as(
                &self.admin,
                "mutation($input: CreateProjectInput!) { createProject(input: $input) { id } }",
                json!({ "input": {
                    "name": format!("Project {slug}"),
                    "slug": slug,
                    "repositoryUrl": url,
                    "containerPort": 8080,
                    "courseIds": [self.course_id],
                }}),
            )
            .await;
        let id = data["createProject"]["id"]
            .as_str()
            .expect("an id")
            .to_owned();
        let owner_id = self
            .app
            .data_as(&self.owner, "{ me { id } }", json!({}))
            .await["me"]["id"]
            .clone();
        self.app
            .data_as(
                &self.admin,
                "mutation($p: ID!, $u: ID!) { addCollaborator(projectId: $p, userId: $u) { id } }",
                json!({ "p": id, "u": owner_id }),
            )
            .await;
        id
    }

    /// Asks for a deploy as the owner; returns the job.
    pub async fn deploy(&self, project: &str) -> Value {
        self.app
            .data_as(
                &self.owner,
                "mutation($p: ID!) { deployProject(projectId: $p) { id status progress deployment { id } } }",
                json!({ "p": project }),
            )
            .await["deployProject"]
            .clone()
    }

    /// Polls a job until it ends (or panics after `limit`); returns it with its
    /// deployment and BUILD log.
    pub async fn wait(&self, job_id: &Value, limit: Duration) -> Value {
        let deadline = std::time::Instant::now() + limit;
        loop {
            let job = self.job(job_id).await;
            let status = job["status"].as_str().unwrap_or_default().to_owned();
            if !matches!(status.as_str(), "PENDING" | "RUNNING") {
                return job;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "job still {status} after {limit:?}: {job}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Cancels a deployment as the owner; returns it.
    pub async fn cancel(&self, deployment_id: &Value) -> Value {
        self.app
            .data_as(
                &self.owner,
                "mutation($d: ID!) { cancelDeployment(id: $d) { id status } }",
                json!({ "d": deployment_id }),
            )
            .await["cancelDeployment"]
            .clone()
    }

    pub async fn job(&self, job_id: &Value) -> Value {
        self.app
            .data_as(
                &self.owner,
                "query($j: ID!) { job(id: $j) { id status progress message attempts deployment { id status successful commit endpoint logs(kind: BUILD, last: 200) { line } } } }",
                json!({ "j": job_id }),
            )
            .await["job"]
            .clone()
    }

    pub async fn runtime_log(&self, deployment_id: &Value) -> Vec<String> {
        let data = self
            .app
            .data_as(
                &self.owner,
                "query($d: ID!) { deployment(id: $d) { logs(kind: RUNTIME, last: 1000) { line } } }",
                json!({ "d": deployment_id }),
            )
            .await;
        lines(&data["deployment"]["logs"])
    }

    /// The RUNTIME log once a line matching `wanted` arrived (an app's output reaches
    /// the log a batch at a time, after the app may already be serving), or as it is
    /// when `limit` passes so that the caller's assertion shows what came.
    pub async fn runtime_log_with(
        &self,
        deployment_id: &Value,
        wanted: impl Fn(&str) -> bool,
        limit: Duration,
    ) -> Vec<String> {
        let deadline = std::time::Instant::now() + limit;
        loop {
            let log = self.runtime_log(deployment_id).await;
            if log.iter().any(|l| wanted(l)) || std::time::Instant::now() >= deadline {
                return log;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Whether the project is marked running, as its owner reads it.
    pub async fn running(&self, project: &str) -> bool {
        let data = self
            .app
            .data_as(
                &self.owner,
                "query($p: ID!) { project(id: $p) { running } }",
                json!({ "p": project }),
            )
            .await;
        data["project"]["running"].as_bool().expect("running")
    }

    /// Deletes a project as an admin.
    pub async fn delete_project(&self, project: &str) {
        self.app
            .data_as(
                &self.admin,
                "mutation($p: ID!) { deleteProject(id: $p) }",
                json!({ "p": project }),
            )
            .await;
    }

    pub async fn stop_project(&self, project: &str) {
        self.app
            .data_as(
                &self.owner,
                "mutation($p: ID!) { stopProject(projectId: $p) { running } }",
                json!({ "p": project }),
            )
            .await;
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        self.fetch(self.app.url(path)).await
    }

    /// `path` on the app of `slug`, at its own host.
    pub async fn get_app(&self, slug: &str, path: &str) -> (u16, String) {
        self.fetch(self.app.app_url(slug, path)).await
    }

    async fn fetch(&self, url: String) -> (u16, String) {
        let response = self
            .app
            .client
            .get(url)
            .send()
            .await
            .expect("the gateway answers");
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    }
}

pub fn lines(logs: &Value) -> Vec<String> {
    logs.as_array()
        .map(|lines| {
            lines
                .iter()
                .filter_map(|l| l["line"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

impl Deployer {
    /// The uid a project's code runs as.
    pub fn uid_of(&self, project_id: &str) -> u32 {
        self.uid_base + project_id.parse::<u32>().expect("a numeric id")
    }
}

pub const APP: &str = "build = \"echo building the app && mkdir -p generated && echo made > generated/made.txt\"\n\
start = \"exec python3 -m http.server $PORT --bind 127.0.0.1\"\n\
static = \"public\"\n";
