//! `/readyz` on the operator address says what stops the gateway from serving: a main
//! listener with every connection slot taken, and a data disk with no room left.

use std::time::Duration;

use crate::helpers::{Backend, TestApp, TestDatabases};
use serde_json::Value;

async fn ready(client: &reqwest::Client, operator: &str) -> (u16, Value) {
    let response = client
        .get(format!("http://{operator}/readyz"))
        .send()
        .await
        .expect("the operator address answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

#[tokio::test]
async fn readyz_says_when_the_main_listener_is_saturated_and_recovers() {
    let operator = format!("127.0.0.1:{}", crate::production::free_port());
    let flags = [
        "--max-connections",
        "3",
        "--metrics-bind-addr",
        operator.as_str(),
    ];
    let app = TestApp::spawn_with(Backend::Sqlite, &flags).await;
    assert_eq!(ready(&app.client, &operator).await.0, 200);
    let held = super::hold_connections(app.addr, 3).await;
    let (status, body) = ready(&app.client, &operator).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body["checks"]["connections"]
            .as_str()
            .is_some_and(|c| c.contains("3 of 3")),
        "{body}"
    );
    drop(held);
    let mut recovered = false;
    for _ in 0..50 {
        if ready(&app.client, &operator).await.0 == 200 {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "ready again once connections close");
    app.stop().await;
}

#[tokio::test]
async fn readyz_says_when_the_data_disk_is_full_and_recovers() {
    if !crate::deploys::is_root() {
        eprintln!("skipped: a small file system for DATA_DIR needs root (CI runs it as root)");
        return;
    }
    let databases = TestDatabases::new(Backend::Sqlite);
    let data_dir = databases.data_dir();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=16m", "tmpfs"])
        .arg(&data_dir)
        .status()
        .expect("mount runs");
    assert!(mounted.success(), "a 16 MiB tmpfs for DATA_DIR");
    let operator = format!("127.0.0.1:{}", crate::production::free_port());
    let app = TestApp::spawn_on(databases, &["--metrics-bind-addr", operator.as_str()]).await;
    assert_eq!(ready(&app.client, &operator).await.0, 200);
    let filler = data_dir.join("filler");
    let chunk = vec![0u8; 1024 * 1024];
    let mut file = std::fs::File::create(&filler).expect("a file");
    while std::io::Write::write_all(&mut file, &chunk).is_ok() {}
    drop(file);
    let (status, body) = ready(&app.client, &operator).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body["checks"]["dataDisk"]
            .as_str()
            .is_some_and(|c| c.starts_with("full")),
        "{body}"
    );
    std::fs::remove_file(&filler).expect("removed");
    assert_eq!(ready(&app.client, &operator).await.0, 200);
    app.stop().await;
    let _ = std::process::Command::new("umount")
        .arg("-l")
        .arg(&data_dir)
        .status();
}
