//! The README's deploy contract, as written: its `deploy.toml` deploys a Python app in a
//! virtual environment of its own (no `pip install --user`, which Debian's Python
//! refuses), serves its static folder and answers its health path.

use std::time::Duration;

use super::{Deployer, Repo};
use crate::helpers::Backend;

const LIMIT: Duration = Duration::from_secs(120);

/// The `deploy.toml` of the README's contract section.
fn readme_deploy_toml() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("the README");
    let section = readme
        .split("**The contract for a student repository**")
        .nth(1)
        .expect("the contract section");
    let block = section
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("its deploy.toml");
    block.to_owned()
}

const APP: &str = "import os
from http.server import BaseHTTPRequestHandler, HTTPServer

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'healthy' if self.path == '/health' else b'dynamic'
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

HTTPServer(('127.0.0.1', int(os.environ['PORT'])), Handler).serve_forever()
";

#[tokio::test]
async fn the_readmes_deploy_toml_deploys_a_python_app_in_its_own_virtualenv() {
    let d = Deployer::spawn(Backend::Sqlite, &[]).await;
    let toml = readme_deploy_toml();
    assert!(toml.contains(".venv"), "{toml}");
    let repo = Repo::new(&[
        ("deploy.toml", &toml),
        // Nothing to download: no test may need the internet.
        ("requirements.txt", ""),
        ("app.py", APP),
        ("public/site.css", "body { color: teal }"),
    ]);
    let project = d.project("readme-app", &repo).await;
    let done = d.wait(&d.deploy(&project).await["id"], LIMIT).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    assert_eq!(
        d.get_app("readme-app", "/health").await,
        (200, "healthy".to_owned())
    );
    assert_eq!(
        d.get_app("readme-app", "/").await,
        (200, "dynamic".to_owned())
    );
    assert_eq!(
        d.get_app("readme-app", "/site.css").await,
        (200, "body { color: teal }".to_owned())
    );
    d.app.stop().await;
}
