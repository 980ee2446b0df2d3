//! Who runs now: at most `MAX_CONCURRENT_REQUESTS` GraphQL operations execute at once,
//! and at most `MAX_CONCURRENT_REQUESTS_PER_CALLER` of them for one caller (a user, or a
//! client address when anonymous), so one client sending its most expensive admitted
//! queries as fast as it can takes a bounded share and everyone else still gets a turn.
//! A request waits for its caller's turn first (before its body is read) and only then,
//! read and checked, for a global one: a caller's queue holds no global slot and no
//! body, and a body sent slowly holds only its own caller's turn; a caller with four times its share already
//! waiting is refused at once (`429`) rather than holding more connections and bodies.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::rate::Caller;

/// How many requests one caller may have waiting, per request it may run.
const WAITING_PER_SLOT: usize = 4;

pub struct Admission {
    global: Arc<Semaphore>,
    per_caller: usize,
    callers: Mutex<HashMap<Caller, Arc<Lane>>>,
}

/// One caller's slots and how many of its requests wait or run.
struct Lane {
    slots: Arc<Semaphore>,
    /// Requests of this caller admitted or waiting.
    present: std::sync::atomic::AtomicUsize,
}

/// A caller's turn, before the global one.
pub struct Entered {
    permit: OwnedSemaphorePermit,
    presence: Presence,
    global: Arc<Semaphore>,
}

impl Entered {
    /// Waits for a global turn (once the request is read and checked).
    pub async fn admit(self) -> Admitted {
        let global = self
            .global
            .acquire_owned()
            .await
            .expect("the global semaphore is never closed");
        Admitted {
            _global: global,
            _caller: self.permit,
            _presence: self.presence,
        }
    }
}

/// A turn to execute; dropping it frees the slots.
pub struct Admitted {
    _global: OwnedSemaphorePermit,
    _caller: OwnedSemaphorePermit,
    _presence: Presence,
}

/// Counts a request as present in its caller's lane until dropped; the lane goes when
/// its last request does.
struct Presence {
    admission: Arc<Admission>,
    caller: Caller,
    lane: Arc<Lane>,
}

impl Drop for Presence {
    fn drop(&mut self) {
        use std::sync::atomic::Ordering;
        let mut callers = self.admission.lanes();
        if self.lane.present.fetch_sub(1, Ordering::SeqCst) == 1 {
            callers.remove(&self.caller);
        }
    }
}

/// The caller already has as many requests waiting as it may.
#[derive(Debug, PartialEq, Eq)]
pub struct Crowded {
    pub waiting: usize,
}

/// `429` for a caller whose queue is full, before anything runs.
pub fn crowded(crowded: Crowded) -> axum::response::Response {
    let mut response = super::graphql::refusal(
        axum::http::StatusCode::TOO_MANY_REQUESTS,
        crate::error::Code::RateLimited,
        format!(
            "{} of your requests are already waiting (MAX_CONCURRENT_REQUESTS_PER_CALLER); \
             send fewer at once",
            crowded.waiting
        ),
    );
    response.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from_static("1"),
    );
    response
}

impl Admission {
    pub fn new(global: usize, per_caller: usize) -> Arc<Self> {
        Arc::new(Self {
            global: Arc::new(Semaphore::new(global.max(1))),
            per_caller: per_caller.max(1),
            callers: Mutex::default(),
        })
    }

    fn lanes(&self) -> std::sync::MutexGuard<'_, HashMap<Caller, Arc<Lane>>> {
        self.callers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for `caller`'s turn (before its body is read: a caller's waiting requests
    /// hold no body); refused at once when its queue is full.
    pub async fn enter(self: &Arc<Self>, caller: Caller) -> Result<Entered, Crowded> {
        use std::sync::atomic::Ordering;
        let presence = {
            let mut lanes = self.lanes();
            let lane = lanes
                .entry(caller)
                .or_insert_with(|| {
                    Arc::new(Lane {
                        slots: Arc::new(Semaphore::new(self.per_caller)),
                        present: 0.into(),
                    })
                })
                .clone();
            let limit = self.per_caller * (1 + WAITING_PER_SLOT);
            let present = lane.present.load(Ordering::SeqCst);
            if present >= limit {
                return Err(Crowded {
                    waiting: present.saturating_sub(self.per_caller),
                });
            }
            lane.present.fetch_add(1, Ordering::SeqCst);
            Presence {
                admission: self.clone(),
                caller,
                lane,
            }
        };
        let permit = presence
            .lane
            .slots
            .clone()
            .acquire_owned()
            .await
            .expect("lane semaphores are never closed");
        Ok(Entered {
            permit,
            presence,
            global: self.global.clone(),
        })
    }

    /// [`Admission::enter`], then [`Entered::admit`].
    pub async fn admit(self: &Arc<Self>, caller: Caller) -> Result<Admitted, Crowded> {
        Ok(self.enter(caller).await?.admit().await)
    }

    /// Callers with a request waiting or running (tests and metrics).
    pub fn callers(&self) -> usize {
        self.lanes().len()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn user(id: i32) -> Caller {
        Caller::User(id)
    }

    #[tokio::test]
    async fn one_caller_takes_its_share_and_others_still_get_a_turn() {
        let admission = Admission::new(3, 2);
        let a1 = admission.admit(user(1)).await.expect("a turn");
        let a2 = admission.admit(user(1)).await.expect("a turn");
        // A third of user 1 waits for user 1's turn, not holding a global slot.
        let waiting = {
            let admission = admission.clone();
            tokio::spawn(async move { admission.admit(user(1)).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "past its share, a caller waits");
        let b = tokio::time::timeout(Duration::from_secs(1), admission.admit(user(2)))
            .await
            .expect("another caller is not behind user 1's queue")
            .expect("a turn");
        drop(a1);
        let a3 = waiting
            .await
            .expect("joined")
            .expect("admitted once a turn is free");
        drop((a2, a3, b));
        assert_eq!(admission.callers(), 0, "idle lanes are dropped");
    }

    #[tokio::test]
    async fn a_caller_with_a_full_queue_is_refused_at_once() {
        let admission = Admission::new(10, 1);
        let _running = admission.admit(user(1)).await.expect("a turn");
        let mut queued = Vec::new();
        for _ in 0..WAITING_PER_SLOT {
            let admission = admission.clone();
            queued.push(tokio::spawn(async move {
                admission.admit(user(1)).await.map(|_| ())
            }));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        let refused = admission.admit(user(1)).await.err();
        assert_eq!(
            refused,
            Some(Crowded {
                waiting: WAITING_PER_SLOT
            })
        );
        assert!(
            admission.admit(user(2)).await.is_ok(),
            "others are not refused"
        );
        for task in queued {
            task.abort();
        }
    }
}
