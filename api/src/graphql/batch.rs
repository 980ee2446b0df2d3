//! A per-request batching loader with deterministic batches. Every key asked for while
//! the request's task is busy resolving sibling fields lands in one batch: the batch
//! waits until a round of that task brings no new key, then loads them all in one call. Unlike a
//! timer-based DataLoader, the number of statements never depends on how fast the
//! machine is, so tests can count them and a list of 50 costs what a list of 1 does.

use std::{
    collections::HashMap,
    future::Future,
    hash::Hash,
    pin::Pin,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll, Wake, Waker},
};

use async_graphql::dataloader::Loader;
use futures_util::{
    FutureExt,
    future::{BoxFuture, Shared},
};
use rustc_hash::{FxHashMap, FxHashSet};

/// A batch's rows, each behind its own `Arc`: handed out shared, never deep-copied
/// unless a caller asks for an owned row.
type BatchResult<K, V, E> = Result<Arc<FxHashMap<K, Arc<V>>>, E>;
type SharedBatch<K, V, E> = Shared<BoxFuture<'static, BatchResult<K, V, E>>>;
type OpenBatch<K, L> = Mutex<Option<Batch<K, <L as Loader<K>>::Value, <L as Loader<K>>::Error>>>;
type Primed<K, L> = Mutex<FxHashMap<K, Option<<L as Loader<K>>::Value>>>;

struct Batch<K, V, E> {
    /// Keys asked for so far; `None` once the batch has started loading.
    keys: Arc<Mutex<Option<Vec<K>>>>,
    result: SharedBatch<K, V, E>,
}

/// Batches `load_one` and `load_many` calls into `Loader::load` calls.
pub struct BatchLoader<K, L: Loader<K>>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
{
    loader: Arc<L>,
    open: OpenBatch<K, L>,
    /// Values already read by another statement of the request (see `prime`).
    primed: Primed<K, L>,
}

impl<K, L> BatchLoader<K, L>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    L: Loader<K>,
{
    pub fn new(loader: L) -> Self {
        Self {
            loader: Arc::new(loader),
            open: Mutex::new(None),
            primed: Mutex::new(FxHashMap::default()),
        }
    }

    /// Records values a statement of this request already read (`None`: known to be
    /// absent), so `load_one` answers them without a batch.
    pub fn prime(&self, entries: impl IntoIterator<Item = (K, Option<L::Value>)>) {
        self.primed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(entries);
    }

    /// Adds `keys` to the open batch (opening one if needed) and returns its result.
    fn enqueue(&self, keys: impl IntoIterator<Item = K>) -> SharedBatch<K, L::Value, L::Error> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(batch) = open.as_ref() {
            let mut pending = batch.keys.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(pending) = pending.as_mut() {
                pending.extend(keys);
                return batch.result.clone();
            }
        }
        let pending = Arc::new(Mutex::new(Some(keys.into_iter().collect::<Vec<K>>())));
        let taken = pending.clone();
        let loader = self.loader.clone();
        let result = async move {
            // Let every sibling resolver add its keys first: wait for the task to yield,
            // and again while the last round still brought keys (a long list may be
            // polled over several rounds when its futures run out of budget).
            let pending_len = || {
                taken
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .as_ref()
                    .map_or(0, Vec::len)
            };
            loop {
                let before = pending_len();
                AfterYield::default().await;
                if pending_len() == before {
                    break;
                }
            }
            let keys = taken
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take()
                .unwrap_or_default();
            let mut seen = FxHashSet::with_capacity_and_hasher(keys.len(), Default::default());
            let unique: Vec<K> = keys
                .into_iter()
                .filter(|k| seen.insert(k.clone()))
                .collect();
            loader
                .load(&unique)
                .await
                .map(|rows| Arc::new(rows.into_iter().map(|(k, v)| (k, Arc::new(v))).collect()))
        }
        .boxed()
        .shared();
        *open = Some(Batch {
            keys: pending,
            result: result.clone(),
        });
        result
    }

    /// What was primed for `key` (a row or its absence), if anything was.
    fn primed(&self, key: &K) -> Option<Option<L::Value>> {
        self.primed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned()
    }

    pub async fn load_one(&self, key: K) -> Result<Option<L::Value>, L::Error> {
        if let Some(value) = self.primed(&key) {
            return Ok(value);
        }
        let result = self.enqueue([key.clone()]).await?;
        Ok(result.get(&key).map(|v| L::Value::clone(v)))
    }

    /// The row of `key`, shared with every other caller of the request (no copy).
    pub async fn load_one_shared(&self, key: K) -> Result<Option<Arc<L::Value>>, L::Error> {
        if let Some(value) = self.primed(&key) {
            return Ok(value.map(Arc::new));
        }
        let result = self.enqueue([key.clone()]).await?;
        Ok(result.get(&key).cloned())
    }

    /// The rows of `keys`, shared with every other caller of the request (no copy).
    pub async fn load_many_shared(
        &self,
        keys: Vec<K>,
    ) -> Result<HashMap<K, Arc<L::Value>>, L::Error> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let result = self.enqueue(keys.iter().cloned()).await?;
        Ok(keys
            .into_iter()
            .filter_map(|k| result.get(&k).map(|v| (k, v.clone())))
            .collect())
    }

    pub async fn load_many(&self, keys: Vec<K>) -> Result<HashMap<K, L::Value>, L::Error> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let result = self.enqueue(keys.iter().cloned()).await?;
        Ok(keys
            .into_iter()
            .filter_map(|k| result.get(&k).map(|v| (k, L::Value::clone(v))))
            .collect())
    }
}

/// Completes once the task that first polled it has returned to the executor. Polls in
/// between (by other resolvers sharing the batch) stay pending, so the batch cannot close
/// while the task is still handing out keys.
#[derive(Default)]
struct AfterYield {
    fired: Arc<AtomicBool>,
    deferred: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

struct FlagWaker {
    fired: Arc<AtomicBool>,
    outer: Waker,
}

impl Wake for FlagWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.fired.store(true, Ordering::Release);
        self.outer.wake_by_ref();
    }
}

impl Future for AfterYield {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.fired.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        if self.deferred.is_none() {
            // tokio wakes a yielding task only after that task's poll has ended: poll its
            // yield with a waker that marks the moment.
            let waker = Waker::from(Arc::new(FlagWaker {
                fired: self.fired.clone(),
                outer: cx.waker().clone(),
            }));
            let mut deferred: Pin<Box<dyn Future<Output = ()> + Send>> =
                Box::pin(tokio::task::yield_now());
            let _ = deferred.as_mut().poll(&mut Context::from_waker(&waker));
            self.deferred = Some(deferred);
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use std::{
        sync::atomic::{AtomicUsize, Ordering},
        time::Duration,
    };

    use super::*;

    struct Doubler {
        calls: Arc<AtomicUsize>,
    }

    impl Loader<u32> for Doubler {
        type Value = u32;
        type Error = Arc<String>;

        async fn load(&self, keys: &[u32]) -> Result<HashMap<u32, u32>, Self::Error> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            Ok(keys.iter().map(|k| (*k, k * 2)).collect())
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn siblings_share_one_batch_however_slowly_they_are_polled() {
        // Requests run as tasks on the runtime's workers, as the server's do.
        tokio::spawn(async {
            let calls = Arc::new(AtomicUsize::new(0));
            let loader = BatchLoader::new(Doubler {
                calls: calls.clone(),
            });
            let values = futures_util::future::join_all((0..100u32).map(|key| {
                let loader = &loader;
                async move {
                    // Slower than any timer-based batch window between two siblings.
                    std::thread::sleep(Duration::from_millis(2));
                    loader.load_one(key).await
                }
            }))
            .await;
            assert_eq!(calls.load(Ordering::SeqCst), 1);
            assert_eq!(values[21], Ok(Some(42)));
            assert_eq!(
                loader.load_many(vec![1, 2, 2]).await.map(|m| m.len()),
                Ok(2)
            );
            assert_eq!(
                calls.load(Ordering::SeqCst),
                2,
                "a later call is a new batch"
            );
            loader.prime([(7, Some(70)), (8, None)]);
            assert_eq!(loader.load_one(7).await, Ok(Some(70)));
            assert_eq!(loader.load_one(8).await, Ok(None));
            assert_eq!(calls.load(Ordering::SeqCst), 2, "primed keys cost no batch");
        })
        .await
        .expect("the task ends");
    }
}
