//! Waiting for something another process or task does, with a deadline.

use std::{fmt::Debug, future::Future, time::Duration};

/// Calls `check` every 50 ms until it answers `Ok`, and returns that value. Panics with
/// `what` and the last `Err` when `within` has passed.
pub async fn eventually<T, E: Debug, F, Fut>(within: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let deadline = std::time::Instant::now() + within;
    loop {
        match check().await {
            Ok(value) => return value,
            Err(last) => assert!(
                std::time::Instant::now() < deadline,
                "{what} (waited {within:?}; last: {last:?})"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
