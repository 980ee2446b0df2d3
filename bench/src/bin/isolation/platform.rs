//! The platform as the benchmark drives it: GraphQL calls as the dataset's admin, and
//! git repositories holding the `tiny-app` binary.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

pub(super) struct Platform {
    pub(super) client: reqwest::Client,
    pub(super) graphql: String,
    pub(super) token: String,
    pub(super) course: i32,
}

impl Platform {
    pub(super) async fn call(&self, query: &str, variables: Value) -> Result<Value, String> {
        let answer: Value = self
            .client
            .post(&self.graphql)
            .bearer_auth(&self.token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .map_err(|e| format!("POST /graphql: {e}"))?
            .json()
            .await
            .map_err(|e| format!("POST /graphql: {e}"))?;
        if let Some(errors) = answer.get("errors") {
            return Err(format!("{query}: {errors}"));
        }
        Ok(answer["data"].clone())
    }

    /// A project on the repository at `repo`; returns its id.
    pub(super) async fn project(&self, slug: &str, repo: &Path) -> Result<String, String> {
        let data = self
            .call(
                "mutation($input: CreateProjectInput!) { createProject(input: $input) { id } }",
                json!({ "input": {
                    "name": format!("Isolation {slug}"),
                    "slug": slug,
                    "repositoryUrl": repo.display().to_string(),
                    "containerPort": 8080,
                    "courseIds": [self.course.to_string()],
                }}),
            )
            .await?;
        data["createProject"]["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("createProject answered {data}"))
    }

    /// Deploys (or, with `start`, starts the last build of) a project and waits until
    /// its job succeeded.
    pub(super) async fn run(&self, project: &str, start: bool) -> Result<(), String> {
        let mutation = if start {
            "mutation($p: ID!) { job: startProject(projectId: $p) { id } }"
        } else {
            "mutation($p: ID!) { job: deployProject(projectId: $p) { id } }"
        };
        let job = self.call(mutation, json!({ "p": project })).await?["job"]["id"].clone();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let data = self
                .call(
                    "query($j: ID!) { job(id: $j) { status message } }",
                    json!({ "j": job }),
                )
                .await?;
            match data["job"]["status"].as_str() {
                Some("SUCCEEDED") => return Ok(()),
                Some("PENDING" | "RUNNING") if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                _ => return Err(format!("the job of project {project}: {data}")),
            }
        }
    }

    pub(super) async fn stop(&self, project: &str) -> Result<(), String> {
        self.call(
            "mutation($p: ID!) { stopProject(projectId: $p) { running } }",
            json!({ "p": project }),
        )
        .await
        .map(drop)
    }

    pub(super) async fn delete(&self, project: &str) -> Result<(), String> {
        self.call(
            "mutation($p: ID!) { deleteProject(id: $p) }",
            json!({ "p": project }),
        )
        .await
        .map(drop)
    }
}

/// A git repository (readable by the project's user) whose app is `tiny-app` with `args`.
pub(super) fn repo(dir: &Path, name: &str, app: &Path, args: &str) -> Result<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    let repo = dir.join(name);
    let fail = |e: std::io::Error| format!("{}: {e}", repo.display());
    std::fs::create_dir_all(&repo).map_err(fail)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).map_err(fail)?;
    std::fs::set_permissions(&repo, std::fs::Permissions::from_mode(0o755)).map_err(fail)?;
    std::fs::copy(app, repo.join("tiny-app")).map_err(fail)?;
    std::fs::write(
        repo.join("deploy.toml"),
        format!("start = \"exec ./tiny-app {args}\"\n"),
    )
    .map_err(fail)?;
    for args in [
        &["init", "-q", "-b", "main"][..],
        &["add", "-A"],
        &["commit", "-q", "-m", "the app"],
    ] {
        let status = std::process::Command::new("git")
            .args(["-c", "user.name=Bench", "-c", "user.email=bench@uni.edu"])
            .args(args)
            .current_dir(&repo)
            .status()
            .map_err(fail)?;
        if !status.success() {
            return Err(format!("git {args:?} in {}: {status}", repo.display()));
        }
    }
    Ok(repo)
}

/// The loopback ports the sandbox's forwarders (`pasta`) listen on: the apps' own
/// addresses, which only the gateway's proxy is meant to use.
pub(super) fn forwarded_ports() -> Vec<u16> {
    let Ok(output) = std::process::Command::new("ss").args(["-Htlnp"]).output() else {
        return Vec::new();
    };
    String::from_utf8_lossy(&output.stdout)
        .lines()
        // pasta runs as `pasta`, or as `passt` or `passt.avx2` (what it executes).
        .filter(|l| l.contains("((\"pasta") || l.contains("((\"passt"))
        .filter_map(|l| l.split_whitespace().nth(3))
        .filter_map(|local| local.strip_prefix("127.0.0.1:"))
        .filter_map(|port| port.parse().ok())
        .collect()
}
