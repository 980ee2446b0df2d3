//! N requests in flight over keep-alive connections for a while, every answer checked,
//! latencies in an HDR histogram.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use hdrhistogram::Histogram;
use rand::{SeedableRng, rngs::StdRng};

/// Makes the next request (from a worker's own random numbers).
pub(super) type MakeRequest =
    Arc<dyn Fn(&reqwest::Client, &mut StdRng) -> reqwest::RequestBuilder + Send + Sync>;

/// Whether an answer's body is right.
pub(super) type Check = fn(&str) -> bool;

pub(super) struct Outcome {
    pub(super) rate: f64,
    pub(super) p50: f64,
    pub(super) p99: f64,
    pub(super) errors: u64,
    pub(super) first_error: Option<String>,
}

fn histogram() -> Histogram<u64> {
    Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds")
}

async fn one(request: reqwest::RequestBuilder, check: Check) -> Result<(), String> {
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let body = response.text().await.map_err(|e| e.to_string())?;
    if status != 200 || !check(&body) {
        return Err(format!(
            "{status}: {}",
            body.chars().take(300).collect::<String>()
        ));
    }
    Ok(())
}

pub(super) async fn run(
    client: &reqwest::Client,
    concurrency: usize,
    duration: Duration,
    make: &MakeRequest,
    check: Check,
) -> Outcome {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|worker| {
            let (client, make, stop) = (client.clone(), make.clone(), stop.clone());
            tokio::spawn(async move {
                let mut rng = StdRng::seed_from_u64(worker as u64 * 7919 + 17);
                let (mut h, mut errors, mut first_error) = (histogram(), 0u64, None);
                while !stop.load(Ordering::Relaxed) {
                    let sent = Instant::now();
                    let result = one(make(&client, &mut rng), check).await;
                    let _ = h.record(sent.elapsed().as_micros() as u64);
                    if let Err(error) = result {
                        errors += 1;
                        first_error.get_or_insert(error);
                    }
                }
                (h, errors, first_error)
            })
        })
        .collect();
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let (mut all, mut errors, mut first_error) = (histogram(), 0, None);
    for task in tasks {
        if let Ok((h, e, first)) = task.await {
            let _ = all.add(&h);
            errors += e;
            first_error = first_error.or(first);
        }
    }
    let ms = |q: f64| all.value_at_quantile(q) as f64 / 1000.0;
    Outcome {
        rate: all.len() as f64 / started.elapsed().as_secs_f64(),
        p50: ms(0.5),
        p99: ms(0.99),
        errors,
        first_error,
    }
}
