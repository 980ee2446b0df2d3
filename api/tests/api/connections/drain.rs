//! Slow clients during a shutdown and a stalled upload; the drain itself.

use super::*;
use crate::helpers::eventually;

#[tokio::test]
async fn a_shutdown_does_not_wait_for_a_slow_client_past_its_grace() {
    let app = TestApp::spawn_with(Backend::Sqlite, &["--shutdown-grace-secs", "1"]).await;
    // A request whose body never finishes arriving.
    let mut slow = TcpStream::connect(app.addr).await.expect("connects");
    slow.write_all(
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"query\":",
    )
    .await
    .expect("writes");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stopped = tokio::time::timeout(Duration::from_secs(15), app.stop()).await;
    assert!(stopped.is_ok(), "the server exited despite the slow client");
}

#[tokio::test]
async fn an_upload_that_stalls_halfway_times_out_and_leaves_no_file_behind() {
    let app = TestApp::spawn_with(Backend::Sqlite, &["--request-timeout-secs", "1"]).await;
    let (_, token) = app
        .user_with_role("uploader@uni.edu", api::users::model::RoleName::Student)
        .await;
    let files = app.databases.data_dir().join("files");
    let stored = || {
        std::fs::read_dir(&files)
            .map(|entries| entries.flatten().count())
            .unwrap_or(0)
    };
    let boundary = "cutoff";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\
         Content-Type: image/png\r\n\r\n"
    );
    let mut stream = TcpStream::connect(app.addr).await.expect("connects");
    let request = format!(
        "POST /files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: 1000000\r\n\r\n{head}"
    );
    stream.write_all(request.as_bytes()).await.expect("writes");
    // Half a megabyte of the promised million, then nothing: the request times out.
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.resize(500_000, 0);
    stream.write_all(&png).await.expect("writes");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while stored() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the upload never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while stored() > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "a cut-off upload left {} files",
            stored()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut answer = vec![0u8; 1024];
    let n = stream.read(&mut answer).await.unwrap_or(0);
    assert!(
        String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&answer[..n])
    );
    drop(stream);
    app.stop().await;
}

/// Posts `query` with no token; (status, body text).
async fn post_text(client: reqwest::Client, url: String, query: &'static str) -> (u16, String) {
    let response = client
        .post(url)
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("answered");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

#[tokio::test]
async fn while_it_drains_the_gateway_refuses_new_work_and_its_probes_say_not_ready() {
    // A table lock keeps one request in flight; only PostgreSQL has one to hold.
    if !crate::helpers::backends().contains(&Backend::Postgres) {
        return;
    }
    let operator = format!("127.0.0.1:{}", crate::production::free_port());
    let app = TestApp::spawn_with(
        Backend::Postgres,
        &[
            "--metrics-bind-addr",
            &operator,
            "--shutdown-grace-secs",
            "30",
        ],
    )
    .await;
    let prober = app.client.clone();
    let probe = |path: &str| {
        let (client, url) = (prober.clone(), format!("http://{operator}{path}"));
        async move { client.get(url).send().await.map(|r| r.status().as_u16()) }
    };
    assert_eq!(probe("/readyz").await.ok(), Some(200));

    let lock = crate::helpers::TableLock::take(&app, migration::Domain::Academic, "subjects").await;
    let in_flight = tokio::spawn(post_text(
        app.client.clone(),
        app.url("/graphql"),
        "{ subjects(first: 1) { totalCount } }",
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.state.shutdown.cancel();

    // Draining: no new connection on the main address, probes say not ready (and alive).
    let within = Duration::from_millis(2500);
    eventually(within, "the main listener closes at once", || async {
        match TcpStream::connect(app.addr).await {
            Err(_) => Ok(()),
            Ok(_) => Err("still accepting"),
        }
    })
    .await;
    assert_eq!(probe("/readyz").await.ok(), Some(503));
    assert_eq!(probe("/livez").await.ok(), Some(200));
    assert!(
        !in_flight.is_finished(),
        "the request in flight is still running"
    );

    // The request in flight finishes; then the process is done, probes included.
    lock.release().await;
    let (status, body) = in_flight.await.expect("the request task");
    assert_eq!(status, 200, "{body}");
    app.stop().await;
    assert!(
        probe("/livez").await.is_err(),
        "the operator address closes last"
    );
}
