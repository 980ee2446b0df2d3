//! Patched in: see vendor/README.md of the gateway's repository.
//!
//! Round trips to each database, counted as the `ReadyForQuery` messages received after
//! the start-up: every exchange that waits on the server (an extended-protocol `Sync`,
//! a simple query, a ping) ends with exactly one.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicU64, Ordering},
};

static COUNTERS: Mutex<Vec<(String, Arc<AtomicU64>)>> = Mutex::new(Vec::new());

/// The counter of `database`, shared by every connection to it.
pub(crate) fn counter(database: &str) -> Arc<AtomicU64> {
    let mut counters = COUNTERS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, counter)) = counters.iter().find(|(name, _)| name == database) {
        return counter.clone();
    }
    let counter = Arc::new(AtomicU64::new(0));
    counters.push((database.to_owned(), counter.clone()));
    counter
}

/// Round trips so far to each database this process connected to, by database name.
pub fn snapshot() -> Vec<(String, u64)> {
    let counters = COUNTERS.lock().unwrap_or_else(|e| e.into_inner());
    counters
        .iter()
        .map(|(name, counter)| (name.clone(), counter.load(Ordering::Relaxed)))
        .collect()
}
