//! Subscription fan-out: N graphql-transport-ws clients follow `projectDeployments` of
//! one project while a producer queues and cancels deploys of it (`deployProject`, then
//! `cancelDeployment`: two events per cycle, nothing runs). Reports the events published
//! per second, the deliveries per second across all subscribers, the latency from the
//! mutation being sent to each subscriber receiving its event, and how many deliveries
//! were missed. The baseline, in the same run, is the producer's cycle rate with nobody
//! subscribed, so other machines compare as ratios.
//!
//!   bash bench/fanout.sh [sqlite|postgres|both] [seconds] [subscribers]

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

#[derive(Parser)]
#[command(name = "fanout")]
struct Cli {
    /// The gateway the producer sends mutations to.
    #[arg(long, default_value = "http://127.0.0.1:8000")]
    url: String,
    /// The gateway subscribers connect to (another replica: events cross LISTEN/NOTIFY);
    /// the producer's by default.
    #[arg(long)]
    subscribe_url: Option<String>,
    /// An admin's access token.
    #[arg(long)]
    token: String,
    /// The project deployed and cancelled.
    #[arg(long)]
    project: i32,
    #[arg(long, default_value_t = 200)]
    subscribers: usize,
    /// Seconds of each run.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    #[arg(long, default_value = "")]
    label: String,
}

/// An event a subscriber should receive: (deployment id, status).
type Key = (String, String);

struct Producer {
    client: reqwest::Client,
    url: String,
    token: String,
    project: i32,
}

impl Producer {
    async fn call(&self, query: &str, variables: Value) -> Value {
        let body: Value = self
            .client
            .post(format!("{}/graphql", self.url))
            .bearer_auth(&self.token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("the gateway answers")
            .json()
            .await
            .expect("json");
        assert!(body.get("errors").is_none(), "{body}");
        body["data"].clone()
    }

    /// One deploy queued and cancelled; returns the events it caused with when the
    /// mutation causing each was sent.
    async fn cycle(&self) -> [(Key, Instant); 2] {
        let queued_at = Instant::now();
        let data = self
            .call(
                "mutation($p: ID!) { deployProject(projectId: $p) { deployment { id } } }",
                json!({ "p": self.project }),
            )
            .await;
        let id = data["deployProject"]["deployment"]["id"]
            .as_str()
            .expect("an id")
            .to_owned();
        let cancelled_at = Instant::now();
        self.call(
            "mutation($d: ID!) { cancelDeployment(id: $d) { id } }",
            json!({ "d": id }),
        )
        .await;
        [
            ((id.clone(), "PENDING".into()), queued_at),
            ((id, "CANCELLED".into()), cancelled_at),
        ]
    }

    /// Cycles for `seconds`; returns every event caused.
    async fn run(&self, seconds: f64) -> Vec<(Key, Instant)> {
        let end = Instant::now() + Duration::from_secs_f64(seconds);
        let mut events = Vec::new();
        while Instant::now() < end {
            events.extend(self.cycle().await);
        }
        events
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A graphql-transport-ws connection signed in as `token` and subscribed to the
/// project's deployments.
async fn subscribed(ws_url: String, token: &str, project: i32) -> Socket {
    let mut request = ws_url.into_client_request().expect("a request");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().expect("a header"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("connected");
    let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } });
    socket
        .send(Message::text(init.to_string()))
        .await
        .expect("sent");
    let subscribe = json!({ "id": "1", "type": "subscribe", "payload": {
        "query": "subscription($p: ID!) { projectDeployments(projectId: $p) { deploymentId status } }",
        "variables": { "p": project } } });
    socket
        .send(Message::text(subscribe.to_string()))
        .await
        .expect("sent");
    socket
}

/// A subscriber: waits for its first update (the current state), then records each
/// update's key and arrival until `stop`.
async fn subscriber(
    ws_url: String,
    token: String,
    project: i32,
    ready: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
) -> Vec<(Key, Instant)> {
    let mut socket = subscribed(ws_url, &token, project).await;
    let mut seen = Vec::new();
    let mut first = true;
    while !stop.load(Ordering::Relaxed) {
        let Ok(Some(Ok(message))) =
            tokio::time::timeout(Duration::from_millis(200), socket.next()).await
        else {
            continue;
        };
        let at = Instant::now();
        let Message::Text(text) = message else {
            continue;
        };
        let body: Value = serde_json::from_str(&text).expect("json");
        if body["type"] != "next" {
            continue;
        }
        if first {
            first = false;
            ready.fetch_add(1, Ordering::SeqCst);
            continue;
        }
        let update = &body["payload"]["data"]["projectDeployments"];
        seen.push((
            (
                update["deploymentId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                update["status"].as_str().unwrap_or_default().to_owned(),
            ),
            at,
        ));
    }
    let _ = socket.close(None).await;
    seen
}

/// Each subscriber's updates matched with when the producer caused them: the latency
/// of each delivery, how many were delivered, and how many matched no event of the run.
async fn tally(
    events: &[(Key, Instant)],
    tasks: Vec<tokio::task::JoinHandle<Vec<(Key, Instant)>>>,
) -> (Histogram<u64>, u64, u64) {
    let sent: HashMap<Key, Instant> = events.iter().cloned().collect();
    let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("bounds");
    let (mut delivered, mut other) = (0u64, 0u64);
    for task in tasks {
        for (key, at) in task.await.expect("a subscriber") {
            match sent.get(&key) {
                Some(t0) => {
                    delivered += 1;
                    let micros = at.saturating_duration_since(*t0).as_micros();
                    let _ = latency.record(u64::try_from(micros).unwrap_or(u64::MAX).max(1));
                }
                // A resend of the current state (a subscriber that fell behind), or an
                // event from before the run.
                None => other += 1,
            }
        }
    }
    (latency, delivered, other)
}

fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let producer = Producer {
        client: reqwest::Client::new(),
        url: cli.url.clone(),
        token: cli.token.clone(),
        project: cli.project,
    };
    // Warm up, then the baseline: nobody subscribed.
    producer.run(1.0).await;
    let baseline = producer.run(cli.duration).await.len() as f64 / 2.0 / cli.duration;

    let subscribe_url = cli.subscribe_url.clone().unwrap_or_else(|| cli.url.clone());
    let ws_url = format!("{}/graphql/ws", subscribe_url.replacen("http", "ws", 1));
    let ready = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..cli.subscribers)
        .map(|_| {
            tokio::spawn(subscriber(
                ws_url.clone(),
                cli.token.clone(),
                cli.project,
                ready.clone(),
                stop.clone(),
            ))
        })
        .collect();
    // Every subscriber has its current state: all are following.
    let deadline = Instant::now() + Duration::from_secs(60);
    while (ready.load(Ordering::SeqCst) as usize) < cli.subscribers {
        assert!(Instant::now() < deadline, "subscribers never got ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let started = Instant::now();
    let events = producer.run(cli.duration).await;
    let elapsed = started.elapsed().as_secs_f64();
    // Stragglers.
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::SeqCst);
    let (latency, delivered, other) = tally(&events, tasks).await;
    let expected = events.len() as u64 * cli.subscribers as u64;
    let cycles = events.len() as f64 / 2.0 / elapsed;
    println!(
        "| {} | {} | {:.0} | {:.0} | {:.2} | {:.0} | {:.0} | {:.1} | {:.1} | {:.1} | {} of {} | {} |",
        cli.label,
        cli.subscribers,
        baseline,
        cycles,
        cycles / baseline,
        events.len() as f64 / elapsed,
        delivered as f64 / elapsed,
        ms(latency.value_at_quantile(0.5)),
        ms(latency.value_at_quantile(0.99)),
        ms(latency.max()),
        expected - delivered.min(expected),
        expected,
        other,
    );
}
