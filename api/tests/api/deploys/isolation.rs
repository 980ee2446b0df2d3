//! A build and an app each live in a network of their own: the host's PostgreSQL,
//! MariaDB, the gateway's own listeners and another app are out of reach, private,
//! shared and link-local ranges and the host's own subnets have no route (looked up,
//! no packet sent), and only the configured student PostgreSQL answers; `/proc` shows
//! their own processes only and `/tmp` is their own.

use std::time::Duration;

use serde_json::Value;

use super::{Deployer, Repo, is_root, lines};
use crate::{helpers::Backend, wire::Wire};

const LIMIT: Duration = Duration::from_secs(90);

/// `python3 probe.py <who> <label=host:port>... -- <address>...`: prints `OPEN`/`CLOSED`
/// per target, what PostgreSQL said to an SSLRequest, `ROUTE yes|no` per address (a
/// route lookup: nothing is sent), the processes it sees, and leaves a file in /tmp.
const PROBE: &str = r#"import os, socket, subprocess, sys
who = sys.argv[1]
args = sys.argv[2:]
split = args.index('--')
for target in args[:split]:
    label, addr = target.split('=')
    host, port = addr.rsplit(':', 1)
    s = socket.socket(); s.settimeout(3)
    try:
        s.connect((host, int(port)))
        if label == 'student_pg':
            s.sendall(bytes([0, 0, 0, 8, 4, 210, 22, 47]))
            print(who, 'PG', s.recv(1).decode(errors='replace'), flush=True)
        print(who, 'OPEN', label, flush=True)
    except OSError as e:
        print(who, 'CLOSED', label, e, flush=True)
    finally:
        s.close()
for address in args[split + 1:]:
    r = subprocess.run(['ip', 'route', 'get', address], capture_output=True, text=True)
    print(who, 'ROUTE', address, 'yes' if r.returncode == 0 else 'no', flush=True)
pids = [p for p in os.listdir('/proc') if p.isdigit()]
print(who, 'PROCS', len(pids), flush=True)
print(who, 'TMP', ','.join(sorted(os.listdir('/tmp'))) or '-', flush=True)
open('/tmp/' + who + '-was-here', 'w').write('x')
"#;

/// A route lookup target inside each blocked range, and the host's own addresses.
fn unroutable() -> Vec<String> {
    let mut addresses: Vec<String> = deploy::sandbox::net::blocked_ranges()
        .iter()
        .filter(|(net, _)| !net.is_loopback())
        .map(|(net, _)| std::net::Ipv4Addr::from(u32::from(*net) + 1).to_string())
        .collect();
    let output = std::process::Command::new("ip")
        .args(["-j", "-4", "addr", "show"])
        .output()
        .expect("ip runs");
    let interfaces: Value = serde_json::from_slice(&output.stdout).expect("ip's json");
    for interface in interfaces.as_array().into_iter().flatten() {
        for info in interface["addr_info"].as_array().into_iter().flatten() {
            if let Some(local) = info["local"].as_str()
                && !local.starts_with("127.")
            {
                addresses.push(local.to_owned());
            }
        }
    }
    addresses
}

#[tokio::test]
async fn a_build_and_an_app_reach_only_the_student_database_server_and_public_routes() {
    if !is_root() {
        eprintln!("skipped: namespaces need root (CI runs it as root)");
        return;
    }
    let upstream = std::env::var("TEST_DATABASE_URL")
        .ok()
        .and_then(|u| url::Url::parse(&u).ok())
        .map(|u| format!("127.0.0.1:{}", u.port().unwrap_or(5432)))
        .unwrap_or_else(|| "127.0.0.1:5432".into());
    // The student database server, as configured: its own port, forwarded to PostgreSQL.
    let student_pg = Wire::start(upstream.clone()).await;
    let operator = format!("127.0.0.1:{}", crate::production::free_port());
    let admin_url = format!("postgres://postgres@127.0.0.1:{}/postgres", student_pg.port);
    let flags = [
        "--student-postgres-admin-url",
        admin_url.as_str(),
        "--metrics-bind-addr",
        operator.as_str(),
    ];
    let d = Deployer::spawn(Backend::Sqlite, &flags).await;
    let other = deploy_plain_app(&d).await;
    let targets = [
        format!("host_pg={upstream}"),
        "host_mariadb=127.0.0.1:3306".into(),
        format!("gateway={}", d.app.addr),
        format!("operator={operator}"),
        format!("other_app={other}"),
        format!("student_pg=127.0.0.1:{}", student_pg.port),
    ];
    let mut probe_args: Vec<String> = targets.to_vec();
    probe_args.push("--".into());
    probe_args.extend(unroutable());
    // A public address must still have a route (looked up only).
    probe_args.push("9.9.9.9".into());
    let args = probe_args.join(" ");
    let spec = format!(
        "build = \"python3 probe.py build {args}\"\n\
         start = \"python3 probe.py app {args} && exec python3 -m http.server $PORT --bind 127.0.0.1\"\n"
    );
    let repo = Repo::new(&[("deploy.toml", spec.as_str()), ("probe.py", PROBE)]);
    let project = d.project("probe-net", &repo).await;
    let job = d.deploy(&project).await;
    let done = d.wait(&job["id"], LIMIT).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    let build = lines(&done["deployment"]["logs"]);
    let app = d
        .runtime_log_with(
            &job["deployment"]["id"],
            |l| l.starts_with("app TMP"),
            LIMIT,
        )
        .await;
    for (who, log) in [("build", &build), ("app", &app)] {
        only_the_student_server_answers(who, log);
        no_private_route(who, log, &probe_args);
        sees_only_itself(who, log);
    }
    d.app.stop().await;
}

/// A second app, whose endpoint (on the host's loopback) the probe tries.
async fn deploy_plain_app(d: &Deployer) -> String {
    let repo = Repo::new(&[(
        "deploy.toml",
        "start = \"exec python3 -m http.server $PORT --bind 127.0.0.1\"\n",
    )]);
    let project = d.project("plain-app", &repo).await;
    let done = d.wait(&d.deploy(&project).await["id"], LIMIT).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    let endpoint = done["deployment"]["endpoint"]
        .as_str()
        .expect("an endpoint")
        .to_owned();
    let (status, _) = d.get_app("plain-app", "/").await;
    assert_eq!(status, 200, "the gateway itself reaches the app");
    endpoint
}

fn only_the_student_server_answers(who: &str, log: &[String]) {
    for label in [
        "host_pg",
        "host_mariadb",
        "gateway",
        "operator",
        "other_app",
    ] {
        assert!(
            log.iter()
                .any(|l| l.starts_with(&format!("{who} CLOSED {label} "))),
            "{who} must not reach {label}: {log:?}"
        );
    }
    assert!(
        log.contains(&format!("{who} OPEN student_pg")),
        "{who} reaches the student database server: {log:?}"
    );
    assert!(
        log.contains(&format!("{who} PG N")) || log.contains(&format!("{who} PG S")),
        "PostgreSQL itself answered the SSLRequest: {log:?}"
    );
}

fn no_private_route(who: &str, log: &[String], args: &[String]) {
    let split = args.iter().position(|a| a == "--").expect("--");
    for address in &args[split + 1..args.len() - 1] {
        assert!(
            log.contains(&format!("{who} ROUTE {address} no")),
            "{who} has a route to {address}: {log:?}"
        );
    }
    assert!(
        log.contains(&format!("{who} ROUTE 9.9.9.9 yes")),
        "{who} keeps public egress: {log:?}"
    );
}

fn sees_only_itself(who: &str, log: &[String]) {
    let procs: usize = log
        .iter()
        .find_map(|l| l.strip_prefix(&format!("{who} PROCS ")))
        .and_then(|n| n.parse().ok())
        .expect("a count of processes");
    assert!(
        procs <= 8,
        "{who} sees {procs} processes: only its own (PID namespace)"
    );
    // The build ran first and left `build-was-here` in its /tmp: the app's is its own.
    let tmp = log
        .iter()
        .find_map(|l| l.strip_prefix(&format!("{who} TMP ")))
        .expect("a listing of /tmp");
    assert!(
        !tmp.contains("was-here"),
        "{who} sees another sandbox's /tmp: {tmp}"
    );
}
