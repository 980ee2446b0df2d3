//! Internal errors are written to `error_logs` once per distinct cause per window (a
//! minute): a client that can trigger one cannot fill the table. Repeats are counted;
//! the next row written for that cause says how many the window before held, and
//! `/metrics` counts every occurrence.

use std::{
    collections::HashMap,
    sync::{
        Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

/// How long one cause is recorded once.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Distinct causes tracked at once; past it, new causes within a window are counted only.
const MAX_CAUSES: usize = 1024;

struct Seen {
    since: Instant,
    repeats: u64,
}

/// Which occurrences of internal errors get written.
#[derive(Default)]
pub struct ErrorThrottle {
    seen: Mutex<HashMap<String, Seen>>,
    occurred: AtomicU64,
    recorded: AtomicU64,
}

impl ErrorThrottle {
    /// Whether this occurrence of `cause` is written: `Some(n)` with the repeats of the
    /// cause's previous window (left unwritten), `None` to count it only.
    pub fn admit(&self, cause: &str, now: Instant) -> Option<u64> {
        self.occurred.fetch_add(1, Ordering::Relaxed);
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = seen.get_mut(cause) {
            if now.duration_since(entry.since) < WINDOW {
                entry.repeats += 1;
                return None;
            }
            let earlier = entry.repeats;
            *entry = Seen {
                since: now,
                repeats: 0,
            };
            self.recorded.fetch_add(1, Ordering::Relaxed);
            return Some(earlier);
        }
        if seen.len() >= MAX_CAUSES {
            seen.retain(|_, entry| now.duration_since(entry.since) < WINDOW);
            if seen.len() >= MAX_CAUSES {
                return None;
            }
        }
        seen.insert(
            cause.to_owned(),
            Seen {
                since: now,
                repeats: 0,
            },
        );
        self.recorded.fetch_add(1, Ordering::Relaxed);
        Some(0)
    }

    /// Internal errors that occurred, and those written.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.occurred.load(Ordering::Relaxed),
            self.recorded.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_is_written_once_per_window_and_its_repeats_are_counted() {
        let throttle = ErrorThrottle::default();
        let start = Instant::now();
        assert_eq!(throttle.admit("a", start), Some(0));
        assert_eq!(throttle.admit("a", start + Duration::from_secs(1)), None);
        assert_eq!(throttle.admit("a", start + Duration::from_secs(59)), None);
        assert_eq!(throttle.admit("b", start), Some(0), "another cause");
        assert_eq!(throttle.admit("a", start + WINDOW), Some(2));
        assert_eq!(throttle.admit("a", start + WINDOW * 3), Some(0));
        assert_eq!(throttle.counts(), (6, 4));
    }

    #[test]
    fn the_causes_tracked_are_bounded() {
        let throttle = ErrorThrottle::default();
        let start = Instant::now();
        for n in 0..MAX_CAUSES {
            assert!(throttle.admit(&n.to_string(), start).is_some());
        }
        assert_eq!(throttle.admit("one more", start), None);
        let later = start + WINDOW;
        assert_eq!(
            throttle.admit("one more", later),
            Some(0),
            "old causes expire"
        );
    }
}
