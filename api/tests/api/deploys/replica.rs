//! Other replicas of a test's gateway, on its databases, data and deploy folders: one in
//! the test's process, or the real binary as a child process.

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    process::{Child, Command, Stdio},
};

use api::{app, config::Config, state::AppState};
use tokio::sync::oneshot;

use super::Deployer;

/// The flags that put a replica on `d`'s databases and folders.
fn shared_flags(d: &Deployer) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "--bind".into(),
        "127.0.0.1:0".into(),
        "--data-dir".into(),
        d.app.databases.data_dir().display().to_string(),
        "--deploy-dir".into(),
        d.app
            .deploy_dir
            .path()
            .join("deployments")
            .display()
            .to_string(),
        "--allow-local-repositories".into(),
        "true".into(),
        "--deploy-uid-base".into(),
        d.uid_base.to_string(),
        "--rate-limit-mutations-per-minute".into(),
        "0".into(),
    ];
    for (domain, url) in &d.app.databases.urls {
        args.push(format!("--{}-database-url", domain.name()));
        args.push(url.clone());
    }
    args.extend(super::sandbox_flags());
    args
}

/// A second gateway on the first one's databases, data and deploy folders.
pub struct Replica {
    pub state: AppState,
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl Replica {
    pub async fn of(d: &Deployer, extra: &[&str]) -> Replica {
        let mut args: Vec<String> = vec!["api".into()];
        args.extend(shared_flags(d));
        args.extend(
            [
                "--database-max-connections",
                "4",
                "--deploy-shutdown-grace-secs",
                "0",
            ]
            .map(String::from),
        );
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let built = app::build(Config::from_args(args).expect("flags parse"))
            .await
            .expect("the replica starts");
        let state = built.state.clone();
        let addr = built.local_addr().expect("a bound address");
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            built
                .serve(async {
                    let _ = rx.await;
                })
                .await
                .expect("the replica serves");
        });
        Replica {
            state,
            addr,
            shutdown: Some(tx),
            server: Some(server),
        }
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

/// The real binary, as a child process; killed when dropped.
pub struct Binary {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Binary {
    pub async fn of(d: &Deployer, extra: &[&str]) -> Binary {
        let mut child = Command::new(env!("CARGO_BIN_EXE_api"))
            .args(shared_flags(d))
            .args(extra)
            .env("RUST_LOG", "error")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the replica starts");
        let stdout = child.stdout.take().expect("stdout");
        // It prints "GraphiQL: http://<addr>/ …" once it listens; the rest of its output
        // is read (and dropped) so that it never writes into a closed pipe.
        let (tx, rx) = oneshot::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let line = rx.await.expect("the first line");
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .and_then(|addr| addr.parse::<SocketAddr>().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        Binary { child, addr }
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
