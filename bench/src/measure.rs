//! Timed runs: N requests in flight over keep-alive connections for a duration, each
//! answer checked, latencies in an HDR histogram; a row of the table is the median of
//! `--repeat` runs.

use super::*;
struct Outcome {
    requests: u64,
    errors: u64,
    elapsed: f64,
    histogram: Histogram<u64>,
    first_error: Option<String>,
}

async fn run(
    client: &reqwest::Client,
    url: &str,
    workload: &Workload,
    dataset: Arc<Dataset>,
    concurrency: usize,
    duration: Duration,
) -> Outcome {
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(concurrency);
    for worker in 0..concurrency {
        let (client, url, dataset, stop, errors) = (
            client.clone(),
            url.to_owned(),
            dataset.clone(),
            stop.clone(),
            errors.clone(),
        );
        let (name, query) = (workload.name, workload.query);
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(worker as u64 * 7919 + 17);
            let mut histogram =
                Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds");
            let mut first_error = None;
            while !stop.load(Ordering::Relaxed) {
                let (variables, token) = request(name, &dataset, &mut rng);
                let sent = Instant::now();
                let result = send(&client, &url, query, variables, token.as_deref()).await;
                let _ = histogram.record(sent.elapsed().as_micros() as u64);
                if let Err(error) = result {
                    errors.fetch_add(1, Ordering::Relaxed);
                    first_error.get_or_insert(error);
                }
            }
            (histogram, first_error)
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut histogram =
        Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds");
    let mut first_error = None;
    for task in tasks {
        if let Ok((h, e)) = task.await {
            let _ = histogram.add(&h);
            if first_error.is_none() {
                first_error = e;
            }
        }
    }
    Outcome {
        requests: histogram.len(),
        errors: errors.load(Ordering::Relaxed),
        elapsed: started.elapsed().as_secs_f64(),
        histogram,
        first_error,
    }
}

/// The run with the median requests/s (its latencies are the row's), its errors
/// replaced by all runs' errors, and the spread of requests/s over the runs.
fn median_run(mut outcomes: Vec<Outcome>) -> (Outcome, String) {
    let rate = |o: &Outcome| o.requests as f64 / o.elapsed;
    outcomes.sort_by(|a, b| rate(a).total_cmp(&rate(b)));
    let spread = format!(
        "{:.0}–{:.0}",
        rate(&outcomes[0]),
        rate(&outcomes[outcomes.len() - 1])
    );
    let errors = outcomes.iter().map(|o| o.errors).sum();
    let middle = outcomes.len() / 2;
    let mut median = outcomes.swap_remove(middle);
    median.errors = errors;
    if median.first_error.is_none() {
        median.first_error = outcomes.into_iter().find_map(|o| o.first_error);
    }
    (median, spread)
}

/// One row of the table: a workload at one concurrency.
pub(super) struct Row<'a> {
    pub(super) workload: &'a Workload,
    pub(super) concurrency: usize,
    pub(super) per_request: &'a str,
}

/// Runs the row's workload `--repeat` times (each after its warm-up) and prints the run
/// with the median requests/s, with the spread over all runs.
pub(super) async fn measure_row(
    cli: &Cli,
    client: &reqwest::Client,
    url: &str,
    dataset: &Arc<Dataset>,
    row: Row<'_>,
) {
    let Row {
        workload,
        concurrency,
        per_request,
    } = row;
    let timed = |seconds: f64| {
        let duration = Duration::from_secs_f64(seconds);
        run(
            client,
            url,
            workload,
            dataset.clone(),
            concurrency,
            duration,
        )
    };
    let mut outcomes = Vec::with_capacity(cli.repeat as usize);
    for _ in 0..cli.repeat {
        if cli.warmup > 0.0 {
            timed(cli.warmup).await;
        }
        outcomes.push(timed(cli.duration).await);
    }
    let (outcome, spread) = median_run(outcomes);
    let ms = |q: f64| outcome.histogram.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {} | {} |",
        cli.label,
        workload.name,
        concurrency,
        outcome.requests as f64 / outcome.elapsed,
        ms(0.50),
        ms(0.90),
        ms(0.99),
        outcome.errors,
        per_request,
        spread
    );
    if let Some(error) = outcome.first_error {
        eprintln!(
            "first error of {} at {concurrency}: {}",
            workload.name,
            error.chars().take(400).collect::<String>()
        );
    }
}
